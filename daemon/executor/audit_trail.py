"""Audit rows, container claims and action metrics together, so every outcome is counted once.

An `AuditWriteError` is counted (`stacks_opsd_audit_write_errors_total`) and
re-raised: the caller must not go on with a change it could not record or claim.
An outcome row that fails after its action's `started` row was written is not
lost: the change happened (or did not) whatever the database says, so the row is
kept and written by `flush()` (the daemon calls it every leadership tick, and
before it stops) once the database takes it again. A claim that could not be
released is released by `flush()` too.

An action gets one outcome row: the outcome of an action this trail started is
written only if no other process closed it meanwhile (it took this one for gone:
a freeze past the lease, a database that refused the row for a while). A row not
written is logged as NOT RECORDED and named in `superseded`.
"""

import logging
import threading
from collections.abc import Mapping
from typing import Any, Protocol

from daemon.audit import AuditError, AuditLog, AuditStore, AuditWriteError, Holder, Outcome
from daemon.secrets import redact_text

log = logging.getLogger(__name__)


class ActionMetrics(Protocol):
    """What the executor reports (daemon.exporter.ops_metrics.OpsMetrics implements it)."""

    def action(self, policy: str, action: str, outcome: str) -> None: ...

    def audit_write_error(self) -> None: ...


class AuditTrail:
    def __init__(self, store: AuditStore, metrics: ActionMetrics | None = None) -> None:
        self._store = store
        self._metrics = metrics
        self._lock = threading.Lock()
        self._started: set[str] = set()  # action ids with a `started` row and no outcome yet
        self._kept: list[tuple[str, dict[str, Any]]] = []  # outcome rows to write, oldest first
        self._unreleased: set[str] = set()  # containers whose claim could not be released
        self.superseded: list[str] = []  # outcome rows not written: their action had one

    def write(
        self,
        policy: str,
        actor: str,
        action: str,
        outcome: str,
        *,
        action_id: str,
        details: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> AuditLog | None:
        """Append one row; outcomes other than `started` also count in the action metrics.
        The outcome of an action this trail started is written only if the action has
        none yet (another process that thought this one gone may have closed it
        `interrupted`: one action never gets two outcomes); None when it was not."""
        entry = {"actor": actor, "action": action, "outcome": outcome, "action_id": action_id}
        entry |= {"details": dict(details) if details else None, **fields}
        with self._lock:
            closes = outcome != Outcome.STARTED and action_id in self._started
        try:
            row = self._store.append_outcome(**entry) if closes else self._store.append(**entry)
        except AuditWriteError:
            self._count_write_error()
            if closes:
                with self._lock:
                    self._kept.append((policy, entry))
            raise
        if row is None:
            self._superseded(entry)
            return None
        self._recorded(policy, entry)
        return row

    def flush(self) -> dict[str, Mapping[str, Any]]:
        """Write the kept outcome rows and release the kept claims, while the database takes
        them (the first failure leaves the rest for the next call). Returns each kept row
        written now, by action id. A row whose action got an outcome meanwhile (another
        process closed it `interrupted`) is not written: it is logged, and `superseded`
        names it."""
        written: dict[str, Mapping[str, Any]] = {}
        while True:
            with self._lock:
                if not self._kept:
                    break
                policy, entry = self._kept[0]
            try:
                row = self._store.append_outcome(**entry)
            except AuditWriteError:
                self._count_write_error()
                return written
            with self._lock:
                self._kept.pop(0)
            if row is None:
                self._superseded(entry)
                continue
            log.info("audit: the late outcome of %s is recorded now", entry["action"])
            self._recorded(policy, entry)
            written[entry["action_id"]] = entry
        with self._lock:
            unreleased = sorted(self._unreleased)
        for container_id in unreleased:
            self.release(container_id)
        return written

    def awaits_record(self, action_id: str) -> bool:
        with self._lock:
            return any(entry["action_id"] == action_id for _, entry in self._kept)

    def unrecorded(self) -> list[str]:
        """The kept outcome rows not written yet, each described in one line (what an
        operator needs to record by hand if this process ends before the database
        takes them)."""
        with self._lock:
            kept = [entry for _, entry in self._kept]
        return [_described(entry) for entry in kept]

    def claim(self, container_id: str, action: str, action_id: str) -> Holder | None:
        """Claim the container across processes (`AuditStore.claim`)."""
        try:
            return self._store.claim(container_id, action, action_id)
        except AuditWriteError:
            self._count_write_error()
            raise

    def holds(self, container_id: str) -> bool:
        """Whether this process still holds the container's claim (read right before a change)."""
        try:
            return self._store.holds_claim(container_id)
        except AuditError as error:
            log.error("cannot confirm the claim on %s: %s", container_id, error)
            return False

    def release(self, container_id: str) -> None:
        """Release the claim now, or at the next `flush()` if the database refuses."""
        try:
            self._store.release_claim(container_id)
        except AuditWriteError as exc:
            self._count_write_error()
            log.warning("could not release the claim on %s yet: %s", container_id, exc)
            with self._lock:
                self._unreleased.add(container_id)
            return
        with self._lock:
            self._unreleased.discard(container_id)

    def _superseded(self, entry: dict[str, Any]) -> None:
        """An outcome row not written: its action got an outcome from another process."""
        line = _described(entry)
        log.error(
            "NOT RECORDED in the audit log: %s; another process recorded an outcome of this "
            "action meanwhile (it thought this one gone)",
            line,
        )
        with self._lock:
            self._started.discard(entry["action_id"])
            self.superseded.append(line)

    def _recorded(self, policy: str, entry: dict[str, Any]) -> None:
        with self._lock:
            if entry["outcome"] == Outcome.STARTED:
                self._started.add(entry["action_id"])
            else:
                self._started.discard(entry["action_id"])
        if self._metrics is not None and entry["outcome"] != Outcome.STARTED:
            self._metrics.action(policy, entry["action"], entry["outcome"])

    def _count_write_error(self) -> None:
        if self._metrics is not None:
            self._metrics.audit_write_error()


def _described(entry: Mapping[str, Any]) -> str:
    """A kept outcome row in one redacted line: what an operator needs to record it by hand."""
    error = f"; error: {entry['error']}" if entry.get("error") else ""
    return redact_text(
        f"{entry['action']} {entry['outcome']} of {entry.get('container_name')} "
        f"(action {entry['action_id']}): {entry.get('reason') or ''}{error}"
    )
