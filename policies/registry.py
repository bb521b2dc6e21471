"""The policy registry: policy names mapped to their options dataclasses.

The config loader validates `[policies.NAME]` against these; an unknown NAME is
an error that lists the valid ones.
"""

from policies.auto_restart import AutoRestartOptions
from policies.backup_freshness import BackupFreshnessOptions
from policies.pre_change_backup import PreChangeBackupOptions
from policies.weekly_pin import WeeklyPinOptions

POLICY_OPTIONS: dict[str, type] = {
    "auto_restart": AutoRestartOptions,
    "pre_change_backup": PreChangeBackupOptions,
    "weekly_pin": WeeklyPinOptions,
    "backup_freshness": BackupFreshnessOptions,
}
