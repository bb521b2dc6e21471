"""The audit history policies read: compact typed rows, how a policy asks for them, the SQL.

Policies never see `AuditLog` (the SQLModel table class). The store selects the
columns a policy can use and turns each row into a `HistoryRow`: a frozen,
slotted record whose `details` JSON is parsed once into the few fields policies
read (`event`, `iso_week`, `dry_run`).

A policy describes the rows it needs with a `HistoryQuery`: its actors and
actions since a moment (the window), plus, optionally, an `Episode`: rows older
than the window that still matter because nothing has ended them yet
(auto_restart's `gave_up` lasts until a reset however old it is; weekly_pin's
pins last until it unpins them).

The statements select only the columns of a HistoryRow and are served by the
history indexes of schema.py: a window by (`actor`, `action`, `at`), the rows of
one container by (`container_id`, `at`, and the row's kind), each container's latest opening of an
episode by (`actor`, `action`, `outcome`, `at`), and the rows appended
since the last evaluation by the primary key.

What a dry run decided (its `dry_run` rows, the `gave_up` it marked) never counts
for a reader that acts for real; what it observed always does. That one rule is
written twice here, for rows in memory (`HistoryRow.counts`) and in SQL
(`_counting`): change both together. So is which rows a `RowKind` names
(`RowKind.matches`, `of_kinds`).
"""

import hashlib
import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import astuple, dataclass, replace
from datetime import datetime
from sys import intern
from typing import Any, NamedTuple

from sqlalchemy import (
    CTE,
    ColumnElement,
    Select,
    Subquery,
    and_,
    case,
    func,
    or_,
    select,
    union_all,
)

from daemon.audit.chain import canonical_json
from daemon.audit.schema import LOG, Outcome

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
# The `details` keys a HistoryRow holds, and each as it appears in the stored (canonical) JSON.
EVENT_DETAIL, ISO_WEEK_DETAIL, DRY_RUN_DETAIL = "event", "iso_week", "dry_run"
DETAIL_KEYS = tuple(canonical_json(key) for key in (EVENT_DETAIL, ISO_WEEK_DETAIL, DRY_RUN_DETAIL))


def detail_text(key: str, value: Any) -> str:
    """A `details` entry as it appears in the stored (canonical) JSON, to match as text."""
    return canonical_json({key: value})[1:-1]


# How a dry run marks the notes it writes, as it appears in the stored details.
DRY_RUN_MARK = detail_text(DRY_RUN_DETAIL, True)


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
        decided = self.outcome == Outcome.DRY_RUN or (
            self.dry_run and self.outcome == Outcome.GAVE_UP
        )
        return dry_run or not decided


def history_row(values: Sequence[Any]) -> HistoryRow:
    """A HistoryRow from the values of HISTORY_COLUMNS, its details parsed once."""
    row_id, at, actor, action, outcome, action_id, container_id, target, details = values
    event = iso_week = None
    dry_run = False
    if details and any(key in details for key in DETAIL_KEYS):  # most rows have none
        parsed = details_object(details)
        event, iso_week = parsed.get(EVENT_DETAIL), parsed.get(ISO_WEEK_DETAIL)
        event = event if isinstance(event, str) else None
        iso_week = iso_week if isinstance(iso_week, str) else None
        dry_run = parsed.get(DRY_RUN_DETAIL) is True
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


def details_object(text: str | None) -> dict[str, Any]:
    """A row's `details` JSON as an object: {} when there is none, or it is not one."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class RowKind:
    """Rows by who wrote them (None: anyone), about what (None: any action), with which
    outcome, and optionally which `details.event` (a note's: weekly_pin's
    "lost_pin_absent")."""

    actor: str | None
    action: str | None
    outcome: str
    event: str | None = None

    @property
    def declared(self) -> list[str | None]:
        """The kind as an episode's declaration names it (no event: as before events)."""
        return [*astuple(self)[:3], *([self.event] if self.event is not None else [])]

    def matches(self, actor: str, action: str, outcome: str, event: str | None) -> bool:
        """Whether a row of these values is of this kind."""
        return (
            outcome == self.outcome
            and (self.actor is None or actor == self.actor)
            and (self.action is None or action == self.action)
            and (self.event is None or event == self.event)
        )


class Opening(NamedTuple):
    """The row that opened an episode: its id and time."""

    id: int
    at: datetime


