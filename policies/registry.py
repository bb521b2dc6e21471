"""The policy registry: policy names, their options dataclasses, and the deciding policies.

The config loader validates `[policies.NAME]` against `POLICY_OPTIONS`; an
unknown NAME is an error that lists the valid ones. `build_policies` turns the
loaded options into the policies the engine evaluates: `auto_restart` and
`weekly_pin` decide; `pre_change_backup` configures the executor's backup gate
and `backup_freshness` the exporter (and weekly_pin's unpin guard), so neither
is a deciding policy.
"""

from policies.auto_restart import AutoRestartOptions, AutoRestartPolicy
from policies.backup_freshness import BackupFreshnessOptions
from policies.base import Policy
from policies.pre_change_backup import PreChangeBackupOptions
from policies.weekly_pin import WeeklyPinOptions, WeeklyPinPolicy

POLICY_OPTIONS: dict[str, type] = {
    "auto_restart": AutoRestartOptions,
    "pre_change_backup": PreChangeBackupOptions,
    "weekly_pin": WeeklyPinOptions,
    "backup_freshness": BackupFreshnessOptions,
}


class UnknownPolicyError(ValueError):
    """A policy name that is not in the registry."""


def options_class(name: str) -> type:
    """The options dataclass of policy `name`; UnknownPolicyError lists the valid names."""
    try:
        return POLICY_OPTIONS[name]
    except KeyError:
        valid = ", ".join(POLICY_OPTIONS)
        raise UnknownPolicyError(f"unknown policy {name!r}; valid policies: {valid}") from None


def policy_options(configured: object, name: str) -> object:
    """`configured.NAME` (a PoliciesConfig), or the defaults when it has no such attribute."""
    options = getattr(configured, name, None)
    return options if options is not None else options_class(name)()


def build_policies(configured: object, dry_run: bool = False) -> list[Policy]:
    """The enabled deciding policies, from an object with one options attribute per policy.

    With `dry_run` the policies also count what a dry run decided (its rows are never
    attempts or completions of a real run)."""
    auto_restart = policy_options(configured, "auto_restart")
    weekly_pin = policy_options(configured, "weekly_pin")
    freshness = policy_options(configured, "backup_freshness")
    policies: list[Policy] = []
    if auto_restart.enabled:
        policies.append(AutoRestartPolicy(auto_restart, dry_run))
    if weekly_pin.enabled:
        policies.append(WeeklyPinPolicy(weekly_pin, freshness, dry_run))
    return policies
