"""The audit store of an operator's `change` or `backup`: every row it writes names the operator.

The executor writes the command's rows: the change's, its pre-change backup's, a
backup's and its pin's, through `append` (a `started` row, an outcome of its own)
and `append_outcome` (the outcome of an action it started, also one the database
took only later). Each carries `details.operator`, the user@host who ran the
command (`startup.operator_name`, as a hold's `set_by`); the actor stays `cli`.
"""

from collections.abc import Mapping
from typing import Any

from daemon.audit import AuditLog, AuditStore
from daemon.clock import Clock

OPERATOR_DETAIL = "operator"


class OperatorStore(AuditStore):
    """An AuditStore whose appended rows carry `details.operator`."""

    operator = ""  # user@host, set by `open_for`

    @classmethod
    def open_for(
        cls, operator: str, database_url: str, instance: str, clock: Clock
    ) -> "OperatorStore":
        store = cls.open(database_url, instance, clock, role="cli")
        store.operator = operator
        return store

    def append(
        self,
        actor: str,
        action: str,
        outcome: str,
        *,
        details: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> AuditLog:
        return super().append(actor, action, outcome, details=self._named(details), **fields)

    def append_outcome(self, **row: Any) -> AuditLog | None:
        return super().append_outcome(**{**row, "details": self._named(row.get("details"))})

    def _named(self, details: Mapping[str, Any] | None) -> dict[str, Any]:
        return {**(details or {}), OPERATOR_DETAIL: self.operator}
