"""Holds: an operator's "hands off these containers until then", kept in the audit database.

A hold names containers by a `pattern` (a container id, a name, or a name glob
such as `shop-*`), carries a reason, who placed it (`user@host`) and when it
expires. It lives in `audit_hold` (schema.py), so the daemon, its standbys and
every command see the same holds, and they survive restarts. A hold is active
from its placing until it is released or its `expires_at` passes, whichever
comes first; an expired hold stops counting at once, whoever notices.

Every change is written in one transaction with its hash-chained audit row
(the store's `place_hold`, `release_holds`, `expire_holds`):

    hold.set      actor `cli`, outcome `succeeded`, target the hold id
    hold.release  actor `cli`, one row per hold released
    hold.expire   actor `daemon`, written once, by the leader, when it sees the expiry

The table is state, not history, so it is not chained: `disagreements` checks it
against the chained rows (`audit verify`), so a hold edited, deleted, ended or
invented by hand is named, not obeyed in silence.

What a hold does to the daemon's decisions is daemon/pauses.py's business.
"""

import json
from dataclasses import dataclass, replace
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import Connection, Select, and_, insert, select, update

from daemon.audit.schema import HOLDS, LOG, AuditAction
from daemon.secrets import redact_text

EXPIRY_ACTOR = "daemon"  # the audit actor of `hold.expire` rows
RELEASED, EXPIRED = "released", "expired"  # how a hold ended (`end`)
GLOB_CHARACTERS = frozenset("*?[")


def is_glob(pattern: str) -> bool:
    return not GLOB_CHARACTERS.isdisjoint(pattern)


@dataclass(frozen=True)
class Hold:
    """One hold, as stored."""

    id: int
    pattern: str
    reason: str
    set_by: str
    set_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None
    ended_by: str | None = None
    end: str | None = None

    def active(self, now: datetime) -> bool:
        return self.ended_at is None and now < self.expires_at

    def as_of(self, now: datetime) -> "Hold":
        """The hold as it stands at `now`: one past its expiry that nobody ended yet (no
        leader ran since) has expired all the same, at its expiry."""
        if self.ended_at is None and not self.active(now):
            return replace(self, ended_at=self.expires_at, end=EXPIRED)
        return self

    def covers(self, container_id: str, name: str) -> bool:
        """Whether the hold names this container (its id exactly, or its name or name glob)."""
        return self.pattern == container_id or fnmatchcase(name, self.pattern)

    def describe(self) -> str:
        """The hold in one phrase, for audit reasons and logs."""
        return (
            f"hold {self.id} on {self.pattern!r} by {self.set_by} until "
            f"{self.expires_at.isoformat(timespec='seconds')}: {self.reason}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "pattern": self.pattern,
            "reason": self.reason,
            "set_by": self.set_by,
            "set_at": self.set_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "ended_by": self.ended_by,
            "end": self.end,
        }


def hold_from(row: Any) -> Hold:
    return Hold(
        id=row.id,
        pattern=row.pattern,
        reason=row.reason,
        set_by=row.set_by,
        set_at=row.set_at,
        expires_at=row.expires_at,
        ended_at=row.ended_at,
        ended_by=row.ended_by,
        end=row.end,
    )


def active_statement(now: datetime) -> Select:
    """Holds neither ended nor expired at `now`, oldest first."""
    return (
        select(HOLDS)
        .where(HOLDS.c.ended_at.is_(None), HOLDS.c.expires_at > now)
        .order_by(HOLDS.c.id)
    )


def recent_statement(limit: int) -> Select:
    """The newest `limit` holds, whatever became of them, newest first."""
    return select(HOLDS).order_by(HOLDS.c.id.desc()).limit(limit)


def insert_hold(
    conn: Connection, pattern: str, reason: str, set_by: str, now: datetime, expires_at: datetime
) -> Hold:
    values = {
        "pattern": pattern,
        "reason": reason,
        "set_by": set_by,
        "set_at": now,
        "expires_at": expires_at,
    }
    hold_id = conn.execute(insert(HOLDS).values(**values)).inserted_primary_key[0]
    return Hold(id=hold_id, **values)


