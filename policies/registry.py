"""The policy registry: the one list of policy specs, and everything derived from it.

`POLICY_SPECS` names every policy, in the order config.example.toml shows them
and the daemon evaluates the deciding ones. A policy is added by writing its
module, which ends with its PolicySpec (policies/base.py), and listing that spec
here; nothing registers itself on import. From the list come:

- `PoliciesConfig`: the `[policies]` table of the config, one attribute per
  policy holding its options (their defaults when the table is absent); the
  config loader validates it like any section, with each options class's RULES;
- `POLICY_OPTIONS`: policy name -> options dataclass;
- `policy_options`: every policy's PolicyOptions (policies/overrides.py: its
  table changed by the `[[overrides]]` per container);
- `build_policies` (or `deciding_policies`, from options already resolved): the
  enabled deciding policies (`auto_restart`, `weekly_pin`), each holding its
  PolicyOptions; a policy disabled in its table is built when an override
  enables it for some containers.
  `pre_change_backup` configures the executor's backup gate and `backup_freshness`
  the exporter and weekly_pin's unpin guard, so neither decides;
- `declared_history(now)`: every deciding policy's history query, as a live and
  as a dry-running reader (`audit verify` checks the episode marks they declare);
- `options_class(name)`: an unknown name is an UnknownPolicyError listing the valid ones.
"""

from collections.abc import Mapping
from dataclasses import field, make_dataclass
from datetime import datetime

from daemon.audit import HistoryQuery
from policies.auto_restart import AUTO_RESTART
from policies.backup_freshness import BACKUP_FRESHNESS
from policies.base import Policy, PolicySpec
from policies.overrides import Override, PolicyOptions
from policies.pre_change_backup import PRE_CHANGE_BACKUP
from policies.weekly_pin import WEEKLY_PIN

POLICY_SPECS: tuple[PolicySpec, ...] = (
    AUTO_RESTART,
    PRE_CHANGE_BACKUP,
    WEEKLY_PIN,
    BACKUP_FRESHNESS,
)
POLICY_OPTIONS: dict[str, type] = {spec.name: spec.options for spec in POLICY_SPECS}

PoliciesConfig = make_dataclass(
    "PoliciesConfig",
    [(spec.name, spec.options, field(default_factory=spec.options)) for spec in POLICY_SPECS],
    frozen=True,
    namespace={
        "__module__": __name__,
        "__doc__": "The `[policies]` table: each policy's options, by policy name.",
    },
)


class UnknownPolicyError(ValueError):
    """A policy name that is not in the registry."""


def options_class(name: str) -> type:
    """The options dataclass of policy `name`; UnknownPolicyError lists the valid names."""
    try:
        return POLICY_OPTIONS[name]
    except KeyError:
        valid = ", ".join(POLICY_OPTIONS)
        raise UnknownPolicyError(f"unknown policy {name!r}; valid policies: {valid}") from None


def policy_options(
    configured: PoliciesConfig, overrides: tuple[Override, ...] = ()
) -> dict[str, PolicyOptions]:
    """Every policy's options per container: its `[policies.NAME]` table and the overrides."""
    return {
        spec.name: PolicyOptions(spec.name, getattr(configured, spec.name), overrides)
        for spec in POLICY_SPECS
    }


def build_policies(
    configured: PoliciesConfig, dry_run: bool = False, overrides: tuple[Override, ...] = ()
) -> list[Policy]:
    """The enabled deciding policies, built from the loaded `[policies]` options and the
    `[[overrides]]` (a policy decides for a container only where its effective
    `enabled` is true).

    With `dry_run` the policies also count what a dry run decided (its rows are never
    attempts or completions of a real run)."""
    return deciding_policies(policy_options(configured, overrides), dry_run)


def deciding_policies(options: Mapping[str, PolicyOptions], dry_run: bool = False) -> list[Policy]:
    """The enabled deciding policies, each holding its options from `options` (what
    `policy_options` resolved): whoever else reads them (the exporter) sees the same."""
    return [
        spec.build(options, dry_run)
        for spec in POLICY_SPECS
        if spec.build is not None and options[spec.name].ever_enabled
    ]


def declared_history(now: datetime) -> list[HistoryQuery]:
    """Every deciding policy's history query, enabled or not, as a live and as a
    dry-running reader: the episodes whose marks a start may have saved. An episode's
    declaration does not depend on the options, so the defaults serve."""
    options = policy_options(PoliciesConfig())
    return [
        spec.build(options, dry_run).history_query(now)
        for spec in POLICY_SPECS
        if spec.build is not None
        for dry_run in (False, True)
    ]
