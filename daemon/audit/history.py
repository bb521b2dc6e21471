"""The audit history policies read: compact typed rows, and how a policy asks for its rows.

Policies never see `AuditLog` (the SQLModel table class). The store selects the
columns a policy can use and turns each row into a `HistoryRow`: a frozen,
slotted record whose `details` JSON is parsed once into the few fields policies
read (`event`, `iso_week`, `dry_run`).

A policy describes the rows it needs with a `HistoryQuery`: its actors and
actions since a moment (the window), plus, optionally, an `Episode`: rows older
than the window that still matter because nothing has ended them yet
(auto_restart's `gave_up` lasts until a reset however old it is; weekly_pin's
pins last until it unpins them).
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from sys import intern
from typing import Any

from daemon.audit.chain import canonical_json
from daemon.audit.record import AuditLog

LOG = AuditLog.__table__

# The columns a HistoryRow is made of, in the order `history_row` reads them.
HISTORY_COLUMNS = (
    LOG.c.id,
    LOG.c.at,
    LOG.c.actor,
    LOG.c.action,
    LOG.c.outcome,
    LOG.c.action_id,
    LOG.c.container_id,
    LOG.c.target,
    LOG.c.details,
)
# How a dry run marks the notes it writes, as it appears in the stored (canonical) details.
DRY_RUN_MARK = canonical_json({"dry_run": True})[1:-1]
DETAIL_KEYS = ('"event"', '"iso_week"', '"dry_run"')  # the details a HistoryRow holds


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One audit row as policies see it (about 200 bytes, against ~3.7 KB for an AuditLog)."""

    id: int
    at: datetime
    actor: str
    action: str
    outcome: str
    action_id: str
    container_id: str | None = None
    target: str | None = None
    event: str | None = None  # details.event: what a note records ("running", "backoff", ...)
    iso_week: str | None = None  # details.iso_week: the week a weekly pin or unpin is for
    dry_run: bool = False  # details.dry_run: a note a dry run wrote

    def counts(self, dry_run: bool) -> bool:
        """Whether the row is part of what really happened, for a reader in this mode.

        A dry run's decisions (outcome `dry_run`, or a `gave_up` it marked `dry_run`) are
        never attempts, completions or give-ups once dry run is off; while it is on they
        count, so a dry run shows the backoff and pins the real run would have. What a
        dry run observed (a crash seen, a container running again) stays true either way.
        """
        decided = self.outcome == "dry_run" or (self.dry_run and self.outcome == "gave_up")
        return dry_run or not decided


def history_row(values: Sequence[Any]) -> HistoryRow:
    """A HistoryRow from the values of HISTORY_COLUMNS, its details parsed once."""
    row_id, at, actor, action, outcome, action_id, container_id, target, details = values
    event = iso_week = None
    dry_run = False
    if details and any(key in details for key in DETAIL_KEYS):  # most rows have none
        parsed = _details(details)
        event, iso_week = parsed.get("event"), parsed.get("iso_week")
        event = event if isinstance(event, str) else None
        iso_week = iso_week if isinstance(iso_week, str) else None
        dry_run = parsed.get("dry_run") is True
    return HistoryRow(
        row_id,
        at,
        intern(actor),  # a handful of names, in every row: one copy of each is kept
        intern(action),
        intern(outcome),
        action_id,
        container_id,
        target,
        event,
        iso_week,
        dry_run,
    )


def _details(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class RowKind:
    """Rows by who wrote them, about what, with which outcome."""

    actor: str
    action: str
    outcome: str


@dataclass(frozen=True)
class Episode:
    """Rows older than a window that still matter: for each `key` (the columns that name
    what the episode is about, e.g. the container), the rows from its latest `opens` row
    on, unless a `closes` row came after it. Episodes opened before `not_before` are
    forgotten. `opens` rows a dry run marked count only for a reader that dry-runs."""

    key: tuple[str, ...]
    opens: tuple[RowKind, ...]
    closes: tuple[RowKind, ...]
    not_before: datetime | None = None


@dataclass(frozen=True)
class HistoryQuery:
    """The audit rows a policy folds into its state: `actors` x `actions` since `since`,
    plus the rows of its open `episode` before that. `dry_run`: the reader dry-runs, so
    what a dry run wrote counts too."""

    since: datetime
    actors: tuple[str, ...]
    actions: tuple[str, ...]
    episode: Episode | None = None
    dry_run: bool = False

    def matches(self, row: HistoryRow) -> bool:
        """Whether a newly appended row is one this query asks for."""
        return row.actor in self.actors and row.action in self.actions
