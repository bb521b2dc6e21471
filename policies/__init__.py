"""Operational policies: pure decisions over (snapshot, audit history, now).

    base.py               what a policy module provides: PolicySpec, OptionRule, the Policy
                          interface, its decisions (Action, Note), name matching
    registry.py           the list of specs; PoliciesConfig and build_policies derived from it
    auto_restart.py       crash-loop restarts with backoff, its state folded from the audit
    weekly_pin.py         one pinned backup per ISO week, its pin ledger folded from the audit
    pre_change_backup.py  options of the executor's backup gate (decides nothing)
    backup_freshness.py   the newest completed backup's age (decides nothing)
    overrides.py          `[[overrides]]`: each container's effective options and their origin

One new policy is one new module ending with its PolicySpec, plus its line in
`POLICY_SPECS`: its config section, that section's validation and the daemon's
evaluation follow from the spec; a test holds config.example.toml to its example.
"""

from policies.auto_restart import (
    GIVEN_UP_EVENT,
    RUNNING_EVENT,
    AutoRestartOptions,
    AutoRestartPolicy,
)
from policies.backup_freshness import (
    BackupFreshnessOptions,
    MaxAge,
    max_age_of,
    newest_completed_backup_age,
)
from policies.base import (
    OPERATOR,
    Action,
    Decision,
    HistoryRow,
    Note,
    OptionRule,
    Policy,
    PolicySpec,
    Subject,
    actor_name,
    applies_to,
    positive_duration,
    positive_integer,
    unique_names,
)
from policies.overrides import DEFAULT_ORIGIN, Effective, Override, PolicyOptions, explain_options
from policies.pre_change_backup import PreChangeBackupOptions
from policies.registry import (
    POLICY_OPTIONS,
    POLICY_SPECS,
    PoliciesConfig,
    UnknownPolicyError,
    build_policies,
    deciding_policies,
    declared_history,
    options_class,
    policy_options,
)
from policies.weekly_pin import IsoWeek, WeeklyPinOptions, WeeklyPinPolicy

__all__ = [
    "DEFAULT_ORIGIN",
    "GIVEN_UP_EVENT",
    "OPERATOR",
    "POLICY_OPTIONS",
    "POLICY_SPECS",
    "RUNNING_EVENT",
    "Action",
    "AutoRestartOptions",
    "AutoRestartPolicy",
    "BackupFreshnessOptions",
    "Decision",
    "Effective",
    "HistoryRow",
    "IsoWeek",
    "MaxAge",
    "Note",
    "OptionRule",
    "Override",
    "PoliciesConfig",
    "Policy",
    "PolicyOptions",
    "PolicySpec",
    "PreChangeBackupOptions",
    "Subject",
    "UnknownPolicyError",
    "WeeklyPinOptions",
    "WeeklyPinPolicy",
    "actor_name",
    "applies_to",
    "build_policies",
    "deciding_policies",
    "declared_history",
    "explain_options",
    "max_age_of",
    "newest_completed_backup_age",
    "options_class",
    "policy_options",
    "positive_duration",
    "positive_integer",
    "unique_names",
]
