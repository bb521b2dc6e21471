"""The policy interface: what a policy reads, what it asks of the audit history, what it returns.

Policies never call the API or the database. The engine fetches the audit rows
each policy's `history_query(now)` asks for (one query per policy and
evaluation), passes them to `decide(snapshot, history, now)`, and hands the
result to the executor. The executor turns each `Action` into audited API calls
(through the pre-change backup gate when `gated`), and writes each `Note` as a
single audit row with its outcome (`skipped`, `gave_up`, ...).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from daemon.audit.record import AuditLog
from daemon.snapshot import Snapshot

OPERATOR = "cli"  # the actor of changes an operator makes with `stacks-opsd change`


def actor_name(policy: str) -> str:
    """The audit `actor` of a policy (`policy:auto_restart`), or `cli` for an operator."""
    return policy if policy == OPERATOR else f"policy:{policy}"


@dataclass(frozen=True)
class Action:
    """A change to make: `action` is an audit action name such as `container.restart`.

    `expect_status` is the container status the decision was made on: the change is
    skipped if STACKS shows another one right before the request. `newest_backup`
    is the newest completed backup the decision knew of (recorded when the container
    cannot be backed up first). `wait` (backup.create) waits for the backup to end.
    `force` lets an operator act on a status the guide does not name. `details` go
    into the audit rows only.
    """

    policy: str
    action: str
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
    """A decision that changes nothing but matters, audited with `outcome`."""

    policy: str
    action: str
    container_id: str
    container_name: str
    outcome: str
    reason: str
    target: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def actor(self) -> str:
        return actor_name(self.policy)


Decision = Action | Note


@dataclass(frozen=True)
class HistoryQuery:
    """The audit rows a policy needs: `store.history(since, actors=..., actions=...)`.

    With `since_latest` (an outcome), a container's rows from its latest row with that
    outcome on are kept too, however old (auto_restart's `gave_up` lasts until a reset).
    """

    since: datetime
    actors: tuple[str, ...] | None = None
    actions: tuple[str, ...] | None = None
    since_latest: str | None = None


class Policy(Protocol):
    name: str

    def history_query(self, now: datetime) -> HistoryQuery:
        """Which audit rows `decide` needs, as of `now`."""

    def decide(
        self, snapshot: Snapshot, history: Sequence[AuditLog], now: datetime
    ) -> list[Decision]:
        """The actions and notes for this snapshot; pure, never raises for odd data."""
