"""One decided change at STACKS, from the check that authorises it to its one outcome row.

    report = ChangeAttempt(action, gated, row, details, ...).run()

A `Report` says what became of a decision: the audit `Outcome` of its row, or
`NotAudited` when no row says it (another action held the container, or the
audit database refused the row).

Each round holds a reservation of two requests of the rate budget (see
`RateBudget.reserved`): it reads the state (`Change.read`), decides from it, and
sends the change at once, so nothing waits between the check and the request.

1. The first round also decides the pre-change backup of a gated change. A
   running container leaves the reservation to be backed up (BackupGate) and the
   next round checks again; one that is not running proceeds without a backup; a
   status the guide does not name aborts (fail closed) unless the operator forced
   it. If the state moved on since the decision (`Change.unwanted`), the change
   is `skipped` with what was seen.
2. Right before the request, the leadership (`may_act`), this process's claim on
   the container and, for an automatic change, that no hold or maintenance window
   has paused it since it was decided (`paused`: a round may start after a wait of
   minutes) are confirmed, and the `started` row is written.
3. The request is sent once. An answer that proves it was not applied and may
   pass (429, no connection, a Retry-After meanwhile) starts another round after
   the wait, with a fresh check; at most `MAX_ROUNDS`. Other refusals are
   `failed`. An ambiguous answer (`UnconfirmedChange`) is never resent: the state
   is read back and the outcome is `succeeded` if it shows the change, else
   `unknown` with what was seen.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from daemon.audit import AuditWriteError, Outcome
from daemon.clock import Clock, StopRequested
from daemon.executor.audit_trail import AuditTrail
from daemon.executor.backup_gate import BackupGate, GateResult
from daemon.executor.changes import CHANGES, Seen
from daemon.stacks import (
    KNOWN_CONTAINER_STATUSES,
    Priority,
    StacksClient,
    StacksError,
    UnconfirmedChange,
    worth_resending,
)
from policies import Action

log = logging.getLogger(__name__)

MAX_ROUNDS = 4  # check-and-send rounds (a backup needs one); a 429 or no connection starts one


class NotAudited(StrEnum):
    """A report's outcome when no audit outcome row says what became of the decision."""

    BUSY = "busy"  # another action holds the container: nothing done, nothing written
    UNAUDITED = "unaudited"  # a row the audit database refused (see the AuditTrail)


@dataclass(frozen=True)
class Report:
    """What became of one decision: its audit outcome, or why there is none."""

    outcome: Outcome | NotAudited
    action_id: str | None = None
    backup_id: int | None = None
    error: str | None = None  # unless succeeded: the error, or why it was skipped or aborted


class _Ended(Exception):
    """The attempt ended early; its outcome row is written."""

    def __init__(self, report: Report) -> None:
        self.report = report


