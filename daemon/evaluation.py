"""One evaluation: ask every policy for its decisions over the current snapshot.

PolicyHistory hands each policy its per-container state, folded from the audit
rows that policy asks for (reading only what was appended since the last
evaluation), and the engine passes it with the snapshot and `now` to the
policy's `decide`. Nothing is decided on stale or unknown state: a snapshot
whose last status poll failed yields no decisions at all (fail closed).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from daemon.policy_history import PolicyHistory
from daemon.snapshot import Snapshot
from policies import Decision, Policy


@dataclass(frozen=True)
class Evaluation:
    decisions: tuple[Decision, ...]
    states: Mapping[str, Mapping[str, Any]]  # policy name -> container id -> its state


def evaluate(
    policies: Sequence[Policy], snapshot: Snapshot, history: PolicyHistory, now: datetime
) -> Evaluation:
    if not snapshot.status_ok:
        return Evaluation((), {})
    states = history.states(policies, now)
    decisions: list[Decision] = []
    for policy in policies:
        decisions.extend(policy.decide(snapshot, states[policy.name], now))
    return Evaluation(tuple(decisions), states)
