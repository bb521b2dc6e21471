"""Audit rows, container claims and action metrics together, so every outcome is counted once.

An `AuditWriteError` is counted (`stacks_opsd_audit_write_errors_total`) and
re-raised: the caller must not go on with a change it could not record or claim.
"""

from collections.abc import Mapping
from typing import Any, Protocol

from daemon.audit.errors import AuditWriteError
from daemon.audit.liveness import Holder
from daemon.audit.record import AuditLog
from daemon.audit.store import AuditStore


class ActionMetrics(Protocol):
    """What the executor reports (daemon.exporter.ops_metrics.OpsMetrics implements it)."""

    def action(self, policy: str, action: str, outcome: str) -> None: ...

    def audit_write_error(self) -> None: ...


class AuditTrail:
    def __init__(self, store: AuditStore, metrics: ActionMetrics | None = None) -> None:
        self._store = store
        self._metrics = metrics

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
    ) -> AuditLog:
        """Append one row; outcomes other than `started` also count in the action metrics."""
        try:
            row = self._store.append(
                actor, action, outcome, action_id=action_id, details=details, **fields
            )
        except AuditWriteError:
            if self._metrics is not None:
                self._metrics.audit_write_error()
            raise
        if self._metrics is not None and outcome != "started":
            self._metrics.action(policy, action, outcome)
        return row

    def claim(self, container_id: str, action: str, action_id: str) -> Holder | None:
        """Claim the container across processes (`AuditStore.claim`)."""
        try:
            return self._store.claim(container_id, action, action_id)
        except AuditWriteError:
            if self._metrics is not None:
                self._metrics.audit_write_error()
            raise

    def release(self, container_id: str) -> None:
        self._store.release_claim(container_id)
