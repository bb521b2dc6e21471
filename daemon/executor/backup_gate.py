"""BackupGate: a completed backup before every change to a running container (SPEC 7).

    gate = BackupGate(client, trail, clock, options)
    check = gate.back_up_first(action, correlation_id)    # or gate.not_running(action, status)
    if check.proceed: ...check the state again, perform the change, record check.backup_id...

For a running container the gate reuses a completed backup younger than
`reuse_within` (when > 0), else writes a `started` backup.create row, triggers
`POST /containers/{id}/backup` and polls the backup list at ACTION priority
(5 s, doubling to 30 s, bounded by `timeout`) until a backup created after the
trigger (that was not listed before it) is `completed` (row `succeeded`, target
the backup id) or `failed`, or time runs out (row `failed`, reason timeout).
`on_failure` then decides: "abort" (the change does not happen) or "proceed".
The trigger is sent once, right after a listing of the backups it may not take
for its own: after a 429 or a refused connection it is listed and sent again (a
backup of a running container is harmless), but after an ambiguous answer it is
not; the polling then shows whether STACKS took it, and if no new backup ever
appears the backup's row says `unknown`, not `failed`.
A container that is not running cannot be backed up (the guide): the change
proceeds and records why, with the newest completed backup. Reading the status
that decides between the two is the executor's (see attempt.py).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from daemon.audit import AuditAction, Outcome, new_action_id
from daemon.clock import Clock, StopRequested
from daemon.durations import format_duration
from daemon.executor.audit_trail import AuditTrail
from daemon.executor.changes import list_backups
from daemon.stacks import (
    Backup,
    Priority,
    StacksClient,
    StacksError,
    UnconfirmedChange,
    newest_completed,
    safe_text,
    worth_resending,
)
from policies import Action, PreChangeBackupOptions

FIRST_POLL = 5.0  # seconds after the trigger; the wait then doubles
MAX_POLL = 30.0
CLOCK_SKEW = timedelta(seconds=60)  # STACKS' clock may lag ours by this much
TRIGGER_SENDS = 3  # a trigger refused with 429 / no connection is sent again at most this often


class PreChangeBackup(StrEnum):
    """How a change was protected: the audit rows' `details.pre_change_backup`."""

    CREATED = "created"
    REUSED = "reused"
    NOT_RUNNING = "not running"  # STACKS backs up running containers only
    FORCED = "forced"  # no backup was possible and the operator forced the change
    FAILED = "failed"  # the change goes ahead only with `on_failure = "proceed"`
    DRY_RUN = "would be taken first"


@dataclass(frozen=True)
class BackupResult:
    """The end of one backup; `backup_id` is None when no new backup was seen."""

    completed: bool
    backup_id: int | None = None
    error: str | None = None
    http_status: int | None = None
    triggered: bool = True  # False: STACKS refused the trigger, nothing was started
    unconfirmed: str | None = None  # the trigger's ambiguous answer (only after a timeout)
    timed_out: bool = False  # the wait ended before STACKS said how the backup ended

    @property
    def outcome(self) -> Outcome:
        """`failed` only when STACKS said so (a refused trigger, a `failed` backup); a wait
        that ended first does not know how the backup ends: `unknown`."""
        if self.completed:
            return Outcome.SUCCEEDED
        return Outcome.UNKNOWN if self.timed_out else Outcome.FAILED


@dataclass(frozen=True)
class GateResult:
    """Whether the change may go ahead, with the backup that protects it (if any)."""

    proceed: bool
    how: PreChangeBackup
    reason: str
    backup_id: int | None = None


@dataclass(frozen=True)
class BackupWait:
    """How a wait for a backup stands, for whoever shows progress (`stacks-opsd backup`):
    `status` is the new backup's as last listed ("triggered" before it is listed)."""

    container_name: str
    elapsed: timedelta
    timeout: timedelta
    status: str
    backup_id: int | None = None


