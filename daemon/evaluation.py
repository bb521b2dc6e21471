"""One evaluation: ask every policy for its decisions over the current snapshot.

Each policy says which audit history it needs; the engine fetches exactly that
once per policy and hands it over with the snapshot and `now`. Nothing is
decided on stale or unknown state: a snapshot whose last status poll failed
yields no decisions at all (fail closed).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from daemon.audit.record import AuditLog
from daemon.audit.store import AuditStore
from daemon.snapshot import Snapshot
from policies.base import Decision, Policy


@dataclass(frozen=True)
class Evaluation:
    decisions: tuple[Decision, ...]
    histories: dict[str, Sequence[AuditLog]]


def evaluate(
    policies: Sequence[Policy], snapshot: Snapshot, store: AuditStore, now: datetime
) -> Evaluation:
    if not snapshot.status_ok:
        return Evaluation((), {})
    decisions: list[Decision] = []
    histories: dict[str, Sequence[AuditLog]] = {}
    for policy in policies:
        query = policy.history_query(now)
        history = store.history(query.since, actors=query.actors, actions=query.actions)
        histories[policy.name] = history
        decisions.extend(policy.decide(snapshot, history, now))
    return Evaluation(tuple(decisions), histories)
