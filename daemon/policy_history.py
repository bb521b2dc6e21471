"""The audit rows the policies remember, kept between evaluations and read incrementally.

Every evaluation (each status interval) needs each policy's window of history.
Those windows change little between two evaluations, so one query per
evaluation reads only the rows appended since the last one (ids grow in commit
order: appends are serialised by the audit head lock), matching any policy's
actors and actions; each policy then gets its own window, filtered in memory,
with rows that fell out of every window dropped.

A policy may also ask for a container's rows from its latest row with a given
outcome on, however old (`HistoryQuery.since_latest`): auto_restart's `gave_up`
lasts until a reset. Those rows are read once at start and kept while they are
the container's latest such episode.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime

from daemon.audit.record import AuditLog
from daemon.audit.store import AuditStore
from policies.base import HistoryQuery, Policy


class PolicyHistory:
    def __init__(self, store: AuditStore) -> None:
        self._store = store
        self._rows: list[AuditLog] = []
        self._last_id: int | None = None
        self._latest: dict[tuple[str, str], int] = {}  # (outcome, container) -> its latest row id

    def windows(self, policies: Sequence[Policy], now: datetime) -> dict[str, tuple[AuditLog, ...]]:
        """Each policy's history as of `now`, by policy name."""
        queries = {policy.name: policy.history_query(now) for policy in policies}
        if not queries:
            return {}
        since = min(query.since for query in queries.values())
        actors = _union(query.actors for query in queries.values())
        actions = _union(query.actions for query in queries.values())
        outcomes = {query.since_latest for query in queries.values()} - {None}
        if self._last_id is None:
            for outcome in sorted(outcomes):
                self._add(self._store.history_from_latest(outcome, since, actors, actions))
        new = self._store.history(since, actors=actors, actions=actions, after_id=self._last_id)
        self._add(new)
        if self._last_id is None:
            by_id = {row.id: row for row in self._rows}
            self._rows = [by_id[key] for key in sorted(by_id, key=lambda key: key or 0)]
        if self._rows:
            self._last_id = max(self._last_id or 0, self._rows[-1].id or 0)
        else:
            self._last_id = self._last_id or 0
        self._rows = [row for row in self._rows if row.at >= since or self._kept(row, outcomes)]
        return {name: self._window(query) for name, query in queries.items()}

    def _add(self, rows: list[AuditLog]) -> None:
        for row in rows:
            if row.container_id is not None:
                key = (row.outcome, row.container_id)
                self._latest[key] = max(self._latest.get(key, 0), row.id or 0)
        self._rows.extend(rows)

    def _kept(self, row: AuditLog, outcomes: set[str | None]) -> bool:
        """An old row kept because it belongs to its container's latest episode."""
        if row.container_id is None:
            return False
        return any(
            (row.id or 0) >= self._latest.get((outcome, row.container_id), 1 << 62)
            for outcome in outcomes
            if outcome is not None
        )

    def _window(self, query: HistoryQuery) -> tuple[AuditLog, ...]:
        outcomes = {query.since_latest}
        return tuple(
            row
            for row in self._rows
            if (row.at >= query.since or self._kept(row, outcomes))
            and (query.actors is None or row.actor in query.actors)
            and (query.actions is None or row.action in query.actions)
        )


def _union(parts: Iterable[tuple[str, ...] | None]) -> tuple[str, ...] | None:
    """All names any query asks for; None (no filter) if one of them asks for all."""
    names: set[str] = set()
    for part in parts:
        if part is None:
            return None
        names.update(part)
    return tuple(sorted(names))
