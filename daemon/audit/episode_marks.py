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
what came after them.

That read still grows with the history while one episode stays open: a container
given up months ago holds every mark back to its give-up, and each start reads
every give-up since. So where an episode is a container's (`Episode.of_container`:
one open per container at most, bounded by the fleet), the mark lists the
openings it found still open (`still_open`, by id and time), speaks from the read's
own horizon (`read_from`: it lists nothing older), and ends at the read's window,
less `SKEW_ALLOWANCE`: the next start reads the openings since the mark and the
listed ones by id, whatever their age.

A mark holds only for a read that forgets at least as much (`Mark.covers`): a
policy whose horizon grew (a larger `keep_weeks`) reads its whole horizon again.
It is named by the episode's declaration and whether the reader dry-runs
(`Episode.mark_name`). Any mark found this way stays true, so two instances may
overwrite each other's. Marks move when a policy reads its history (at start, or
a config reload), and once a day while a daemon runs (daemon/evaluation.py).

Marks are state, not history: the hash chain does not cover them. A mark that
says an episode is closed while it is open (edited by hand, or rows written on a
clock more than `SKEW_ALLOWANCE` behind) would make a start miss that episode, so
`audit verify` checks every saved mark against the rows (`MarkCheck`), its list
too.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from daemon.audit.history import Episode, HistoryRow, Opening
from daemon.audit.schema import MARKS

SKEW_ALLOWANCE = timedelta(days=1)  # how far behind another writer's clock may run


class MarkListError(ValueError):
    """A saved mark whose `still_open` is not the list this store writes."""


@dataclass(frozen=True)
class Mark:
    """Every episode opened from `read_from` (None: the first row) until `closed_before`
    is closed, but those opened by the rows `still_open`."""

    closed_before: datetime
    read_from: datetime | None
    still_open: tuple[Opening, ...] = ()

    def covers(self, not_before: datetime | None) -> bool:
        """Whether the mark holds for a read that forgets what opened before `not_before`."""
        return self.read_from is None or (not_before is not None and not_before >= self.read_from)

    def applied_to(self, episode: Episode) -> Episode:
        """The episode as a read from this mark (which `covers` it) finds it: the list is
        read only for an episode `of_container` (another has none)."""
        still_open = self.still_open if episode.of_container else ()
        return episode.from_mark(self.closed_before, still_open)


@dataclass(frozen=True)
class MarkCheck:
    """What `audit verify` found of one saved mark."""

    episode: str  # the mark's name (Episode.mark_name)
    mark: Mark | None  # None: it cannot be read (`wrong_list`, if a policy declares it)
    declared: bool  # a policy of this version declares it; False: not checked
    missed: HistoryRow | None = None  # the opening of an episode the mark says is closed
    wrong_list: str | None = None  # what is wrong with its list of open episodes


def next_mark(
    saved: Mark | None, episode: Episode, openings: Iterable[Opening], before: datetime
) -> Mark:
    """The mark after a read of every open `episode` before `before` that found these
    `openings`: from `saved` where it holds for the read (`Mark.covers`), else from the
    read's `not_before` (its whole horizon).

    The mark of an episode `of_container` ends `SKEW_ALLOWANCE` before `before`, lists the
    openings older than that, and speaks from the read's `not_before` (nothing older is
    listed); any other ends `SKEW_ALLOWANCE` before the earliest opening."""
    not_before = episode.not_before
    if saved is None or not saved.covers(not_before) or episode.of_container:
        read_from = not_before
    elif not_before is not None and not_before > saved.closed_before:
        read_from = not_before  # nothing was read from the saved mark to `not_before`
    else:
        read_from = saved.read_from
    if episode.of_container:
        closed_before = before - SKEW_ALLOWANCE
        still_open = tuple(sorted(opening for opening in openings if opening.at < closed_before))
        return Mark(closed_before, read_from, still_open)
    earliest = min((opening.at for opening in openings), default=before)
    return Mark(earliest - SKEW_ALLOWANCE, read_from)


def list_problem(
    mark: Mark, episode: Episode, dry_run: bool, rows: Iterable[HistoryRow]
) -> str | None:
    """What is wrong with the mark's list of open episodes, by `rows`, those it names (None:
    nothing): each must be an opening of `episode` at the time listed, or a start would
    read it wrongly. One closed since is not wrong: the next read leaves it out."""
    if not episode.of_container:
        return None  # its list is not read
    found = {row.id: row for row in rows}
    for opening in mark.still_open:
        row = found.get(opening.id)
        if row is None:
            return f"it lists row {opening.id}, which is not in the log"
        if row.at != opening.at:
            listed, written = opening.at.isoformat(), row.at.isoformat()
            return f"it lists row {row.id} at {listed}, written at {written}"
        if not episode.opened_by(row, dry_run):
            return f"it lists row {row.id} ({row.action} {row.outcome}), which opens no episode"
    return None


MARK_COLUMNS = (MARKS.c.closed_before, MARKS.c.read_from, MARKS.c.still_open)


def read_marks(conn: Connection) -> dict[str, Mark | MarkListError]:
    """Every saved mark, by episode name; the error of one that cannot be read."""
    found = conn.execute(select(MARKS.c.episode, *MARK_COLUMNS).order_by(MARKS.c.episode))
    marks: dict[str, Mark | MarkListError] = {}
    for episode, *values in found:
        try:
            marks[episode] = _mark(*values)
        except MarkListError as error:
            marks[episode] = error
    return marks


def read_mark(conn: Connection, episode: str) -> Mark | None:
    """The episode's saved mark (None: none). MarkListError: it cannot be read."""
    found = conn.execute(select(*MARK_COLUMNS).where(MARKS.c.episode == episode)).first()
    return None if found is None else _mark(*found)


def save_mark(conn: Connection, episode: str, mark: Mark, now: datetime) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    still_open = [[opening.id, opening.at.isoformat()] for opening in mark.still_open]
    values = {
        "closed_before": mark.closed_before,
        "read_from": mark.read_from,
        "still_open": json.dumps(still_open) if still_open else None,
        "updated_at": now,
    }
    statement = dialect.insert(MARKS).values(episode=episode, **values)
    conn.execute(statement.on_conflict_do_update(index_elements=[MARKS.c.episode], set_=values))


def _mark(closed_before: datetime, read_from: datetime | None, still_open: str | None) -> Mark:
    """A saved mark; a list that cannot be read is an error (`MarkListError`), never taken
    for an empty one, which would make a start miss the episodes it lists."""
    try:
        found = json.loads(still_open or "[]")
    except ValueError as exc:
        raise MarkListError(f"its list of open episodes is not JSON ({exc})") from None
    listed = []
    for entry in found if isinstance(found, list) else [found]:
        row_id, at = entry if isinstance(entry, list) and len(entry) == 2 else (None, None)
        if type(row_id) is not int or not isinstance(at, str):
            raise MarkListError(f"its list of open episodes holds {entry!r}, not [id, time]")
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            moment = None
        if moment is None or moment.utcoffset() is None:
            raise MarkListError(f"its list of open episodes holds {at!r}, not a UTC time")
        listed.append(Opening(row_id, moment))
    return Mark(closed_before, read_from, tuple(listed))
