"""Executor: performs decisions with write-ahead audit rows, one actor per container.

    executor = Executor(client, store, clock, config.policies.pre_change_backup, dry_run)
    outcome = executor.perform(decision)

A `Note` becomes one audit row. An `Action`:

1. waits for nobody: if another action holds the container, in this process or
   in another one sharing the audit database (`AuditStore.claim`), it returns
   `busy` and writes nothing (the policy decides again on the next evaluation);
2. in dry-run mode writes one `dry_run` row and calls nothing, not even a backup;
3. is otherwise one `ChangeAttempt` (attempt.py): check, pre-change backup,
   check again and send at once, one outcome row, a read-back after an
   ambiguous answer. A backup.create that waits is the gate's `take_backup`.

The change's rows share `correlation_id` with its pre-change backup's rows and
carry `details.backup_id` (and `target`, when the action has none of its own).
If an audit row cannot be written the change is not made (no unaudited
changes); the error is counted in the metrics and the outcome is `unaudited`.
An outcome row that cannot be written after the change is kept by the
AuditTrail and written as soon as the database takes it (`flush`).
"""

import logging
from collections.abc import Callable
from typing import Any

from daemon.audit import AuditStore, AuditWriteError, new_action_id
from daemon.clock import Clock, StopRequested
from daemon.executor.attempt import ChangeAttempt, Outcome
from daemon.executor.audit_trail import ActionMetrics, AuditTrail
from daemon.executor.backup_gate import BackupGate
from daemon.executor.changes import CHANGES, GATED
from daemon.executor.container_locks import ContainerLocks
from daemon.stacks import MAX_BACKUPS, Priority, StacksClient, StacksError
from policies import Action, Decision, Note, PreChangeBackupOptions

log = logging.getLogger(__name__)

BACKUP = "backup.create"


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
        if decision.action not in CHANGES:
            known = ", ".join(sorted(CHANGES))
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
                return self._claimed(decision)
            except AuditWriteError as exc:
                log.error(
                    "%s for %s not performed: %s", decision.action, decision.container_name, exc
                )
                return Outcome("unaudited", error=str(exc))

    def _claimed(self, action: Action) -> Outcome:
        """The action, while this process holds the container's claim in the audit database."""
        action_id = new_action_id()
        if self._dry_run:
            return self._perform(action, action_id)
        holder = self._trail.claim(action.container_id, action.action, action_id)
        if holder is not None:
            busy = holder.describe()
            log.info("%s for %s skipped: %s", action.action, action.container_name, busy)
            return Outcome("busy", error=busy)
        try:
            return self._perform(action, action_id)
        finally:
            self._trail.release(action.container_id)

    def flush(self) -> None:
        """Write outcome rows the database refused earlier, release claims it kept."""
        self._trail.flush()

    def _record_note(self, note: Note) -> Outcome:
        action_id = new_action_id()
        details = {**note.details, "dry_run": True} if self._dry_run else note.details
        try:
            self._trail.write(
                note.policy, note.actor, note.action, note.outcome, action_id=action_id,
                container_id=note.container_id, container_name=note.container_name,
                target=note.target, reason=note.reason, details=details,
            )  # fmt: skip
        except AuditWriteError as exc:
            log.error("could not record %s %s: %s", note.action, note.outcome, exc)
            return Outcome("unaudited", error=str(exc))
        return Outcome(note.outcome, action_id)

    def _perform(self, action: Action, action_id: str) -> Outcome:
        gated = action.gated and action.action in GATED and self._gate_options.enabled
        row: dict[str, Any] = {
            "action_id": action_id,
            "container_id": action.container_id,
            "container_name": action.container_name,
            "target": action.target,
            "correlation_id": new_action_id() if gated else None,
        }
        details = dict(action.details)
        if action.force:
            details["forced"] = True
        try:
            return self._perform_audited(action, gated, row, details)
        except StopRequested:
            # The daemon is stopping before the change was made: say so before exiting.
            reason = f"{action.reason}; the daemon stopped before the change"
            self._write(action, "interrupted", row, reason, details)
            return Outcome("interrupted", row["action_id"])

    def _perform_audited(
        self, action: Action, gated: bool, row: dict[str, Any], details: dict[str, Any]
    ) -> Outcome:
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
        if action.action == BACKUP and action.wait:
            return self._backup(action, row)
        attempt = ChangeAttempt(
            action, gated, row, details,
            client=self._client, gate=self._gate, trail=self._trail, clock=self._clock,
            may_act=self._may_act,
        )  # fmt: skip
        return attempt.run()

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
            action_id=row["action_id"],
        )
        return Outcome(result.outcome, row["action_id"], result.backup_id, result.error)

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