@dataclass(frozen=True)
class Episode:
    """Rows older than a window that still matter: for each `key` (the columns that name
    what the episode is about, e.g. the container), the rows from its latest `opens` row
    on, unless a `closes` row came after it. Episodes opened before `not_before` are
    forgotten. `opens` rows a dry run marked count only for a reader that dry-runs.
    Where a start reads them from is the episode's mark (episode_marks.py); `listed`
    holds the ids of the openings before `not_before` that were open when the mark was
    saved (the mark of an episode `of_container` lists them): they are read by id."""

    key: tuple[str, ...]
    opens: tuple[RowKind, ...]
    closes: tuple[RowKind, ...]
    not_before: datetime | None = None
    listed: tuple[int, ...] = ()

    @property
    def of_container(self) -> bool:
        """Whether it is an episode of a container (auto_restart's `gave_up`), not of a finer
        key: at most one per container is open, so its mark lists the open ones
        (episode_marks.py), a list bounded by the fleet however long the history."""
        return self.key == ("container_id",)

    def mark_name(self, dry_run: bool) -> str:
        """The name of this episode's mark (episode_marks.py): its declaration (not the
        moving `not_before`) and whether the reader dry-runs, which counts other openings.
        A mark that lists its open episodes is named apart: a version that does not read
        the list must not take it for a mark that does not need one."""
        declared = canonical_json(
            {
                "key": list(self.key),
                "opens": [kind.declared for kind in self.opens],
                "closes": [kind.declared for kind in self.closes],
                "dry_run": dry_run,
                **({"lists_open": True} if self.of_container else {}),
            }
        )
        first = self.opens[0]
        digest = hashlib.sha256(declared.encode()).hexdigest()[:16]
        return f"{first.actor} {first.action} {first.outcome} {digest}"

    def opened_by(self, row: HistoryRow, dry_run: bool) -> bool:
        """Whether `row` opens this episode, for a reader in this mode."""
        return row.counts(dry_run) and any(
            kind.matches(row.actor, row.action, row.outcome, row.event) for kind in self.opens
        )

    def from_mark(self, closed_before: datetime, still_open: Iterable[Opening] = ()) -> "Episode":
        """The same episode, read from a mark that holds for it (`Mark.covers`): every one
        opened before `closed_before`, and not forgotten, is closed, but those opened by
        the rows `still_open` (the mark of an episode `of_container` lists them)."""
        if self.not_before is not None and self.not_before >= closed_before:
            return self
        remembered = self.not_before
        listed = tuple(
            opening.id
            for opening in still_open
            if opening.at < closed_before and (remembered is None or opening.at >= remembered)
        )
        return replace(self, not_before=closed_before, listed=listed)


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


def history_statement(
    since: datetime | None = None,
    actors: Iterable[str] | None = None,
    actions: Iterable[str] | None = None,
    container_ids: Collection[str] | None = None,
    after_id: int | None = None,
    before: datetime | None = None,
    outcomes: Iterable[str] | None = None,
) -> Select:
    """HistoryRow columns of the rows at or after `since` and before `before` (and after
    row `after_id`), optionally only these actors/actions/containers/outcomes, oldest
    first."""
    statement = select(*HISTORY_COLUMNS)
    if since is not None:
        statement = statement.where(LOG.c.at >= since)
    if before is not None:
        statement = statement.where(LOG.c.at < before)
    if after_id is not None:
        statement = statement.where(LOG.c.id > after_id)
    by_kind = container_ids is None  # a few containers: by the container index
    if actors is not None:
        statement = statement.where(kind_column(LOG, "actor", by_kind).in_(list(actors)))
    if actions is not None:
        statement = statement.where(kind_column(LOG, "action", by_kind).in_(list(actions)))
    if container_ids is not None:
        statement = statement.where(LOG.c.container_id.in_(list(container_ids)))
    if outcomes is not None:
        statement = statement.where(LOG.c.outcome.in_(list(outcomes)))
    return statement.order_by(LOG.c.id)


def rows_statement(ids: Collection[int]) -> Select:
    """HistoryRow columns of the rows of these ids, oldest first."""
    return select(*HISTORY_COLUMNS).where(LOG.c.id.in_(list(ids))).order_by(LOG.c.id)


