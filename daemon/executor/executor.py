"""The executor: performs decisions with write-ahead audit rows, one action per container.

    executor = Executor(client, store, clock, config.policies.pre_change_backup, dry_run)
    report = executor.perform(decision)  # now, on this thread
    executor.submit(decision)            # on a worker thread; the status job never waits

A `Note` becomes one audit row. An `Action`:

1. waits for nobody: if another action holds the container, on a worker thread
   (`submit` skips it), on another thread of this process or in another process
   sharing the audit database (`AuditStore.claim`), it is `busy` and writes nothing
   (the policy decides again on the next evaluation);
2. in dry-run mode writes one `dry_run` row and calls nothing, not even a backup;
3. is otherwise one `ChangeAttempt` (attempt.py): check, pre-change backup,
   check again and send at once, one outcome row, a read-back after an
   ambiguous answer. A backup.create that waits is the gate's `take_backup`.

The change's rows share `correlation_id` with its pre-change backup's rows and
carry `details.backup_id` (and `target`, when the action has none of its own).
If an audit row cannot be written the change is not made (no unaudited
changes); the error is counted in the metrics and the report says `unaudited`.
An outcome row that cannot be written after the change is kept by the
AuditTrail and written as soon as the database takes it (`flush`).

`may_act` is asked right before each change (False: leadership lost, skipped), and
so is `paused(action)` (a reason: a hold or window paused it since it was decided,
skipped; the runtime answers None for the operator's changes);
`on_backups_changed(container_id)` is told of every action that changed a
container's backups, so the poller reads the list again first.
"""

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any

from daemon.audit import AuditAction, AuditStore, AuditWriteError, Outcome, new_action_id
from daemon.clock import Clock, StopRequested
from daemon.executor.attempt import ChangeAttempt, NotAudited, Report
from daemon.executor.audit_trail import ActionMetrics, AuditTrail
from daemon.executor.backup_gate import BackupGate, BackupWait, PreChangeBackup
from daemon.executor.changes import BACKUP_CHANGES, CHANGES, GATED, list_backups
from daemon.stacks import StacksClient, StacksError
from policies import Action, Decision, Note, PreChangeBackupOptions

log = logging.getLogger(__name__)

