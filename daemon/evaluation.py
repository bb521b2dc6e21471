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

A policy that can decide nothing about a container until something is known of
it (`Policy.state_needed`: weekly_pin, until the container's backup list is read)
has its history read container by container instead, by the container index: at
its first evaluation only the containers it needs (none, at a start: no list is
read yet); at each later one, the containers that turned needed, and
`WARM_UP_CONTAINERS` more, so every state (and the gauges and `/status` made of
it) is back within one evaluation per hundred containers (ten at 1,000), sooner
where lists are read. Once an evaluation has read every container (`once`: its
only one, its lists read), the policy's episode mark moves
(`AuditStore.advance_mark`) as a read of them all would have moved it. Every
policy's mark moves again each `MARK_EVERY` (a day) while the daemon runs, so the
next start reads from a recent mark however long this run lasted. So a
start's first evaluation reads what its decisions need (auto_restart's: the
crashes that came while no daemon ran), however many pins a year of history
holds. The rows appended meanwhile are folded only into the states already read;
the others find them in the database when their turn comes.

The rows themselves are not kept, only the states (a few hundred bytes per
container and policy). Each policy's states are replaced, never changed in
place, so `/status` may read the last ones from another thread.

`evaluate` then passes each policy its states with the snapshot and `now` to its
`decide`. Nothing is decided on stale or unknown state: a snapshot whose last
status poll failed yields no decisions at all (fail closed).
"""

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from daemon.audit import AuditBusyError, AuditError, AuditStore, HistoryRow
from daemon.snapshot import ContainerView, Snapshot
from policies import Decision, Policy, Subject

log = logging.getLogger(__name__)

LOAD_SLICE = timedelta(days=1)
LOAD_CONTAINERS = 500  # containers whose history one read of a `state_needed` policy names
WARM_UP_CONTAINERS = 100  # read besides the needed ones at each evaluation after the first
MARK_EVERY = timedelta(days=1)  # how often a running daemon moves its policies' episode marks
NO_STATES: Mapping[str, Any] = MappingProxyType({})


class PolicyHistory:
    """Each policy's state, folded from its audit history. `read_only`: leave the database
    as it was (`explain`): where the open episodes begin is not saved for the next start."""

    def __init__(self, store: AuditStore, *, read_only: bool = False) -> None:
        self._store = store
        self._read_only = read_only
        self._last_id: int | None = None  # every row up to this one has been folded
        self._states: dict[str, Mapping[str, Any]] = {}  # policy name -> container id -> state
        # Policies read container by container: the containers whose history was read.
        self._read_for: dict[str, set[str]] = {}
        # When each policy's episode mark moves next (a `state_needed` policy's: once
        # every container is read, too).
        self._mark_due: dict[str, datetime] = {}

    def states(
        self,
        policies: Sequence[Policy],
        now: datetime,
        views: Mapping[str, ContainerView] = NO_STATES,
    ) -> dict[str, Mapping[str, Any]]:
        """Each policy's state of every container it has rows for (a `state_needed`
        policy: of those read so far), by policy name. `views`: the snapshot's containers
        by id (their options may be overridden; `state_needed` looks at them)."""
        subjects = {cid: Subject.of(view) for cid, view in views.items()}
        if self._last_id is None:
            self._last_id = self._store.last_id()
        else:
            known = [policy for policy in policies if policy.name in self._states]
            self._catch_up(known, now, subjects)
        for policy in policies:
            first = policy.name not in self._states
            if first:
                self._load(policy, now, subjects)
            all_read = True
            if policy.state_needed is not None:
                all_read = self._load_needed(policy, now, views, subjects, first)
            due = self._mark_due.get(policy.name)
            if due is not None and now >= due and all_read:
                self._advance_mark(policy, now)
        return {policy.name: self._states[policy.name] for policy in policies}

    def _load(self, policy: Policy, now: datetime, subjects: Mapping[str, Subject]) -> None:
        """Fold the policy's history up to the last row read, at its first evaluation:
        its open episodes, then its window a `LOAD_SLICE` at a time, oldest first (so
        memory holds one slice of rows, never the whole window). A `state_needed` policy
        reads nothing here: `_load_needed` reads it container by container."""
        query = policy.history_query(now)
        last = self._last_id or 0
        states: Mapping[str, Any] = NO_STATES
        if query.episode is not None and not self._read_only:
            # The read below saves the mark; a `state_needed` policy's moves once all is read.
            later = MARK_EVERY if policy.state_needed is None else timedelta(0)
            self._mark_due[policy.name] = now + later
        if policy.state_needed is not None:
            self._read_for[policy.name] = set()
            self._states[policy.name] = states
            return
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

    def _load_needed(
        self,
        policy: Policy,
        now: datetime,
        views: Mapping[str, ContainerView],
        subjects: Mapping[str, Subject],
        first: bool,
    ) -> bool:
        """Fold the history, up to the last row read, of the containers the policy needs
        now and has not read yet, and after its `first` evaluation of up to
        `WARM_UP_CONTAINERS` more (so every state, and its gauges, comes back): their
        open episodes, then their window. The latter wait for no write the store is busy
        with (it may be waiting out another process's lock): they are read at a later
        evaluation then. Whether every container is read now."""
        needed = policy.state_needed
        read = self._read_for[policy.name]
        # Once every container is read (nearly every evaluation), one set comparison.
        unread = [] if views.keys() <= read else [cid for cid in views if cid not in read]
        wanted = [cid for cid in unread if needed(views[cid])]
        if wanted:
            self._read_containers(policy, now, wanted, subjects)
        if not first:
            chosen = set(wanted)
            more = [cid for cid in unread if cid not in chosen][:WARM_UP_CONTAINERS]
            try:
                self._read_containers(policy, now, more, subjects, wait=False)
            except AuditError as error:  # what the decisions need is read: they go on
                if not isinstance(error, AuditBusyError):
                    log.warning("%s: containers not read yet: %s", policy.name, error)
                return False
            wanted += more
        return len(wanted) == len(unread)

    def _read_containers(
        self,
        policy: Policy,
        now: datetime,
        wanted: list[str],
        subjects: Mapping[str, Subject],
        wait: bool = True,
    ) -> None:
        """Fold the open episodes, then the window, of the `wanted` containers, a
        `LOAD_CONTAINERS` at a time."""
        query = policy.history_query(now)
        last = self._last_id or 0
        read, states = self._read_for[policy.name], self._states[policy.name]
        for start in range(0, len(wanted), LOAD_CONTAINERS):
            chunk = wanted[start : start + LOAD_CONTAINERS]
            rows: list[HistoryRow] = []
            if query.episode is not None:
                rows += self._store.history_from_latest(
                    query.episode,
                    query.since,
                    query.actors,
                    query.actions,
                    query.dry_run,
                    container_ids=chunk,
                    wait=wait,
                )
            rows += self._store.history(query.since, query.actors, query.actions, chunk, wait=wait)
            states = fold_rows(policy, states, (row for row in rows if row.id <= last), subjects)
            self._states[policy.name] = states  # kept before they count as read: a read of
            read.update(chunk)  # the next chunk may fail, and these are not read again

    def _advance_mark(self, policy: Policy, now: datetime) -> None:
        """Move the policy's episode mark, as a read of every container's open episodes
        would, and again `MARK_EVERY` later. Only the next start needs it, so it waits
        for no write: while the store is busy with one it is tried at the next
        evaluation; if the database refuses it (it is logged), the next start reads from
        the older mark, which stays true. Its read makes that evaluation longer once a day
        (weekly_pin's at 1M audit rows: about 80 ms)."""
        query = policy.history_query(now)
        if query.episode is not None:
            try:
                self._store.advance_mark(
                    query.episode, query.since, query.actors, query.actions, query.dry_run
                )
            except AuditBusyError:
                return
            except AuditError as error:
                log.warning("the episode mark of %s was not moved: %s", policy.name, error)
        self._mark_due[policy.name] = now + MARK_EVERY

    def _catch_up(
        self, policies: Sequence[Policy], now: datetime, subjects: Mapping[str, Subject]
    ) -> None:
        """Fold the rows appended since the last evaluation into the states they change
        (of a `state_needed` policy, only those already read)."""
        new = self._store.history(after_id=self._last_id)
        if not new:
            return
        self._last_id = new[-1].id
        for policy in policies:
            query = policy.history_query(now)
            read = self._read_for.get(policy.name)
            mine = [
                row
                for row in new
                if query.matches(row) and (read is None or row.container_id in read)
            ]
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
    states = history.states(policies, now, snapshot.containers)
    decisions: list[Decision] = []
    for policy in policies:
        decisions.extend(policy.decide(snapshot, states[policy.name], now))
    return Evaluation(tuple(decisions), states)