def from_latest_statement(
    episode: Episode,
    before: datetime,
    actors: Iterable[str],
    actions: Iterable[str],
    dry_run: bool = False,
    container_ids: Collection[str] | None = None,
) -> Select:
    """HistoryRow columns of the rows before `before` of every open `episode` (only those of
    `container_ids`, if given), oldest first.

    The episodes still open are found as the indexes make it cheap:

    - an episode of a container (auto_restart's `gave_up`: rare openings, frequent
      closings anywhere after them) by its latest opening row (the outcome index:
      only the openings are read) and whether any closing row follows it, in that
      container's rows (the container index, stopping at the first); its rows are
      read from the opening on, there too;
    - an episode of a finer key (weekly_pin's pin of a backup: one closing per
      opening) in one scan of the policy's rows (the history index, or the container
      index for a few containers): per key its latest opening or closing row, and its
      latest row before `before`. Where the former opens the episode before `before`,
      it is read by its id, and only the few episodes with rows after the opening are
      read from the container index.
    """
    actors, actions = list(actors), list(actions)
    ids = None if container_ids is None else list(container_ids)
    if not episode.of_container:
        opened = _open_per_key(episode, before, actors, actions, dry_run, ids)
        return _per_key_rows(opened, episode, before, actors, actions)
    opened = _open_per_container(episode, before, dry_run, ids)
    joined = LOG.join(
        opened,
        and_(
            LOG.c.container_id == opened.c.container_id,
            LOG.c.at >= opened.c.at,
            LOG.c.id >= opened.c.id,
        ),
    )
    return (
        select(*HISTORY_COLUMNS)
        .select_from(joined)
        .where(LOG.c.at < before, LOG.c.actor.in_(actors), LOG.c.action.in_(actions))
        .order_by(LOG.c.id)
    )


def openings_statement(
    episode: Episode,
    before: datetime,
    actors: Iterable[str],
    actions: Iterable[str],
    dry_run: bool = False,
) -> Select:
    """The opening (id, at) of each `episode` still open before `before`, earliest first:
    what `from_latest_statement` would find of the openings, without reading their rows."""
    actors, actions = list(actors), list(actions)
    if not episode.of_container:
        opened = _open_per_key(episode, before, actors, actions, dry_run, None)
    else:
        opened = _open_per_container(episode, before, dry_run, None)
    return select(opened.c.id, opened.c.at).order_by(opened.c.at, opened.c.id)


def _open_per_container(
    episode: Episode, before: datetime, dry_run: bool, container_ids: list[str] | None
) -> Subquery:
    """Each container's latest opening row before `before` that no closing row follows:
    of the openings from `not_before` on (the outcome index), and of those `listed` (by id)."""
    by_kind = container_ids is None  # a few containers: by the container index
    of_containers = [] if container_ids is None else [LOG.c.container_id.in_(container_ids)]
    latest = (
        select(LOG.c.container_id, func.max(LOG.c.id).label("latest_id"))
        .where(
            of_kinds(LOG, episode.opens, by_kind=by_kind),
            *_counting(LOG, dry_run, episode.not_before),
            *of_containers,
        )
        .group_by(LOG.c.container_id)
    )
    if episode.listed:
        listed = select(LOG.c.container_id, LOG.c.id).where(
            LOG.c.id.in_(episode.listed),
            of_kinds(LOG, episode.opens, by_kind=False),
            *_counting(LOG, dry_run),
            *of_containers,
        )
        both = union_all(latest, listed).subquery("openings")
        latest = select(both.c.container_id, func.max(both.c.latest_id).label("latest_id"))
        latest = latest.group_by(both.c.container_id)
    latest = latest.subquery("latest")
    opening, closing = LOG.alias("opening"), LOG.alias("closing")
    closed = select(closing.c.id).where(
        closing.c.container_id == opening.c.container_id,
        closing.c.at >= opening.c.at,
        closing.c.id > opening.c.id,
        of_kinds(closing, episode.closes),
        *_counting(closing, dry_run),  # any time after the opening: a listed one is older
    )
    return (
        select(opening.c.id, opening.c.at, opening.c.container_id)
        .join(latest, opening.c.id == latest.c.latest_id)
        .where(opening.c.at < before, ~closed.exists())
        .subquery("opened")
    )


