"""Evaluating the policies: each one's state folded from its audit rows, then its decisions.

The runtime's step between a status poll and the executor. Policies are pure;
this is where they meet the audit history. At a policy's
first evaluation `PolicyHistory` reads its own history (its `HistoryQuery`: its
actors and actions since `since`, and the rows of its open episodes before that;
nothing another policy asks for), grouped per container and folded, oldest
first, into the policy's state. From then on one query per evaluation reads the
rows appended since the last one (by primary key: nothing older is touched);
each goes to the policies whose query asks for it, and only the containers that
got rows are folded again, from their previous state. A quiet evaluation
(nothing appended) reads one empty result and folds nothing, however long the
history.

The rows themselves are not kept, only the states (a few hundred bytes per
container and policy). Each policy's states are replaced, never changed in
place, so `/status` may read the last ones from another thread.

`evaluate` then passes each policy its states with the snapshot and `now` to its
`decide`. Nothing is decided on stale or unknown state: a snapshot whose last
status poll failed yields no decisions at all (fail closed).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from daemon.audit import AuditStore, HistoryRow
from daemon.snapshot import Snapshot
from policies import Decision, Policy, Subject

LOAD_SLICE = timedelta(days=1)
NO_STATES: Mapping[str, Any] = MappingProxyType({})


class PolicyHistory:
    """Each policy's state, folded from its audit history. `read_only`: leave the database
    as it was (`explain`): where the open episodes begin is not saved for the next start."""

    def __init__(self, store: AuditStore, *, read_only: bool = False) -> None:
        self._store = store
        self._read_only = read_only
        self._last_id: int | None = None  # every row up to this one has been folded
        self._states: dict[str, Mapping[str, Any]] = {}  # policy name -> container id -> state

    def states(
        self,
        policies: Sequence[Policy],
        now: datetime,
        subjects: Mapping[str, Subject] = NO_STATES,
    ) -> dict[str, Mapping[str, Any]]:
        """Each policy's state of every container it has rows for, by policy name.
        `subjects`: the snapshot's containers by id (their options may be overridden)."""
        if self._last_id is None:
            self._last_id = self._store.last_id()
        else:
            known = [policy for policy in policies if policy.name in self._states]
            self._catch_up(known, now, subjects)
        for policy in policies:
            if policy.name not in self._states:
                self._load(policy, now, subjects)
        return {policy.name: self._states[policy.name] for policy in policies}

    def _load(self, policy: Policy, now: datetime, subjects: Mapping[str, Subject]) -> None:
        """Fold the policy's history up to the last row read, at its first evaluation:
        its open episodes, then its window a `LOAD_SLICE` at a time, oldest first (so
        memory holds one slice of rows, never the whole window)."""
        query = policy.history_query(now)
        last = self._last_id or 0
        states: Mapping[str, Any] = NO_STATES
        if query.episode is not None:
            older = self._store.history_from_latest(
                query.episode,
                query.since,
                query.actors,
                query.actions,
                query.dry_run,
                save_mark=not self._read_only,
            )
            states = fold_rows(policy, states, (row for row in older if row.id <= last), subjects)
        start: datetime | None = query.since
        while start is not None:
            end = start + LOAD_SLICE if start + LOAD_SLICE < now else None  # the last: open
            rows = self._store.history(start, query.actors, query.actions, before=end)
            states = fold_rows(policy, states, (row for row in rows if row.id <= last), subjects)
            start = end
        self._states[policy.name] = states

    def _catch_up(
        self, policies: Sequence[Policy], now: datetime, subjects: Mapping[str, Subject]
    ) -> None:
        """Fold the rows appended since the last evaluation into the states they change."""
        new = self._store.history(after_id=self._last_id)
        if not new:
            return
        self._last_id = new[-1].id
        for policy in policies:
            query = policy.history_query(now)
            mine = [row for row in new if query.matches(row)]
            if mine:
                states = self._states[policy.name]
                self._states[policy.name] = fold_rows(policy, states, mine, subjects)


def fold_rows(
    policy: Policy,
    states: Mapping[str, Any],
    rows: Iterable[HistoryRow],
    subjects: Mapping[str, Subject] = NO_STATES,
) -> Mapping[str, Any]:
    """`states` with `rows` (oldest first) folded into the states of their containers;
    containers without rows keep their state object as it was."""
    grouped: dict[str, list[HistoryRow]] = {}
    for row in rows:
        if row.container_id is not None:
            grouped.setdefault(row.container_id, []).append(row)
    if not grouped:
        return states
    folded = dict(states)
    for container_id, group in grouped.items():
        subject = subjects.get(container_id)
        folded[container_id] = policy.fold(states.get(container_id), group, subject)
    return MappingProxyType(folded)


@dataclass(frozen=True)
class Evaluation:
    decisions: tuple[Decision, ...]
    states: Mapping[str, Mapping[str, Any]]  # policy name -> container id -> its state


NOTHING = Evaluation((), NO_STATES)  # no decisions: not due, not the leader, or fail closed


def evaluate(
    policies: Sequence[Policy], snapshot: Snapshot, history: PolicyHistory, now: datetime
) -> Evaluation:
    if not snapshot.status_ok:
        return NOTHING
    subjects = {cid: Subject.of(view) for cid, view in snapshot.containers.items()}
    states = history.states(policies, now, subjects)
    decisions: list[Decision] = []
    for policy in policies:
        decisions.extend(policy.decide(snapshot, states[policy.name], now))
    return Evaluation(tuple(decisions), states)