class ChangeAttempt:
    def __init__(
        self,
        action: Action,
        gated: bool,
        row: dict[str, Any],
        details: dict[str, Any],
        *,
        client: StacksClient,
        gate: BackupGate,
        trail: AuditTrail,
        clock: Clock,
        may_act: Callable[[], bool],
        paused: Callable[[Action], str | None],
    ) -> None:
        self._action = action
        self._change = CHANGES[action.action]
        self._row = row
        self._details = details
        self._client = client
        self._gate = gate
        self._trail = trail
        self._clock = clock
        self._may_act = may_act
        self._paused = paused
        self._reason = action.reason
        self._expected = action.expect_status  # the status the change still needs
        self._gate_pending = gated  # the pre-change backup is still to be decided
        self._back_up = False  # leave the reservation: the gate backs the container up
        self._forced = False  # --force let the change past a status the guide does not name
        self._started: float | None = None  # when the `started` row was written
        self._sent = False

    def run(self) -> Report:
        try:
            return self._rounds()
        except _Ended as ended:
            return ended.report

    def _rounds(self) -> Report:
        budget = self._client.budget
        for round_number in range(1, MAX_ROUNDS + 1):
            if self._back_up:
                self._back_up = False
                self._unless_paused()  # the backup is a change too
                self._take_backup()  # outside any reservation: it waits for minutes
            seen = Seen()
            # The check and the change; on the first round of a gated change also the
            # gate's backup list of a container that cannot be backed up.
            requests = 3 if self._gate_pending else 2
            try:
                with budget.reserved(Priority.ACTION, requests):
                    seen = self._read()
                    self._decide(seen)
                    if self._back_up or budget.reserved_left() < 1:
                        continue  # a backup first, or the read needed a retry: check again
                    self._confirm_and_start()
                    self._sent = True
                    # A stopping daemon sends nothing: StopRequested, which the executor
                    # audits as a stop before the change. The client is not closed under a
                    # request in flight, so every error that comes back is STACKS's answer.
                    self._change.send(self._client, self._action)
            except UnconfirmedChange as answer:
                return self._verify(seen, answer)
            except StacksError as exc:
                stopping = self._stopping()  # no sending again: refused is what happened
                if worth_resending(exc) and round_number < MAX_ROUNDS and not stopping:
                    log.info(
                        "%s for %s not taken (%s); checking again before sending it",
                        self._action.action, self._action.container_name, exc,
                    )  # fmt: skip
                    self._sent = False
                    continue
                if self._sent:
                    return self._end(Outcome.FAILED, error=str(exc), http_status=exc.http_status)
                return self._not_sent(f"the change could not be sent ({exc})", exc)
            return self._end(Outcome.SUCCEEDED)
        return self._not_sent("its state could not be checked right before the request", None)

    # -- the check ----------------------------------------------------------------------

    def _read(self) -> Seen:
        try:
            return self._change.read(self._client, self._action)
        except StacksError as exc:
            if worth_resending(exc):
                raise  # a Retry-After began, or no budget yet: another round after the wait
            raise _Ended(self._not_sent(f"could not read its state ({exc})", exc)) from None

    def _decide(self, seen: Seen) -> None:
        """End the attempt if the state moved on; on the first round, decide the backup."""
        unwanted = self._change.unwanted(seen, self._expected, self._action)
        if unwanted is not None:
            self._details["seen"] = seen.describe()
            if self._started is None:
                self._finish(Outcome.SKIPPED, f"{unwanted}: nothing done")
            self._finish(Outcome.SKIPPED, f"right before the request {unwanted}: nothing sent")
        if not self._gate_pending:
            return
        status = seen.status or ""
        known = status in KNOWN_CONTAINER_STATUSES
        if not known and not self._action.force:
            self._details["status_seen"] = status
            self._finish(
                Outcome.ABORTED,
                f"its status {status!r} is not one the STACKS guide names, so the pre-change "
                "backup cannot be judged: nothing done (fail closed; `stacks-opsd change ... "
                "--force` overrides)",
            )
        self._expected = status
        if status == "running" or not known:
            self._back_up = True
            # --force waives the backup only where STACKS may refuse it for the status; a
            # running container is backed up first, forced or not.
            self._forced = not known
            return
        self._gate_pending = False
        self._apply_gate(self._gate.not_running(self._action, status))

    def _take_backup(self) -> None:
        """Outside any reservation: the pre-change backup of a running container."""
        check = self._gate.back_up_first(
            self._action, self._row["correlation_id"], forced=self._forced
        )
        self._gate_pending = False
        self._apply_gate(check)

    def _apply_gate(self, check: GateResult) -> None:
        self._details["pre_change_backup"] = check.how
        self._details["backup_id"] = check.backup_id
        if self._row["target"] is None and check.backup_id is not None:
            self._row["target"] = str(check.backup_id)
        self._reason = f"{self._reason}; {check.reason}"
        if not check.proceed:
            report = Report(Outcome.ABORTED, self._row["action_id"], check.backup_id, check.reason)
            self._write(Outcome.ABORTED, self._reason)
            raise _Ended(report)

    def _confirm_and_start(self) -> None:
        """Right before the request: still the leader, still holding the container, not
        paused meanwhile."""
        if not self._may_act():
            self._finish(Outcome.SKIPPED, "this instance is no longer the leader: nothing sent")
        if not self._trail.holds(self._action.container_id):
            self._finish(Outcome.SKIPPED, "another process took over the container: nothing sent")
        self._unless_paused()
        if self._started is None:
            self._write(Outcome.STARTED, self._reason)
            self._started = self._clock.monotonic()

    def _unless_paused(self) -> None:
        """End the attempt `skipped` if a hold or window began since the decision."""
        pause = self._paused(self._action)
        if pause is not None:
            self._finish(Outcome.SKIPPED, f"{pause} since it was decided: nothing sent")

    # -- the answer ----------------------------------------------------------------------

    def _verify(self, before: Seen, answer: UnconfirmedChange) -> Report:
        """After an ambiguous answer: read the state back; succeeded only if it shows it."""
        self._details["answer"] = answer.answer
        fields = {"error": str(answer), "http_status": answer.http_status}
        try:
            after = self._change.read(self._client, self._action)
        except StopRequested:
            self._details["read_back"] = "cut short: the daemon stopped"
            return self._end(Outcome.INTERRUPTED, **fields)
        except StacksError as read_error:
            self._details["read_back"] = f"failed: {read_error}"
            return self._end(
                Outcome.UNKNOWN,
                f"STACKS answered {answer.answer} and the read-back failed, so whether it "
                "happened is unknown",
                **fields,
            )
        self._details["read_back"] = after.describe()
        if self._change.applied(before, after, self._action):
            return self._end(
                Outcome.SUCCEEDED,
                f"STACKS answered {answer.answer}, and the read-back shows the change",
                http_status=answer.http_status,
            )
        return self._end(
            Outcome.UNKNOWN,
            f"STACKS answered {answer.answer} and the read-back does not show the change: "
            "it may or may not have happened",
            **fields,
        )

    # -- rows ----------------------------------------------------------------------------

    def _not_sent(self, why: str, exc: StacksError | None) -> Report:
        """Nothing reached STACKS: `aborted` before the `started` row, `failed` after it."""
        fields = {} if exc is None else {"error": str(exc), "http_status": exc.http_status}
        if self._started is None:
            return self._end(Outcome.ABORTED, f"{why}: nothing done", **fields)
        return self._end(Outcome.FAILED, f"{why}: nothing sent", **fields)

    def _finish(self, outcome: Outcome, why: str, **fields: Any) -> None:
        """End the attempt now with `outcome` (its only row, or the outcome of `started`)."""
        raise _Ended(self._end(outcome, why, **fields))

    def _end(self, outcome: Outcome, why: str | None = None, **fields: Any) -> Report:
        """Write the action's one outcome row."""
        reason = self._reason if why is None else f"{self._reason}; {why}"
        if self._started is not None:
            fields["duration_ms"] = (self._clock.monotonic() - self._started) * 1000
        backup_id = self._details.get("backup_id")
        try:
            self._write(outcome, reason, **fields)
        except AuditWriteError as exc:
            log.error(
                "%s for %s ended %s but the outcome row could not be written yet "
                "(it is kept and written again when the database takes it): %s",
                self._action.action, self._action.container_name, outcome, exc,
            )  # fmt: skip
            return Report(NotAudited.UNAUDITED, self._row["action_id"], backup_id, str(exc))
        return Report(outcome, self._row["action_id"], backup_id, fields.get("error") or why)

    def _write(self, outcome: Outcome, reason: str, **fields: Any) -> None:
        action = self._action
        self._trail.write(
            action.policy, action.actor, action.action, outcome,
            reason=reason, details=self._details, **self._row, **fields,
        )  # fmt: skip

    def _stopping(self) -> bool:
        return bool(getattr(self._clock, "stopping", False))
