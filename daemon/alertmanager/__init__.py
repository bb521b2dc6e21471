"""Alertmanager: the conditions that need a human, pushed as alerts with stable labels.

A given-up container, an aborted change, an `unknown` outcome and backups stale
past `backup_freshness.max_age` become alerts; Alertmanager's grouping, silences
and routing then apply. The `alertmanager` notification sink feeds it audit rows.

- conditions.py: `Conditions`, which audit rows and backup lists open and clear
  which alert (`Condition`), and the alert names.
- feed.py: `AlertmanagerFeed`, the push to `POST /api/v2/alerts`: at once on a
  change, re-sent every minute while listed, `endsAt` once cleared.
"""

from daemon.alertmanager.conditions import (
    ABORTED,
    ALERTNAMES,
    BACKUP_STALE,
    GAVE_UP,
    RESOLVED_KEPT,
    SEVERITY,
    UNKNOWN,
    Condition,
    Conditions,
)
from daemon.alertmanager.feed import (
    FIRING_FOR,
    RESEND_INTERVAL,
    AlertmanagerFeed,
    alert_payload,
    alerts_url,
)

__all__ = [
    "ABORTED",
    "ALERTNAMES",
    "BACKUP_STALE",
    "FIRING_FOR",
    "GAVE_UP",
    "RESEND_INTERVAL",
    "RESOLVED_KEPT",
    "SEVERITY",
    "UNKNOWN",
    "AlertmanagerFeed",
    "Condition",
    "Conditions",
    "alert_payload",
    "alerts_url",
]