class BackupGate:
    def __init__(
        self,
        client: StacksClient,
        trail: AuditTrail,
        clock: Clock,
        options: PreChangeBackupOptions,
        on_wait: Callable[[BackupWait], None] | None = None,
    ) -> None:
        """`on_wait` hears how each wait for a backup stands, after every listing."""
        self._client = client
        self._trail = trail
        self._clock = clock
        self._options = options
        self._on_wait = on_wait or (lambda wait: None)

    def back_up_first(
        self, action: Action, correlation_id: str, *, forced: bool = False
    ) -> GateResult:
        """A completed backup of a running container before `action`: reuse or take one.

        `forced` (an operator's --force on a status the guide does not name): a
        trigger STACKS refuses means no backup is possible, and the change proceeds.
        Raises AuditWriteError when a backup row cannot be written.
        """
        cid = action.container_id
        try:
            listed = list_backups(self._client, cid)
        except StacksError as exc:
            return self._failed(f"could not list the container's backups: {exc}")
        newest = newest_completed(listed)
        reuse = self._options.reuse_within
        if reuse > timedelta(0) and newest and newest.created_at >= self._clock.now() - reuse:
            return GateResult(
                proceed=True,
                how=PreChangeBackup.REUSED,
                reason=f"reused backup {newest.id}, completed within {format_duration(reuse)}",
                backup_id=newest.id,
            )
        result = self.take_backup(
            action.container_id,
            action.container_name,
            policy=action.policy,
            actor=action.actor,
            correlation_id=correlation_id,
            reason=f"pre-change backup before {action.action}",
            known=listed,
        )
        if result.completed:
            return GateResult(
                proceed=True,
                how=PreChangeBackup.CREATED,
                reason=f"pre-change backup {result.backup_id} completed",
                backup_id=result.backup_id,
            )
        if forced and not result.triggered:
            return GateResult(
                proceed=True,
                how=PreChangeBackup.FORCED,
                reason=f"no pre-change backup possible ({result.error}); forced by the operator",
            )
        return self._failed(f"pre-change backup failed: {result.error}")

    def take_backup(
        self,
        container_id: str,
        container_name: str,
        *,
        policy: str,
        actor: str,
        correlation_id: str | None,
        reason: str,
        known: tuple[Backup, ...] = (),
        action_id: str | None = None,
    ) -> BackupResult:
        """Trigger a backup and wait for it, with `started` and outcome backup.create rows."""
        action_id = action_id or new_action_id()
        row = {
            "action_id": action_id,
            "container_id": container_id,
            "container_name": container_name,
            "correlation_id": correlation_id,
        }
        backup = AuditAction.BACKUP_CREATE
        self._trail.write(policy, actor, backup, Outcome.STARTED, reason=reason, **row)
        started = self._clock.monotonic()
        try:
            result = self._trigger_and_wait(container_id, container_name, {b.id for b in known})
        except StopRequested:
            self._trail.write(
                policy, actor, backup, Outcome.INTERRUPTED, reason=reason,
                error="the daemon stopped while waiting for the backup", **row,
            )  # fmt: skip
            raise
        elapsed_ms = (self._clock.monotonic() - started) * 1000
        if result.completed:
            self._trail.write(
                policy, actor, backup, Outcome.SUCCEEDED, reason=reason,
                target=str(result.backup_id), duration_ms=elapsed_ms, **row,
            )  # fmt: skip
        else:
            target = None if result.backup_id is None else str(result.backup_id)
            details: dict[str, object] = {"triggered": result.triggered}
            if result.unconfirmed:
                details["answer"] = result.unconfirmed
            self._trail.write(
                policy, actor, backup, result.outcome, reason=reason, target=target,
                error=result.error, http_status=result.http_status, duration_ms=elapsed_ms,
                details=details, **row,
            )  # fmt: skip
        return result

    def _trigger_and_wait(
        self, container_id: str, container_name: str, known_ids: set[int]
    ) -> BackupResult:
        triggered_at, unconfirmed = self._trigger(container_id, known_ids)
        if isinstance(triggered_at, BackupResult):
            return triggered_at
        deadline = triggered_at + self._options.timeout
        wait, last_error = FIRST_POLL, None

        def report(status: str, backup_id: int | None = None) -> None:
            elapsed = self._clock.now() - triggered_at
            self._on_wait(
                BackupWait(container_name, elapsed, self._options.timeout, status, backup_id)
            )

        report("triggered")
        seen: tuple[str, int | None] = ("not listed yet", None)  # the new backup, as last listed
        while True:
            self._clock.sleep(min(wait, max((deadline - self._clock.now()).total_seconds(), 0)))
            wait = min(wait * 2, MAX_POLL)
            try:
                listed = list_backups(self._client, container_id)
            except StacksError as exc:
                last_error = str(exc)
                report(f"listing failed ({exc.__class__.__name__}), retrying")
            else:
                ended = _outcome(listed, known_ids, triggered_at - CLOCK_SKEW)
                if ended is not None:
                    report("completed" if ended.completed else "failed", ended.backup_id)
                    return ended
                seen = _progress(listed, known_ids, triggered_at - CLOCK_SKEW)
                report(*seen)
            if self._clock.now() >= deadline:
                return self._timed_out(seen, unconfirmed, last_error)

    def _timed_out(
        self, seen: tuple[str, int | None], unconfirmed: str | None, last_error: str | None
    ) -> BackupResult:
        """The wait ended without an end of the backup: the one seen running, if any."""
        status, backup_id = seen
        why = f"timed out after {format_duration(self._options.timeout)}"
        if backup_id is not None:
            why = f"backup {backup_id} was still {status}: {why}"
        if unconfirmed:
            started = "" if backup_id is not None else " and no new backup appeared"
            why = f"STACKS answered the trigger with {unconfirmed}{started}: {why}"
        error = f"{why}; last error: {last_error}" if last_error else why
        return BackupResult(False, backup_id, error=error, unconfirmed=unconfirmed, timed_out=True)

    def _trigger(
        self, container_id: str, known_ids: set[int]
    ) -> tuple[datetime | BackupResult, str | None]:
        """List the backups, then send `POST backup` at once (again only after an answer
        proving it was not taken, listing again first).

        Every backup listed right before the trigger STACKS took joins `known_ids`, so a
        backup begun meanwhile by someone else (the 02:00 schedule, a human, during a
        budget wait or a Retry-After) is never taken for this one. Returns when it was
        sent and its ambiguous answer (None if clearly taken), or the BackupResult of a
        trigger STACKS refused.
        """
        budget = self._client.budget
        error: StacksError | None = None
        for _attempt in range(TRIGGER_SENDS):
            triggered_at = self._clock.now()
            try:
                with budget.reserved(Priority.ACTION, 2):  # the list and the trigger
                    listed = list_backups(self._client, container_id)
                    known_ids.update(b.id for b in listed)
                    if budget.reserved_left() < 1:
                        continue  # the list needed a retry: list again under a new reservation
                    triggered_at = self._clock.now()
                    self._client.trigger_backup(container_id, priority=Priority.ACTION)
            except UnconfirmedChange as exc:
                return triggered_at, exc.answer
            except StacksError as exc:
                error = exc
                if worth_resending(exc):
                    continue  # the budget waits out any Retry-After before the next one
                break
            return triggered_at, None
        why = f"no backup triggered: {error}" if error else "the backups could not be listed first"
        status = error.http_status if error else None
        return BackupResult(False, error=why, http_status=status, triggered=False), None

    def not_running(self, action: Action, status: str) -> GateResult:
        """No backup is possible (the guide): proceed, recording the newest completed one."""
        newest = action.newest_backup
        if newest is None:
            try:
                listed = list_backups(self._client, action.container_id)
            except StacksError:
                listed = ()
            found = newest_completed(listed)
            newest = found.id if found else None
        found = f"newest completed backup {newest}" if newest else "no completed backup known"
        return GateResult(
            proceed=True,
            how=PreChangeBackup.NOT_RUNNING,
            reason=f"no pre-change backup: the container is {status} (STACKS backs up "
            f"running containers only); {found}",
            backup_id=newest,
        )

    def _failed(self, reason: str) -> GateResult:
        if self._options.on_failure == "proceed":
            return GateResult(
                True, PreChangeBackup.FAILED, f"{reason}; proceeding (on_failure = proceed)"
            )
        return GateResult(
            False, PreChangeBackup.FAILED, f"{reason}; change aborted (on_failure = abort)"
        )


