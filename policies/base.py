"""What every policy is: the decisions it returns, the interface it offers, whom it applies to.

Policies are the functional core: they never call the API or the database. Each
says which audit rows it needs (`history_query(now)`, a HistoryQuery: its own
window, nothing another policy needs) and folds them, one container at a time
and oldest first, into a compact state of its own (`fold(state, rows)`, pure).
The engine (daemon/policy_history.py) reads those rows, keeps each container's
state between evaluations and folds only the rows appended since, then passes
the states to `decide(snapshot, states, now)` and hands the decisions to the
executor. The executor turns each `Action` into audited API calls (through the
pre-change backup gate when `gated`), and writes each `Note` as a single audit
row with its outcome (`skipped`, `gave_up`, ...).

A policy also shows its state: `export` sets its per-container gauges and
`describe` gives a container's entry in `/status`, so the daemon needs to know
nothing about any policy in particular. Which containers a policy touches is
decided by `name_matches` on its `match` and `exclude` globs.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any, Protocol, TypeVar

from daemon.audit import AuditAction, HistoryQuery, HistoryRow, Outcome
from daemon.snapshot import Snapshot

OPERATOR = "cli"  # the actor of changes an operator makes with `stacks-opsd change`


def actor_name(policy: str) -> str:
    """The audit `actor` of a policy (`policy:auto_restart`), or `cli` for an operator."""
    return policy if policy == OPERATOR else f"policy:{policy}"


@dataclass(frozen=True)
class Action:
    """A change to make: `action` is what the audit rows are about (`container.restart`).

    Every field the executor acts on is typed here; `details` go into the audit rows
    only. `expect_status` is the container status the decision was made on: the
    change is skipped if STACKS shows another one right before the request.
    `newest_backup` is the newest completed backup the decision knew of (recorded
    when the container cannot be backed up first). `wait` (backup.create) waits for
    the backup to end. `force` lets an operator act on a status the guide does not
    name. `gated`: the change waits for a pre-change backup first.
    """

    policy: str
    action: AuditAction
    container_id: str
    container_name: str
    reason: str
    target: str | None = None
    gated: bool = True
    expect_status: str | None = None
    newest_backup: int | None = None
    wait: bool = True
    force: bool = False
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def actor(self) -> str:
        return actor_name(self.policy)


@dataclass(frozen=True)
class Note:
    """A decision that changes nothing but matters, audited as one row with `outcome`."""

    policy: str
    action: AuditAction
    container_id: str
    container_name: str
    outcome: Outcome
    reason: str
    target: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def actor(self) -> str:
        return actor_name(self.policy)


Decision = Action | Note


class PolicyGauges(Protocol):
    """Where policies publish their per-container gauges (the daemon's OpsMetrics)."""

    def set_restart_state(
        self, container_id: str, name: str, backoff_seconds: float, gave_up: bool
    ) -> None: ...

    def set_weekly_pin(self, container_id: str, name: str, timestamp: datetime) -> None: ...


State = TypeVar("State")


class Policy(Protocol[State]):
    name: str

    def history_query(self, now: datetime) -> HistoryQuery:
        """Which audit rows the state is folded from, as of `now`."""

    def fold(self, state: State | None, rows: Sequence[HistoryRow]) -> State:
        """One container's state after its `rows` (new ones, oldest first); None: no state yet.

        Pure: the same state and rows give the same result, and `state` is not changed."""

    def decide(
        self, snapshot: Snapshot, states: Mapping[str, State], now: datetime
    ) -> list[Decision]:
        """The actions and notes for this snapshot (`states` by container id); pure, never
        raises for odd data."""

    def export(
        self, snapshot: Snapshot, states: Mapping[str, State], now: datetime, gauges: PolicyGauges
    ) -> None:
        """Set the policy's gauges for every container of the snapshot that has a state."""

    def describe(self, state: State, now: datetime) -> Mapping[str, Any]:
        """One container's state for `/status` (JSON-able)."""


@lru_cache(maxsize=8192)  # every policy asks for every container at every evaluation
def name_matches(name: str, match: tuple[str, ...], exclude: tuple[str, ...]) -> bool:
    """True when `name` matches a `match` glob and no `exclude` glob (case-sensitive)."""
    if not any(fnmatchcase(name, pattern) for pattern in match):
        return False
    return not any(fnmatchcase(name, pattern) for pattern in exclude)