def _open_per_key(
    episode: Episode,
    before: datetime,
    actors: list[str],
    actions: list[str],
    dry_run: bool,
    container_ids: list[str] | None,
) -> CTE:
    """Each key's opening row before `before` that no closing row follows, and whether
    other rows (`followed`) came after it before `before`."""
    key = [LOG.c[name] for name in episode.key]
    marks = and_(of_kinds(LOG, (*episode.opens, *episode.closes)), *_counting(LOG, dry_run))
    by_kind = container_ids is None  # a few containers: by the container index
    latest = select(
        *key,
        func.max(case((marks, LOG.c.id))).label("latest_id"),  # the latest opening or closing
        func.max(case((LOG.c.at < before, LOG.c.id))).label("last_id"),  # its latest row before
    ).where(
        kind_column(LOG, "actor", by_kind).in_(actors),
        kind_column(LOG, "action", by_kind).in_(actions),
    )
    if episode.not_before is not None:
        latest = latest.where(LOG.c.at >= episode.not_before)
    if container_ids is not None:
        latest = latest.where(LOG.c.container_id.in_(container_ids))
    latest = latest.group_by(*key).subquery("latest")
    opening = LOG.alias("opening")
    return (
        select(
            opening.c.id,
            opening.c.at,
            *(opening.c[name] for name in episode.key),
            (latest.c.last_id > opening.c.id).label("followed"),
        )
        .join(latest, opening.c.id == latest.c.latest_id)
        .where(of_kinds(opening, episode.opens), opening.c.at < before)
        .cte("opened")
    )


def _per_key_rows(
    opened: CTE, episode: Episode, before: datetime, actors: list[str], actions: list[str]
) -> Select:
    """The rows of each key's open episode: the opening alone by id, or with what
    followed it from the container index."""
    alone = select(*HISTORY_COLUMNS).join(opened, LOG.c.id == opened.c.id).where(~opened.c.followed)
    same_key = [LOG.c[name] == opened.c[name] for name in episode.key]
    followed = (
        select(*HISTORY_COLUMNS)
        .select_from(LOG.join(opened, and_(*same_key, LOG.c.at >= opened.c.at)))
        .where(
            opened.c.followed,
            LOG.c.id >= opened.c.id,
            LOG.c.at < before,
            LOG.c.actor.in_(actors),
            LOG.c.action.in_(actions),
        )
    )
    rows = union_all(alone, followed).subquery("rows")
    return select(rows).order_by(rows.c.id)


def _counting(
    table, dry_run: bool, not_before: datetime | None = None
) -> list[ColumnElement[bool]]:
    """The conditions of the rows that count: from `not_before` on, and for a live reader
    nothing a dry run decided (its `dry_run` rows, the `gave_up` it marked); what it
    observed counts (`HistoryRow.counts`)."""
    conditions = []
    if not_before is not None:
        conditions.append(table.c.at >= not_before)
    if not dry_run:
        marked = table.c.details.contains(DRY_RUN_MARK, autoescape=True)
        conditions += [
            table.c.outcome != Outcome.DRY_RUN,
            or_(table.c.outcome != Outcome.GAVE_UP, table.c.details.is_(None), ~marked),
        ]
    return conditions


def of_kinds(
    table, kinds: Iterable[RowKind], *, by_outcome: bool = True, by_kind: bool = True
) -> ColumnElement[bool]:
    """The rows of `table` of any of `kinds` (`RowKind.matches` in SQL). `by_outcome`
    False keeps the outcome index out of the plan, for a caller whose own index (one
    container's rows) is narrower than every row of an outcome; `by_kind` False keeps
    every index on a kind out of it (`kind_column`)."""
    return or_(*(_of_kind(table, kind, by_outcome and by_kind, by_kind) for kind in kinds))


def kind_column(table, name: str, by_kind: bool = True) -> ColumnElement[str]:
    """`actor`, `action` or `outcome` of `table` as a condition uses it. `by_kind` False: as
    an expression no index serves, for a read of a few containers (SQLite, with no
    statistics, would otherwise scan a policy's rows of every container by the
    (`actor`, `action`, `at`) index; the container index holds the kind of each row)."""
    column = table.c[name]
    return column if by_kind else column + ""


def _of_kind(table, kind: RowKind, by_outcome: bool, by_kind: bool) -> ColumnElement[bool]:
    conditions = [kind_column(table, "outcome", by_outcome) == kind.outcome]
    if kind.actor is not None:
        conditions.append(kind_column(table, "actor", by_kind) == kind.actor)
    if kind.action is not None:
        conditions.append(kind_column(table, "action", by_kind) == kind.action)
    if kind.event is not None:
        event = detail_text(EVENT_DETAIL, kind.event)
        conditions.append(table.c.details.contains(event, autoescape=True))
    return and_(*conditions)
