"""One evaluation: ask every policy for its decisions over the current snapshot.

Each policy says which audit history it needs; PolicyHistory reads what was
appended since the last evaluation, and the engine hands it over with the
snapshot and `now`. Nothing is
decided on stale or unknown state: a snapshot whose last status poll failed
yields no decisions at all (fail closed).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from daemon.audit.record import AuditLog
from daemon.policy_history import PolicyHistory
from daemon.snapshot import Snapshot
from policies.base import Decision, Policy


@dataclass(frozen=True)
class Evaluation:
    decisions: tuple[Decision, ...]
    histories: dict[str, Sequence[AuditLog]]


def evaluate(
    policies: Sequence[Policy], snapshot: Snapshot, history: PolicyHistory, now: datetime
) -> Evaluation:
    if not snapshot.status_ok:
        return Evaluation((), {})
    decisions: list[Decision] = []
    histories: dict[str, Sequence[AuditLog]] = {}
    for policy in policies:
        rows = history.rows_for(policy, now)
        histories[policy.name] = rows
        decisions.extend(policy.decide(snapshot, rows, now))
    return Evaluation(tuple(decisions), histories)
