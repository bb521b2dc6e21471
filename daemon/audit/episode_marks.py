"""Where a start may begin reading a policy's open episodes: one mark per episode.

An `Episode` (history.py) is rows older than a policy's window that still
matter, from an opening row until a closing row. To find the open ones, a start
reads the policy's openings and closings over its whole horizon (weekly_pin's is
60 weeks): that read grows with the history, not with what it finds. But the log
is append-only and every row is written at its writer's present, so once every
episode opened in a stretch of time is closed, it stays so. The store keeps that
stretch per episode (`Mark`): from `read_from` (the `not_before` of the read that
found it; None: the first row) to `closed_before`, the earliest opening of the
episodes the read found open (or the start of its window, if none was), less
`SKEW_ALLOWANCE` for rows written later by an instance whose clock is behind.
The next start reads from there, so its read holds the episodes still open and
what came after them, however long the history.

A mark holds only for a read that forgets at least as much (`Mark.covers`): a
policy whose horizon grew (a larger `keep_weeks`) reads its whole horizon again.
It is named by the episode's declaration and whether the reader dry-runs
(`Episode.mark_name`). Any mark found this way stays true, so two instances may
overwrite each other's. Marks move only when a policy reads its history at
start (or a config reload): after a long run the next start reads from the mark
of the last one.

Marks are state, not history: the hash chain does not cover them. A mark that
says an episode is closed while it is open (edited by hand, or rows written on a
clock more than `SKEW_ALLOWANCE` behind) would make a start miss that episode, so
`audit verify` checks every saved mark against the rows (`MarkCheck`).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from daemon.audit.history import HistoryRow
from daemon.audit.schema import MARKS

SKEW_ALLOWANCE = timedelta(days=1)  # how far behind another writer's clock may run


@dataclass(frozen=True)
class Mark:
    """Every episode opened from `read_from` (None: the first row) until `closed_before`
    is closed."""

    closed_before: datetime
    read_from: datetime | None

    def covers(self, not_before: datetime | None) -> bool:
        """Whether the mark holds for a read that forgets what opened before `not_before`."""
        return self.read_from is None or (not_before is not None and not_before >= self.read_from)

    def after(
        self, not_before: datetime | None, openings: Iterable[datetime], before: datetime
    ) -> "Mark":
        """The mark after a read from this one: `openings` are those of the episodes it found
        open before `before`."""
        closed_before = min(openings, default=before) - SKEW_ALLOWANCE
        if not_before is not None and not_before > self.closed_before:
            return Mark(closed_before, not_before)  # nothing read from here to `not_before`
        return Mark(closed_before, self.read_from)


@dataclass(frozen=True)
class MarkCheck:
    """What `audit verify` found of one saved mark."""

    episode: str  # the mark's name (Episode.mark_name)
    mark: Mark
    declared: bool  # a policy of this version declares it; False: not checked
    still_open: HistoryRow | None = None  # the opening of an episode the mark says is closed


def next_mark(
    saved: Mark | None, not_before: datetime | None, openings: Iterable[datetime], before: datetime
) -> Mark:
    """The mark after a read of every open episode before `before` that found these
    `openings`: from `saved` where it holds for the read (`Mark.covers`), else the mark of a
    read of the whole horizon (from `not_before`)."""
    if saved is not None and saved.covers(not_before):
        return saved.after(not_before, openings, before)
    return Mark(min(openings, default=before) - SKEW_ALLOWANCE, not_before)


def read_marks(conn: Connection) -> dict[str, Mark]:
    """Every saved mark, by episode name."""
    found = conn.execute(
        select(MARKS.c.episode, MARKS.c.closed_before, MARKS.c.read_from).order_by(MARKS.c.episode)
    )
    return {episode: Mark(closed_before, read_from) for episode, closed_before, read_from in found}


def read_mark(conn: Connection, episode: str) -> Mark | None:
    found = conn.execute(
        select(MARKS.c.closed_before, MARKS.c.read_from).where(MARKS.c.episode == episode)
    ).first()
    return None if found is None else Mark(*found)


def save_mark(conn: Connection, episode: str, mark: Mark, now: datetime) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    values = {"closed_before": mark.closed_before, "read_from": mark.read_from, "updated_at": now}
    statement = dialect.insert(MARKS).values(episode=episode, **values)
    conn.execute(statement.on_conflict_do_update(index_elements=[MARKS.c.episode], set_=values))
