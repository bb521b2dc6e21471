"""Operational policies: pure decisions over (snapshot, audit history, now)."""

from policies.auto_restart import AutoRestartOptions, AutoRestartPolicy
from policies.backup_freshness import BackupFreshnessOptions
from policies.base import OPERATOR, Action, Decision, HistoryRow, Note, Policy
from policies.iso_week import IsoWeek
from policies.pre_change_backup import PreChangeBackupOptions
from policies.registry import POLICY_OPTIONS, UnknownPolicyError, build_policies, options_class
from policies.weekly_pin import WeeklyPinOptions, WeeklyPinPolicy

__all__ = [
    "OPERATOR",
    "POLICY_OPTIONS",
    "Action",
    "AutoRestartOptions",
    "AutoRestartPolicy",
    "BackupFreshnessOptions",
    "Decision",
    "HistoryRow",
    "IsoWeek",
    "Note",
    "Policy",
    "PreChangeBackupOptions",
    "UnknownPolicyError",
    "WeeklyPinOptions",
    "WeeklyPinPolicy",
    "build_policies",
    "options_class",
]
