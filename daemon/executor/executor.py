"""Executor: performs decisions with write-ahead audit rows, one actor per container.

    executor = Executor(client, store, clock, config.policies.pre_change_backup, dry_run)
    outcome = executor.perform(decision)

A `Note` becomes one audit row. An `Action`:

1. waits for nobody: if another action holds the container, in this process or
   in another one sharing the audit database (`AuditStore.claim`), it returns
   `busy` and writes nothing (the policy decides again on the next evaluation);
2. in dry-run mode writes one `dry_run` row and calls nothing, not even a backup;
3. reads the state the decision depends on; a container whose status moved on
   since the decision is `skipped`, and a gated change to a container whose
   status the guide does not name is `aborted` unless forced (fail closed);
4. for a gated change (restart, stop, restore, delete) asks the BackupGate; an
   aborted gate gives one `aborted` row and no change;
5. writes the `started` row; then, under one budget reservation, reads the state
   again and sends the change at once, so no wait (budget, Retry-After, backup)
   sits between the check that authorises it and the request;
6. writes exactly one outcome. The request is sent once. A refusal that proves
   STACKS did not apply it (429, no connection) starts step 5 over after the
   wait, with a fresh check; other refusals are `failed`. An ambiguous answer
   (unreadable or empty 2xx, 5xx, timeout, dropped connection) is never resent:
   the state is read back, and the row says `succeeded` if it shows the change,
   else `unknown` with what was seen.

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
from daemon.executor.audit_trail import ActionMetrics, AuditTrail
from daemon.executor.backup_gate import BackupGate
from daemon.executor.changes import CHANGES, GATED, Change, Seen
from daemon.executor.container_locks import ContainerLocks
from daemon.stacks.backup_calls import MAX_BACKUPS
from daemon.stacks.client import StacksClient
from daemon.stacks.errors import StacksError, UnconfirmedChange
from daemon.stacks.models import KNOWN_CONTAINER_STATUSES
from daemon.stacks.ratebudget import Priority
from daemon.stacks.retry import worth_resending
from policies.base import Action, Decision, Note
from policies.pre_change_backup import PreChangeBackupOptions

log = logging.getLogger(__name__)

BACKUP = "backup.create"
MAX_CHECKS = 3  # check-and-send rounds: a 429 / refused connection starts one more


@dataclass(frozen=True)
class Outcome:
    """What became of one decision (`outcome` is an audit outcome, `busy` or `unaudited`)."""

    outcome: str
    action_id: str | None = None
    backup_id: int | None = None
    error: str | None = None


class _Ended(Exception):
    """Ends an action early with the outcome already written."""

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


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
            try:
                self._trail.release(action.container_id)
            except AuditWriteError as exc:  # it lapses with this process's session
                log.warning("could not release the claim on %s: %s", action.container_name, exc)

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
        except _Ended as ended:
            return ended.outcome
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
        change = CHANGES[action.action]
        before = self._authorising_read(action, change, row, details)
        expected = action.expect_status
        reason = action.reason
        if gated:
            expected = before.status
            if expected not in KNOWN_CONTAINER_STATUSES and not action.force:
                reason = (
                    f"{reason}; its status {expected!r} is not one the STACKS guide names, so "
                    "the pre-change backup cannot be judged: nothing done (fail closed; "
                    "`stacks-opsd change ... --force` overrides)"
                )
                self._write(action, "aborted", row, reason, {**details, "status_seen": expected})
                return Outcome("aborted", row["action_id"], error=reason)
            check = self._gate.before_change(action, row["correlation_id"], expected)
            details["pre_change_backup"] = check.how
            details["backup_id"] = check.backup_id
            if row["target"] is None and check.backup_id is not None:
                row["target"] = str(check.backup_id)
            reason = f"{reason}; {check.reason}"
            if not check.proceed:
                self._write(action, "aborted", row, reason, details)
                return Outcome("aborted", row["action_id"], check.backup_id, check.reason)
        self._write(action, "started", row, reason, details)
        return self._send_once(action, change, expected, row, reason, details)

    def _authorising_read(
        self, action: Action, change: Change, row: dict[str, Any], details: dict[str, Any]
    ) -> Seen:
        """The state the change depends on, read now; ends the action if it moved on."""
        try:
            seen = change.read(self._client, action)
        except StacksError as exc:
            reason = f"{action.reason}; could not read its state ({exc}): nothing done"
            self._write(action, "aborted", row, reason, details)
            raise _Ended(Outcome("aborted", row["action_id"], error=str(exc))) from None
        unwanted = change.unwanted(seen, action.expect_status, action)
        if unwanted is not None:
            reason = f"{action.reason}; {unwanted}: nothing done"
            self._write(action, "skipped", row, reason, {**details, "seen": seen.describe()})
            raise _Ended(Outcome("skipped", row["action_id"]))
        return seen

    def _send_once(
        self,
        action: Action,
        change: Change,
        expected: str | None,
        row: dict[str, Any],
        reason: str,
        details: dict[str, Any],
    ) -> Outcome:
        """Check, then send at once; never resend after an answer that may mean applied."""
        started = self._clock.monotonic()
        before = Seen()
        budget = self._client.budget
        for attempt in range(1, MAX_CHECKS + 1):
            sent = False
            try:
                with budget.reserved(Priority.ACTION, 2):  # the check and the change
                    before = change.read(self._client, action)
                    unwanted = change.unwanted(before, expected, action)
                    if unwanted is None and budget.reserved_left() < 1:
                        continue  # the read needed a retry: check again under a new reservation
                    if unwanted is None:
                        sent = True
                        change.send(self._client, action)
            except UnconfirmedChange as exc:
                return self._verify(action, change, before, exc, row, reason, details, started)
            except StopRequested:
                if not sent:
                    raise
                return self._end(
                    action, "interrupted", row, reason, details, started,
                    error="the daemon stopped before STACKS answered",
                )  # fmt: skip
            except StacksError as exc:
                if self._stopping() and sent:
                    # The daemon closed the connection to stop: the request's fate is unknown.
                    return self._end(
                        action, "interrupted", row, reason, details, started,
                        error=f"the daemon stopped while waiting for STACKS: {exc}",
                    )  # fmt: skip
                if worth_resending(exc) and attempt < MAX_CHECKS:
                    log.info(
                        "%s for %s not taken (%s); checking again before sending it again",
                        action.action, action.container_name, exc,
                    )  # fmt: skip
                    continue
                if not sent:
                    why = f"{reason}; could not check its state right before the request ({exc})"
                    return self._end(
                        action, "failed", row, f"{why}: nothing sent", details, started,
                        error=str(exc), http_status=exc.http_status,
                    )  # fmt: skip
                return self._end(
                    action, "failed", row, reason, details, started,
                    error=str(exc), http_status=exc.http_status,
                )  # fmt: skip
            if unwanted is not None:
                return self._end(
                    action, "skipped", row, f"{reason}; right before the request {unwanted}: "
                    "nothing sent", {**details, "seen": before.describe()}, started,
                )  # fmt: skip
            return self._end(action, "succeeded", row, reason, details, started)
        why = f"{reason}; its state could not be checked right before the request"
        return self._end(action, "failed", row, f"{why}: nothing sent", details, started)

    def _verify(
        self,
        action: Action,
        change: Change,
        before: Seen,
        exc: UnconfirmedChange,
        row: dict[str, Any],
        reason: str,
        details: dict[str, Any],
        started: float,
    ) -> Outcome:
        """After an ambiguous answer: read the state back; succeeded only if it shows the change."""
        details = {**details, "answer": exc.answer}
        try:
            after = change.read(self._client, action)
        except StacksError as read_error:
            details["read_back"] = f"failed: {read_error}"
            return self._end(
                action, "unknown", row, f"{reason}; STACKS answered {exc.answer} and the "
                "read-back failed, so whether it happened is unknown", details, started,
                error=str(exc), http_status=exc.http_status,
            )  # fmt: skip
        details["read_back"] = after.describe()
        if change.applied(before, after, action):
            return self._end(
                action, "succeeded", row,
                f"{reason}; STACKS answered {exc.answer}, and the read-back shows the change",
                details, started, http_status=exc.http_status,
            )  # fmt: skip
        return self._end(
            action, "unknown", row, f"{reason}; STACKS answered {exc.answer} and the read-back "
            "does not show the change: it may or may not have happened", details, started,
            error=str(exc), http_status=exc.http_status,
        )  # fmt: skip

    def _end(
        self,
        action: Action,
        outcome: str,
        row: dict[str, Any],
        reason: str,
        details: dict[str, Any],
        started: float,
        **fields: Any,
    ) -> Outcome:
        """Write the action's one outcome row (its `started` row is written)."""
        backup_id = details.get("backup_id")
        try:
            self._write(
                action, outcome, row, reason, details,
                duration_ms=(self._clock.monotonic() - started) * 1000, **fields,
            )  # fmt: skip
        except AuditWriteError as exc:
            log.error(
                "%s for %s ended %s but the outcome row could not be written "
                "(its `started` row is there; it will be marked interrupted): %s",
                action.action, action.container_name, outcome, exc,
            )  # fmt: skip
            return Outcome("unaudited", row["action_id"], backup_id, str(exc))
        return Outcome(outcome, row["action_id"], backup_id, fields.get("error"))

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

    def _stopping(self) -> bool:
        return bool(getattr(self._clock, "stopping", False))