def releasable(conn: Connection, wanted: str, now: datetime) -> list[Hold]:
    """The active holds `release WANTED` ends: those whose pattern is `wanted`, and when
    `wanted` is a glob, those whose pattern it matches (`release '*'` ends them all)."""
    active = [hold_from(row) for row in conn.execute(active_statement(now).with_for_update())]
    return [
        hold
        for hold in active
        if hold.pattern == wanted or (is_glob(wanted) and fnmatchcase(hold.pattern, wanted))
    ]


def expired_unended(conn: Connection, now: datetime) -> list[Hold]:
    """Holds past their expiry that nobody has ended yet (their expiry is not audited)."""
    statement = (
        select(HOLDS)
        .where(HOLDS.c.ended_at.is_(None), HOLDS.c.expires_at <= now)
        .order_by(HOLDS.c.id)
        .with_for_update()
    )
    return [hold_from(row) for row in conn.execute(statement)]


def end_holds(conn: Connection, holds: list[Hold], now: datetime, by: str, end: str) -> list[Hold]:
    """Mark `holds` ended (only those still unended: a concurrent end wins); the ones ended."""
    ended = []
    for hold in holds:
        result = conn.execute(
            update(HOLDS)
            .where(and_(HOLDS.c.id == hold.id, HOLDS.c.ended_at.is_(None)))
            .values(ended_at=now, ended_by=by, end=end)
        )
        if result.rowcount:
            ended.append(Hold(**{**hold.__dict__, "ended_at": now, "ended_by": by, "end": end}))
    return ended


def covering(holds: list[Hold], container_id: str, name: str) -> list[Hold]:
    return [hold for hold in holds if hold.covers(container_id, name)]


ENDED_BY = {AuditAction.HOLD_RELEASE: RELEASED, AuditAction.HOLD_EXPIRE: EXPIRED}


def disagreements(conn: Connection) -> list[str]:
    """Where `audit_hold` disagrees with the chained rows: a hold no `hold.set` row placed,
    one whose pattern, reason, author or expiry differ from its row's (as redacted
    there), one missing, and one ended otherwise than its `hold.release` or `hold.expire`
    row says (or with no such row). Empty: they agree."""
    actions = [AuditAction.HOLD_SET, *ENDED_BY]
    rows = conn.execute(
        select(LOG.c.id, LOG.c.action, LOG.c.details).where(LOG.c.action.in_(actions))
    )
    placed: dict[int, tuple[int, dict[str, Any]]] = {}
    ends: dict[int, str] = {}
    for row_id, action, text in rows:
        details = json.loads(text or "{}")
        hold_id = details.get("hold_id")
        if action == AuditAction.HOLD_SET:
            placed[hold_id] = (row_id, details)
        else:
            ends[hold_id] = ENDED_BY[AuditAction(action)]
    table = {hold.id: hold for hold in map(hold_from, conn.execute(select(HOLDS)))}
    problems = []
    for hold_id, hold in table.items():
        if hold_id not in placed:
            problems.append(f"hold {hold_id} on {hold.pattern!r} has no hold.set row: inserted")
            continue
        row_id, details = placed[hold_id]
        stored = (hold.pattern, hold.reason, hold.set_by)
        written = (details.get("pattern"), details.get("hold_reason"), details.get("set_by"))
        expiry = details.get("expires_at")
        if (
            not all(map(_as_written, stored, written))
            or expiry is None
            or datetime.fromisoformat(expiry) != hold.expires_at
        ):
            problems.append(f"hold {hold_id} is not what its hold.set row {row_id} placed: edited")
        elif hold.end != ends.get(hold_id) or (hold.ended_at is None) != (hold.end is None):
            said = ends.get(hold_id, "not ended")
            problems.append(f"hold {hold_id} is {hold.end or 'not ended'}, its rows say {said}")
    problems += [
        f"hold {hold_id} placed by row {row_id} is missing from audit_hold: deleted"
        for hold_id, (row_id, _) in placed.items()
        if hold_id not in table
    ]
    return problems


def _as_written(stored: str, written: object) -> bool:
    """Whether a hold's text is what its row holds: the same (this version stores it as its
    row shows it; an older one stored it as typed, and so did its row, as redaction then
    stood), or the same once redacted (an older version's hold, its row redacted)."""
    return stored == written or redact_text(stored) == written
