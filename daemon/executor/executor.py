"""Executor: performs decisions with write-ahead audit rows, one action per container at a time.

    executor = Executor(client, store, clock, config.policies.pre_change_backup, dry_run)
    outcome = executor.perform(decision)

A `Note` becomes one audit row. An `Action`:

1. waits for nobody: if another action holds the container, it returns `busy`
   and writes nothing (the policy decides again on the next evaluation);
2. in dry-run mode writes one `dry_run` row and calls nothing, not even a backup;
3. for a gated change (restart, stop, restore, delete) asks the BackupGate; an
   aborted gate gives one `aborted` row and no change;
4. writes the `started` row, calls the API, writes `succeeded` or `failed` with
   `http_status`, `error` and `duration_ms`.

The change's rows share `correlation_id` with its pre-change backup's rows and
carry `details.backup_id` (and `target`, when the action has none of its own).
If an audit row cannot be written the change is not made (no unaudited
changes); the error is counted in the metrics and the outcome is `unaudited`.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from daemon.audit.errors import AuditWriteError
from daemon.audit.ids import new_action_id
from daemon.audit.store import AuditStore
from daemon.clock import Clock, StopRequested
from daemon.executor.api_calls import API_CALLS, GATED_ACTIONS
from daemon.executor.audit_trail import ActionMetrics, AuditTrail
from daemon.executor.backup_gate import BackupGate
from daemon.executor.container_locks import ContainerLocks
from daemon.stacks.backup_calls import MAX_BACKUPS
from daemon.stacks.client import StacksClient
from daemon.stacks.errors import StacksError
from daemon.stacks.ratebudget import Priority
from policies.base import Action, Decision, Note
from policies.pre_change_backup import PreChangeBackupOptions

log = logging.getLogger(__name__)

BACKUP = "backup.create"


@dataclass(frozen=True)
class Outcome:
    """What became of one decision (`outcome` is an audit outcome, `busy` or `unaudited`)."""

    outcome: str
    action_id: str | None = None
    backup_id: int | None = None
    error: str | None = None


class Executor:
    def __init__(
        self,
        client: StacksClient,
        store: AuditStore,
        clock: Clock,
        gate_options: PreChangeBackupOptions,
        dry_run: bool = False,
        metrics: ActionMetrics | None = None,
        may_act: Callable[[], bool] | None = None,
    ) -> None:
        """`may_act` is asked before each change: False (leadership lost) skips it."""
        self._client = client
        self._clock = clock
        self._gate_options = gate_options
        self._dry_run = dry_run
        self._trail = AuditTrail(store, metrics)
        self._gate = BackupGate(client, self._trail, clock, gate_options)
        self._locks = ContainerLocks()
        self._may_act = may_act or (lambda: True)

    def perform(self, decision: Decision) -> Outcome:
        if isinstance(decision, Note):
            return self._record_note(decision)
        if decision.action not in API_CALLS and decision.action != BACKUP:
            known = ", ".join(sorted((*API_CALLS, BACKUP)))
            raise ValueError(f"the executor cannot perform {decision.action!r}; known: {known}")
        with self._locks.try_hold(decision.container_id) as held:
            if not held:
                log.info(
                    "%s for %s skipped: another action on it is in progress",
                    decision.action,
                    decision.container_name,
                )
                return Outcome("busy")
            try:
                return self._perform(decision)
            except AuditWriteError as exc:
                log.error(
                    "%s for %s not performed: %s", decision.action, decision.container_name, exc
                )
                return Outcome("unaudited", error=str(exc))

    def _record_note(self, note: Note) -> Outcome:
        action_id = new_action_id()
        try:
            self._trail.write(
                note.policy, note.actor, note.action, note.outcome, action_id=action_id,
                container_id=note.container_id, container_name=note.container_name,
                target=note.target, reason=note.reason, details=note.details,
            )  # fmt: skip
        except AuditWriteError as exc:
            log.error("could not record %s %s: %s", note.action, note.outcome, exc)
            return Outcome("unaudited", error=str(exc))
        return Outcome(note.outcome, action_id)

    def _perform(self, action: Action) -> Outcome:
        gated = action.gated and action.action in GATED_ACTIONS and self._gate_options.enabled
        row: dict[str, Any] = {
            "action_id": new_action_id(),
            "container_id": action.container_id,
            "container_name": action.container_name,
            "target": action.target,
            "correlation_id": new_action_id() if gated else None,
        }
        try:
            return self._perform_audited(action, gated, row)
        except StopRequested:
            # The daemon is stopping before the change was made: say so before exiting.
            reason = f"{action.reason}; the daemon stopped before the change"
            self._write(action, "interrupted", row, reason, dict(action.details))
            return Outcome("interrupted", row["action_id"])

    def _still_warranted(
        self, action: Action, row: dict[str, Any]
    ) -> tuple[str | None, Outcome | None]:
        """Re-read the container's status when the decision depended on it.

        A decision may wait in the queue while the world moves on: a crashed
        container that someone stopped, or that came back by itself, is left alone.
        Returns the fresh status, or the outcome that ends the action here.
        """
        observed = action.details.get("observed_status")
        if observed is None:
            return None, None
        details = dict(action.details)
        try:
            status = self._client.container_status(
                action.container_id, priority=Priority.ACTION
            ).status
        except StacksError as exc:
            reason = f"{action.reason}; could not re-read its status ({exc}): nothing done"
            self._write(action, "aborted", row, reason, details)
            return None, Outcome("aborted", row["action_id"], error=str(exc))
        if status != observed:
            reason = f"{action.reason}; its status is now {status}: nothing to do"
            self._write(action, "skipped", row, reason, {**details, "status_now": status})
            return None, Outcome("skipped", row["action_id"])
        return status, None

    def _perform_audited(self, action: Action, gated: bool, row: dict[str, Any]) -> Outcome:
        details = dict(action.details)
        if not self._may_act():
            reason = f"{action.reason}; this instance is no longer the leader: nothing done"
            self._write(action, "skipped", row, reason, details)
            return Outcome("skipped", row["action_id"])
        if self._dry_run:
            if gated:
                details["pre_change_backup"] = "would be taken first"
            self._write(
                action, "dry_run", row, f"{action.reason} (dry run: nothing changed)", details
            )
            return Outcome("dry_run", row["action_id"])
        if action.action == BACKUP and action.details.get("wait", True):
            return self._backup(action, row)
        status, ended = self._still_warranted(action, row)
        if ended is not None:
            return ended
        reason = action.reason
        if gated:
            check = self._gate.before_change(action, row["correlation_id"], status)
            details["pre_change_backup"] = check.how
            details["backup_id"] = check.backup_id
            if row["target"] is None and check.backup_id is not None:
                row["target"] = str(check.backup_id)
            reason = f"{reason}; {check.reason}"
            if not check.proceed:
                self._write(action, "aborted", row, reason, details)
                return Outcome("aborted", row["action_id"], check.backup_id, check.reason)
        self._write(action, "started", row, reason, details)
        started = self._clock.monotonic()
        try:
            API_CALLS[action.action](self._client, action)
        except StopRequested:
            self._write(
                action, "interrupted", row, reason, details,
                error="the daemon stopped before STACKS answered",
                duration_ms=self._elapsed_ms(started),
            )  # fmt: skip
            return Outcome("interrupted", row["action_id"], details.get("backup_id"))
        except StacksError as exc:
            if self._stopping():
                # The daemon closed the connection to stop: the request's fate is unknown.
                self._write(
                    action, "interrupted", row, reason, details,
                    error=f"the daemon stopped while waiting for STACKS: {exc}",
                    duration_ms=self._elapsed_ms(started),
                )  # fmt: skip
                return Outcome("interrupted", row["action_id"], details.get("backup_id"))
            outcome = Outcome("failed", row["action_id"], details.get("backup_id"), str(exc))
            fields = {"error": str(exc), "http_status": exc.http_status}
        else:
            outcome = Outcome("succeeded", row["action_id"], details.get("backup_id"))
            fields = {}
        try:
            self._write(
                action, outcome.outcome, row, reason, details,
                duration_ms=self._elapsed_ms(started), **fields,
            )  # fmt: skip
        except AuditWriteError as exc:
            log.error(
                "%s for %s ended %s but the outcome row could not be written "
                "(its `started` row is there; it will be marked interrupted): %s",
                action.action, action.container_name, outcome.outcome, exc,
            )  # fmt: skip
            return Outcome("unaudited", row["action_id"], outcome.backup_id, str(exc))
        return outcome

    def _backup(self, action: Action, row: dict[str, Any]) -> Outcome:
        """An operator's (or policy's) backup.create: trigger and wait, audited by the gate.

        The backups listed before the trigger are known, so an earlier backup that
        completed moments ago is never mistaken for this one.
        """
        try:
            known = self._client.backups(
                action.container_id, limit=MAX_BACKUPS, priority=Priority.ACTION
            )
        except StacksError as exc:
            return Outcome("failed", None, None, f"could not list backups first: {exc}")
        result = self._gate.take_backup(
            action.container_id,
            action.container_name,
            policy=action.policy,
            actor=action.actor,
            correlation_id=row["correlation_id"],
            reason=action.reason,
            known=known,
        )
        outcome = "succeeded" if result.completed else "failed"
        return Outcome(outcome, None, result.backup_id, result.error)

    def _write(
        self,
        action: Action,
        outcome: str,
        row: dict[str, Any],
        reason: str,
        details: dict[str, Any],
        **fields: Any,
    ) -> None:
        self._trail.write(
            action.policy, action.actor, action.action, outcome,
            reason=reason, details=details, **row, **fields,
        )  # fmt: skip

    def _stopping(self) -> bool:
        return bool(getattr(self._clock, "stopping", False))

    def _elapsed_ms(self, started: float) -> float:
        return (self._clock.monotonic() - started) * 1000