def _progress(
    listed: tuple[Backup, ...], known_ids: set[int], since: datetime
) -> tuple[str, int | None]:
    """The new backup's status while it runs: ("in_progress", 42), or not listed yet."""
    new = _triggered(listed, known_ids, since)
    if not new:
        return "not listed yet", None
    newest = max(new, key=lambda b: b.created_at)
    return newest.status, newest.id


def _outcome(
    listed: tuple[Backup, ...], known_ids: set[int], since: datetime
) -> BackupResult | None:
    """The new backup's end, or None while it is still running (or not listed yet)."""
    new = _triggered(listed, known_ids, since)
    completed = newest_completed(tuple(new))
    if completed is not None:
        return BackupResult(True, completed.id)
    failed = [b for b in new if b.status == "failed"]
    if new and len(failed) == len(new):
        newest = max(failed, key=lambda b: b.created_at)
        why = safe_text(newest.error_message) or "no reason given"
        return BackupResult(False, newest.id, f"backup {newest.id} failed: {why}")
    return None


def _triggered(listed: tuple[Backup, ...], known_ids: set[int], since: datetime) -> list[Backup]:
    """The backups listed since the trigger that may be the one it started: new, created
    since, and not one of the daily scheduled backups (at 02:00 one may complete while
    the triggered one still runs, or fails: it is not the change's backup)."""
    return [
        b for b in listed
        if b.id not in known_ids and not b.scheduled
        and b.created_at is not None and b.created_at >= since
    ]  # fmt: skip
