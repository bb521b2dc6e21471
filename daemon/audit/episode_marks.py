"""Where a start may begin reading a policy's open episodes: one mark per episode.

An `Episode` (history.py) is rows older than a policy's window that still
matter, from an opening row until a closing row. To find the open ones, a start
reads the policy's openings and closings over its whole horizon (weekly_pin's is
60 weeks): that read grows with the history, not with what it finds. But the log
is append-only and every row is written at the writer's present, so once every
episode opened before a moment is closed, it stays so. The store keeps that
moment per episode (`audit_episode_mark.closed_before`): the earliest opening of
the episodes it found open, or the start of the window if none was. The next
start reads from there, so its read holds the episodes still open and what came
after them, however long the history.

A mark only moves forward (two instances may race: the later moment wins). It
is named by the episode's declaration and whether the reader dry-runs
(`Episode.mark_name`), so a policy whose declaration changes starts without one.
Episodes a policy forgets (opened before its horizon) stay forgotten.
"""

from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from daemon.audit.schema import MARKS


def read_mark(conn: Connection, episode: str) -> datetime | None:
    """The moment before which every such episode is closed (None: not known yet)."""
    return conn.execute(select(MARKS.c.closed_before).where(MARKS.c.episode == episode)).scalar()


def advance_mark(conn: Connection, episode: str, closed_before: datetime, now: datetime) -> None:
    """Move the mark to `closed_before`, if that is later than where it is."""
    moved = conn.execute(
        update(MARKS)
        .where(MARKS.c.episode == episode, MARKS.c.closed_before < closed_before)
        .values(closed_before=closed_before, updated_at=now)
    )
    if moved.rowcount == 0 and read_mark(conn, episode) is None:
        conn.execute(
            insert(MARKS).values(episode=episode, closed_before=closed_before, updated_at=now)
        )