WORKERS = 4  # actions in flight at once (each on its own container)


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
        paused: Callable[[Action], str | None] | None = None,
        on_backups_changed: Callable[[str], None] | None = None,
        on_backup_wait: Callable[[BackupWait], None] | None = None,
    ) -> None:
        self._client = client
        self._clock = clock
        self._gate_options = gate_options
        self._dry_run = dry_run
        self._trail = AuditTrail(store, metrics)
        self._on_backup_wait = on_backup_wait
        self._gate = BackupGate(client, self._trail, clock, gate_options, on_backup_wait)
        self._locks = ContainerLocks()
        self._workers = Workers(self.perform)
        self._may_act = may_act or (lambda: True)
        self._paused = paused or (lambda action: None)
        self._on_backups_changed = on_backups_changed or (lambda container_id: None)

    def set_gate_options(self, gate_options: PreChangeBackupOptions) -> None:
        """New pre-change backup options (a config reload), for the changes that start next."""
        self._gate_options = gate_options
        self._gate = BackupGate(
            self._client, self._trail, self._clock, gate_options, self._on_backup_wait
        )

    def perform(self, decision: Decision) -> Report:
        """Perform `decision` now, on this thread."""
        report = self._record_note(decision) if isinstance(decision, Note) else self._act(decision)
        log.info(
            "%s %s %s -> %s",
            decision.actor,
            decision.action,
            decision.container_name,
            report.outcome,
        )
        if isinstance(decision, Action) and report.action_id and _changed_backups(decision, report):
            self._on_backups_changed(decision.container_id)
        return report

    def submit(self, decision: Decision) -> bool:
        """Perform `decision` on a worker thread, unless its container has one queued or
        running (False: skipped; the next evaluation decides again)."""
        return self._workers.submit(decision)

    def drain(self, timeout: float) -> bool:
        """Refuse new submissions, wait up to `timeout` seconds for those in flight; True
        when none is left."""
        return self._workers.drain(timeout)

    def flush(self) -> dict[str, Mapping[str, Any]]:
        """Write outcome rows the database refused earlier, release claims it kept; each
        row written now, by action id."""
        return self._trail.flush()

    def awaits_record(self, action_id: str) -> bool:
        """Whether the outcome row of this action is kept, waiting for the database."""
        return self._trail.awaits_record(action_id)

    def unrecorded(self) -> list[str]:
        """Outcome rows still waiting for the database, one line each."""
        return self._trail.unrecorded()

    def _act(self, action: Action) -> Report:
        if action.action not in CHANGES:
            known = ", ".join(sorted(CHANGES))
            raise ValueError(f"the executor cannot perform {action.action!r}; known: {known}")
        with self._locks.try_hold(action.container_id) as held:
            if not held:
                log.info(
                    "%s for %s skipped: another action on it is in progress",
                    action.action,
                    action.container_name,
                )
                return Report(NotAudited.BUSY)
            try:
                return self._claimed(action)
            except AuditWriteError as exc:
                log.error("%s for %s not performed: %s", action.action, action.container_name, exc)
                return Report(NotAudited.UNAUDITED, error=str(exc))

    def _claimed(self, action: Action) -> Report:
        """The action, while this process holds the container's claim in the audit database."""
        action_id = new_action_id()
        if self._dry_run:
            return self._perform(action, action_id)
        holder = self._trail.claim(action.container_id, action.action, action_id)
        if holder is not None:
            busy = holder.describe()
            log.info("%s for %s skipped: %s", action.action, action.container_name, busy)
            return Report(NotAudited.BUSY, error=busy)
        try:
            return self._perform(action, action_id)
        finally:
            self._trail.release(action.container_id)

    def _record_note(self, note: Note) -> Report:
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
            return Report(NotAudited.UNAUDITED, error=str(exc))
        return Report(Outcome(note.outcome), action_id)

    def _perform(self, action: Action, action_id: str) -> Report:
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
            self._write(action, Outcome.INTERRUPTED, row, reason, details)
            return Report(Outcome.INTERRUPTED, row["action_id"])

    def _perform_audited(
        self, action: Action, gated: bool, row: dict[str, Any], details: dict[str, Any]
    ) -> Report:
        if not self._may_act():
            why = "this instance is no longer the leader: nothing done"
            self._write(action, Outcome.SKIPPED, row, f"{action.reason}; {why}", details)
            return Report(Outcome.SKIPPED, row["action_id"], error=why)
        if self._dry_run:
            if gated:
                details["pre_change_backup"] = PreChangeBackup.DRY_RUN
            reason = f"{action.reason} (dry run: nothing changed)"
            self._write(action, Outcome.DRY_RUN, row, reason, details)
            return Report(Outcome.DRY_RUN, row["action_id"])
        if action.action == AuditAction.BACKUP_CREATE and action.wait:
            return self._backup(action, row, details)
        attempt = ChangeAttempt(
            action, gated, row, details,
            client=self._client, gate=self._gate, trail=self._trail, clock=self._clock,
            may_act=self._may_act, paused=self._paused,
        )  # fmt: skip
        return attempt.run()

    def _backup(self, action: Action, row: dict[str, Any], details: dict[str, Any]) -> Report:
        """An operator's (or policy's) backup.create: trigger and wait, audited by the gate.

        The backups listed before the trigger are known, so an earlier backup that
        completed moments ago is never mistaken for this one; without that list
        nothing is triggered (`aborted`).
        """
        try:
            known = list_backups(self._client, action.container_id)
        except StacksError as exc:
            why = f"could not list its backups first ({exc})"
            reason = f"{action.reason}; {why}: nothing done"
            fields = {"error": str(exc), "http_status": exc.http_status}
            self._write(action, Outcome.ABORTED, row, reason, details, **fields)
            return Report(Outcome.ABORTED, row["action_id"], None, why)
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
        return Report(result.outcome, row["action_id"], result.backup_id, result.error)

    def _write(
        self,
        action: Action,
        outcome: Outcome,
        row: dict[str, Any],
        reason: str,
        details: dict[str, Any],
        **fields: Any,
    ) -> None:
        self._trail.write(
            action.policy, action.actor, action.action, outcome,
            reason=reason, details=details, **row, **fields,
        )  # fmt: skip


def _changed_backups(action: Action, report: Report) -> bool:
    """Whether the container's backup list may show something new after `action`."""
    return action.action in BACKUP_CHANGES or report.backup_id is not None


class ContainerLocks:
    """One action per container in this process: a non-blocking lock per container id."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @contextmanager
    def try_hold(self, container_id: str) -> Iterator[bool]:
        """Yield True while holding the container's lock, False if another action holds it."""
        with self._guard:
            lock = self._locks.setdefault(container_id, threading.Lock())
        acquired = lock.acquire(blocking=False)
        try:
            yield acquired
        finally:
            if acquired:
                lock.release()


class Workers:
    """Runs decisions on a small pool of threads, at most one queued or running per container.

    A pre-change backup can take minutes, so the status job hands decisions over
    instead of waiting. A container that already has one in flight is skipped this
    round; the next evaluation decides again from fresh state.
    """

    def __init__(self, perform: Callable[[Decision], object], workers: int = WORKERS) -> None:
        self._perform = perform
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="action")
        self._busy: set[str] = set()
        self._futures: set[Future] = set()
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, decision: Decision) -> bool:
        with self._lock:
            if self._closed or decision.container_id in self._busy:
                return False
            self._busy.add(decision.container_id)
            future = self._pool.submit(self._run, decision)
            self._futures.add(future)
        future.add_done_callback(self._forget)
        return True

    def _run(self, decision: Decision) -> None:
        try:
            self._perform(decision)
        except StopRequested:
            log.info("%s on %s interrupted: stopping", decision.action, decision.container_name)
        except Exception:
            log.exception("action %s on %s failed", decision.action, decision.container_name)
        finally:
            with self._lock:
                self._busy.discard(decision.container_id)

    def _forget(self, future: Future) -> None:
        with self._lock:
            self._futures.discard(future)

    def drain(self, timeout: float) -> bool:
        with self._lock:
            self._closed = True
            pending = set(self._futures)
        _, not_done = wait(pending, timeout=timeout)
        return not not_done
