"""The audit rows the policies remember, kept between evaluations and read incrementally.

Every evaluation (each status interval) needs each policy's window of history.
Those windows change little between two evaluations, so one query per
evaluation reads only the rows appended since the last one (ids grow in commit
order: appends are serialised by the audit head lock), matching any policy's
actors and actions; each policy then gets its own window, filtered in memory,
with rows that fell out of every window dropped.
"""

from collections import deque
from collections.abc import Iterable, Sequence
from datetime import datetime

from daemon.audit.record import AuditLog
from daemon.audit.store import AuditStore
from policies.base import HistoryQuery, Policy


class PolicyHistory:
    def __init__(self, store: AuditStore) -> None:
        self._store = store
        self._rows: deque[AuditLog] = deque()
        self._last_id: int | None = None

    def windows(self, policies: Sequence[Policy], now: datetime) -> dict[str, tuple[AuditLog, ...]]:
        """Each policy's history as of `now`, by policy name."""
        queries = {policy.name: policy.history_query(now) for policy in policies}
        if not queries:
            return {}
        since = min(query.since for query in queries.values())
        actors = _union(query.actors for query in queries.values())
        actions = _union(query.actions for query in queries.values())
        self._rows.extend(
            self._store.history(since, actors=actors, actions=actions, after_id=self._last_id)
        )
        if self._rows:
            self._last_id = self._rows[-1].id
        while self._rows and self._rows[0].at < since:
            self._rows.popleft()
        return {name: _window(self._rows, query) for name, query in queries.items()}


def _union(parts: Iterable[tuple[str, ...] | None]) -> tuple[str, ...] | None:
    """All names any query asks for; None (no filter) if one of them asks for all."""
    names: set[str] = set()
    for part in parts:
        if part is None:
            return None
        names.update(part)
    return tuple(sorted(names))


def _window(rows: Iterable[AuditLog], query: HistoryQuery) -> tuple[AuditLog, ...]:
    return tuple(
        row
        for row in rows
        if row.at >= query.since
        and (query.actors is None or row.actor in query.actors)
        and (query.actions is None or row.action in query.actions)
    )
