"""The audit log as an outbox: each notification sink's cursor, and the rows after it.

A sink's cursor (`notify_cursor.last_id`) is the id of the last audit row it has
delivered or counted in a summary. Rows are read after it in id order (appends
are serialised by the head lock, so ids grow in commit order and a row below the
newest committed id never appears later). A cursor only moves forward, by a
compare-and-set on the value its worker last read: two instances that both think
they lead (for moments, during a takeover) cannot move it backwards or skip rows.
A sink seen for the first time starts at the newest row: it receives what happens
from then on, not the whole history.
"""

from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

from daemon.audit.schema import CURSORS, LOG, AuditLog


def read_cursor(conn: Connection, sink: str) -> int | None:
    return conn.execute(select(CURSORS.c.last_id).where(CURSORS.c.sink == sink)).scalar()


def start_cursor(conn: Connection, sink: str, now: datetime) -> int:
    """The sink's cursor, created at the newest row if it has none yet."""
    current = read_cursor(conn, sink)
    if current is not None:
        return current
    newest = conn.execute(select(func.max(LOG.c.id))).scalar() or 0
    conn.execute(insert(CURSORS).values(sink=sink, last_id=newest, updated_at=now))
    return newest


def move_cursor(conn: Connection, sink: str, expected: int, last_id: int, now: datetime) -> bool:
    """Move the cursor from `expected` to `last_id`; False if another instance moved it."""
    result = conn.execute(
        update(CURSORS)
        .where(CURSORS.c.sink == sink, CURSORS.c.last_id == expected)
        .values(last_id=last_id, updated_at=now)
    )
    return result.rowcount == 1


def rows_after(conn: Connection, after_id: int, limit: int) -> list[AuditLog]:
    statement = select(LOG).where(LOG.c.id > after_id).order_by(LOG.c.id).limit(limit)
    return [AuditLog(**row) for row in conn.execute(statement).mappings()]


def count_after(conn: Connection, after_id: int) -> int:
    return conn.execute(
        select(func.count()).select_from(LOG).where(LOG.c.id > after_id)
    ).scalar_one()
