"""Alertmanager: the conditions that need a human, pushed as alerts with stable labels.

A given-up container, an aborted change, an `unknown` outcome and backups stale
past `backup_freshness.max_age` become alerts; Alertmanager's grouping, silences
and routing then apply. The `alertmanager` notification sink feeds it audit rows.

- conditions.py: `Conditions`, which audit rows and backup lists open and clear
  which alert (`Condition`), and the alert names.
- feed.py: `AlertmanagerFeed`, the push to `POST /api/v2/alerts`: at once on a
  change, re-sent every minute while listed, `endsAt` once cleared; `test_alert`;
  the stale-backup alerts read back at start (`FIRING_STALE_QUERY`,
  `firing_stale_conditions`).

The `kind = "alertmanager"` notification sink that drives the feed from the audit
stream, the backup refresh and a recall at start is daemon/notify/alertmanager.py
(it belongs with the other sink kinds; this package knows nothing of delivery).
"""

from daemon.alertmanager.conditions import (
    ABORTED,
    ALERTNAMES,
    BACKUP_STALE,
    CONDITION_RULES,
    GAVE_UP,
    RESOLVED_KEPT,
    SEVERITY,
    UNKNOWN,
    Condition,
    Conditions,
)
from daemon.alertmanager.feed import (
    FIRING_FOR,
    FIRING_STALE_QUERY,
    RESEND_INTERVAL,
    TEST_ALERT,
    AlertmanagerFeed,
    alert_payload,
    alerts_url,
    firing_stale_conditions,
    test_alert,
)

__all__ = [
    "ABORTED",
    "ALERTNAMES",
    "BACKUP_STALE",
    "CONDITION_RULES",
    "FIRING_FOR",
    "FIRING_STALE_QUERY",
    "GAVE_UP",
    "RESEND_INTERVAL",
    "RESOLVED_KEPT",
    "SEVERITY",
    "TEST_ALERT",
    "UNKNOWN",
    "AlertmanagerFeed",
    "Condition",
    "Conditions",
    "alert_payload",
    "alerts_url",
    "firing_stale_conditions",
    "test_alert",
]
