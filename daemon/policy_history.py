"""The audit rows each policy remembers, kept between evaluations and read incrementally.

A policy asks for its history on every evaluation (every status interval). The
rows it needs change little between two evaluations, so the first read loads the
whole window and later reads fetch only rows appended since, dropping those that
fell out of the window.
"""

from collections import deque
from collections.abc import Sequence
from datetime import datetime

from daemon.audit.record import AuditLog
from daemon.audit.store import AuditStore
from policies.base import Policy


class PolicyHistory:
    def __init__(self, store: AuditStore) -> None:
        self._store = store
        self._rows: dict[str, deque[AuditLog]] = {}

    def rows_for(self, policy: Policy, now: datetime) -> Sequence[AuditLog]:
        query = policy.history_query(now)
        rows = self._rows.get(policy.name)
        if rows is None:
            rows = deque(self._store.history(query.since, query.actors, query.actions))
            self._rows[policy.name] = rows
        else:
            last_id = rows[-1].id if rows else None
            rows.extend(
                self._store.history(query.since, query.actors, query.actions, after_id=last_id)
                if last_id is not None
                else self._store.history(query.since, query.actors, query.actions)
            )
        while rows and rows[0].at < query.since:
            rows.popleft()
        return tuple(rows)
