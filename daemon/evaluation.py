"""One evaluation: ask every policy for its decisions over the current snapshot.

Each policy says which audit history it needs; PolicyHistory reads, in one
query, what was appended since the last evaluation, and the engine hands each
policy its window with the snapshot and `now`. Nothing is
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
    histories: dict[str, Sequence[AuditLog]] = dict(history.windows(policies, now))
    decisions: list[Decision] = []
    for policy in policies:
        decisions.extend(policy.decide(snapshot, histories[policy.name], now))
    return Evaluation(tuple(decisions), histories)
