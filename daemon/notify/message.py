"""What a notification says: an audit row as a JSON document, and as one human sentence.

Every sink builds on these two, so a row reads the same in a webhook body, a Slack
message, a JSON-lines file and an Alertmanager annotation:

    row_document(row)  {"id": 42, "at": "2026-01-05T03:00:00Z", "actor": ...,
                        "details": {...}, "prev_hash": "...", "hash": "..."}
    summarize(row)     "restart of web succeeded (policy:auto_restart): status error"

`row_document` is the audit's own (daemon.audit: the format of `audit export`
too): every column (None included) in schema order, `details` parsed, its `hash`
checkable against the chain, so a JSON-lines file verifies with `audit verify
--file`. `sample_notification` is the row `stacks-opsd notify test` sends: marked
`"test": true` in its details, id 0.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from daemon.audit import (
    COLUMNS,
    SAMPLE_DETAILS,
    SAMPLE_HASH,
    SAMPLE_ID,
    AuditAction,
    AuditLog,
    Outcome,
    row_document,
)
from daemon.notify.sink import Notification

REASON_SHOWN = 200


def summarize(row: Mapping[str, Any]) -> str:
    """One sentence: what happened to what, with what outcome, by whom, and why."""
    action = str(row["action"])
    subject = row.get("container_name") or row.get("container_id")
    if action == AuditAction.NOTIFY_SUMMARY:
        sentence = f"notifications to {row.get('target')} skipped"
    else:
        verb = action.split(".", 1)[-1]
        noun = action.split(".", 1)[0]
        what = f"{verb} of {noun}" if noun != "container" else verb
        if row.get("target"):
            what += f" {row['target']}"
        sentence = f"{what} of {subject}" if subject else what
        sentence += f" {_outcome_words(str(row['outcome']))}"
    sentence += f" ({row['actor']})"
    reason = row.get("reason") or row.get("error")
    if reason:
        reason = str(reason)
        shortened = reason if len(reason) <= REASON_SHOWN else reason[: REASON_SHOWN - 3] + "..."
        sentence += f": {shortened}"
    return sentence


def _outcome_words(outcome: str) -> str:
    return {
        Outcome.STARTED: "started",
        Outcome.SUCCEEDED: "succeeded",
        Outcome.FAILED: "failed",
        Outcome.SKIPPED: "skipped",
        Outcome.DRY_RUN: "decided (dry run, nothing changed)",
        Outcome.ABORTED: "aborted",
        Outcome.INTERRUPTED: "interrupted",
        Outcome.GAVE_UP: "given up",
        Outcome.UNKNOWN: "has an unknown outcome",
    }.get(outcome, outcome)


def notification_of(row: AuditLog) -> Notification:
    document = row_document(row)
    return Notification(row=document, summary=summarize(document))


def sample_notification(now: datetime, instance: str) -> Notification:
    """The notification `notify test` sends: shaped like a real row, id 0, marked a test."""
    sample: dict[str, Any] = {column: None for column in COLUMNS}
    sample.update(
        id=SAMPLE_ID,
        at=now,
        instance=instance,
        actor="cli",
        action=AuditAction.CONTAINER_RESTART.value,
        container_id="usr-00000000-example",
        container_name="example",
        outcome=Outcome.SUCCEEDED.value,
        reason="a test notification from `stacks-opsd notify test`",
        action_id="0" * 32,
        details=dict(SAMPLE_DETAILS),
        prev_hash=SAMPLE_HASH,
        hash=SAMPLE_HASH,
    )
    document = row_document(sample)
    return Notification(
        row=document, summary="test notification from stacks-opsd: " + summarize(document)
    )
