"""Who is alive and acting through one audit database: sessions, claims, and reconciliation.

Every process that writes actions (the daemon, `stacks-opsd change` and `backup`)
holds a *session*: a row in `audit_session`, opened with its first action and
renewed at least every `LEASE / 3` while the process lives. Its `started` audit
rows carry the session in `details.session`. Two rules follow:

- **Reconciliation closes only the rows of sessions that are gone.** A `started`
  row without an outcome gets `interrupted` only when its session is not alive,
  never while a live `change` is still waiting for its backup
  (`unfinished_actions`, `interrupted_row`; the store writes the rows).
- **One actor per container across processes.** Before acting on a container a
  session *claims* it (`audit_claim`, one row per container). A claim held by
  another live session means "busy": the daemon decides again next cycle, the
  command line waits a little and then says who holds it. A dead holder's claim
  is taken over. `in_flight` lists the live claims whose action is unfinished
  (what `stacks-opsd hold` waits for).

A session is alive while it keeps renewing: each renewal bumps its `renewals`
counter, and a reader that sees the counter unchanged for `LEASE` of its own monotonic
clock counts the session gone. No two clocks are ever compared, so a host whose
clock is minutes off is neither declared dead early nor kept alive late. When a
session was opened on this very machine (same boot, same PID namespace) the
process itself is asked first: a `kill -9` is noticed at once. A process this
one may not see (`ProtectProc=invisible`, another user) is only dead when the
kernel says no such process exists; otherwise its renewals decide. The tables
(`audit_session`, `audit_claim`) are defined in schema.py; they are state, not
history: they are not hash-chained.
"""

import json
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Select, delete, insert, select, update

from daemon.audit.chain import canonical_json
from daemon.audit.schema import CLAIMS, LOG, SESSIONS, Outcome, has_outcome

LEASE = timedelta(seconds=30)
DAEMON_ROLE = "daemon"  # a session's role; a command's is "cli"
SESSION_DETAIL = "session"  # the `details` key naming the session of a `started` row
INTERRUPTED_REASON = "the process that started it ended before the outcome was recorded"


@dataclass(frozen=True)
class Holder:
    """Another live session's claim on a container."""

    instance: str
    role: str
    action: str
    since: datetime

    def describe(self) -> str:
        who = "the daemon" if self.role == DAEMON_ROLE else "a `stacks-opsd` command"
        return f"{who} ({self.instance}) is doing {self.action} since {self.since:%H:%M:%S} UTC"


@dataclass(frozen=True)
class InFlight:
    """An action in flight: a live session's claim on a container, its outcome not yet written.

    `name` is the container's name in the action's `started` row, or in the newest row of
    the log about that container while the action has none yet (a change waiting for its
    pre-change backup); None when the log never named it. `claimed_at` is on the
    claimant's clock."""

    container_id: str
    name: str | None
    action: str
    action_id: str
    instance: str
    role: str
    claimed_at: datetime

    @property
    def automatic(self) -> bool:
        """Whether the daemon is doing it (not an operator's command)."""
        return self.role == DAEMON_ROLE

    def whose(self) -> str:
        """Who is doing it, for people: the daemon or an operator's command, and where."""
        if self.automatic:
            return f"the daemon ({self.instance})"
        return f"a `stacks-opsd` command ({self.instance})"


def new_session_id() -> str:
    return uuid.uuid4().hex[:16]


def process_identity(pid: int | None = None) -> str | None:
    """`boot:pidns:pid:start` of a process on this machine; None where /proc is missing."""
    pid = os.getpid() if pid is None else pid
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    return f"{boot}:{namespace}:{pid}:{fields[19]}"  # field 22 of stat: start time


def _machine(identity: str) -> str:
    return identity.rsplit(":", 2)[0]


class Observations:
    """What one reader saw of other sessions' renewals, on its own monotonic clock: a step
    of its wall clock (NTP, a VM resumed) neither ends a live session's lease early nor
    keeps a dead one alive."""

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self._seen: dict[str, tuple[int, float]] = {}

    def still_renewing(self, session: str, renewals: int) -> bool:
        """False once `renewals` has not moved for `LEASE` of this reader's clock."""
        now = self._monotonic()
        seen = self._seen.get(session)
        if seen is None or seen[0] != renewals:
            self._seen[session] = (renewals, now)
            return True
        return now - seen[1] < LEASE.total_seconds()


def _local_process(identity: str) -> bool | None:
    """Whether the process this machine knows by `identity` lives; None if it cannot tell."""
    pid = int(identity.rsplit(":", 2)[1])
    seen = process_identity(pid)
    if seen is not None:
        return seen == identity
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, but is not ours to see: its renewals decide
    return None


def session_alive(row: Mapping[str, Any], here: str | None, observed: Observations) -> bool:
    """Whether the session in `row` (an `audit_session` row) still acts."""
    theirs = row["process"]
    if theirs and here and _machine(theirs) == _machine(here):
        local = _local_process(theirs)
        if local is not None:
            return local
    return observed.still_renewing(row["session"], row["renewals"])


def open_session(
    conn: Connection, session: str, instance: str, role: str, now: datetime, here: str | None
) -> None:
    conn.execute(delete(SESSIONS).where(SESSIONS.c.session == session))
    conn.execute(
        insert(SESSIONS).values(
            session=session,
            instance=instance,
            role=role,
            host=socket.gethostname(),
            pid=os.getpid(),
            process=here,
            opened_at=now,
            renewed_at=now,
            renewals=0,
        )
    )


def renew_session(conn: Connection, session: str, now: datetime) -> bool:
    """One more renewal; False when the row is gone (someone closed it for us)."""
    result = conn.execute(
        update(SESSIONS)
        .where(SESSIONS.c.session == session)
        .values(renewed_at=now, renewals=SESSIONS.c.renewals + 1)
    )
    return result.rowcount > 0


def close_session(conn: Connection, session: str) -> None:
    conn.execute(delete(CLAIMS).where(CLAIMS.c.session == session))
    conn.execute(delete(SESSIONS).where(SESSIONS.c.session == session))


def _live_sessions(
    conn: Connection, sessions: set[str], here: str | None, observed: Observations
) -> set[str]:
    """Which of `sessions` are alive."""
    if not sessions:
        return set()
    rows = conn.execute(select(SESSIONS).where(SESSIONS.c.session.in_(sorted(sessions))))
    return {row["session"] for row in rows.mappings() if session_alive(row, here, observed)}


def claim(
    conn: Connection,
    session: str,
    container_id: str,
    action: str,
    action_id: str,
    now: datetime,
    here: str | None,
    observed: Observations,
) -> Holder | None:
    """Claim `container_id` for `session` (inside a write transaction); the live holder if not.

    A claim whose action already has its outcome row is free, even if its holder is
    alive and could not release it."""
    held = conn.execute(select(CLAIMS).where(CLAIMS.c.container_id == container_id)).mappings()
    current = held.first()
    if current is not None and current["session"] != session:
        owner = conn.execute(select(SESSIONS).where(SESSIONS.c.session == current["session"]))
        owner_row = owner.mappings().first()
        if (
            owner_row is not None
            and session_alive(owner_row, here, observed)
            and not conn.execute(select(has_outcome(current["action_id"]))).scalar()
        ):
            return Holder(
                owner_row["instance"], owner_row["role"], current["action"], current["claimed_at"]
            )
    conn.execute(delete(CLAIMS).where(CLAIMS.c.container_id == container_id))
    conn.execute(
        insert(CLAIMS).values(
            container_id=container_id,
            session=session,
            action=action,
            action_id=action_id,
            claimed_at=now,
        )
    )
    return None


def in_flight(conn: Connection, here: str | None, observed: Observations) -> list[InFlight]:
    """Every claim whose session is alive and whose action has no outcome row yet, oldest
    claim first (the claims `claim` would refuse to take over)."""
    rows = conn.execute(
        select(CLAIMS, SESSIONS.c.instance, SESSIONS.c.role, *[SESSIONS.c[c] for c in _LIVE])
        .join(SESSIONS, SESSIONS.c.session == CLAIMS.c.session)
        .where(~has_outcome(CLAIMS.c.action_id))
        .order_by(CLAIMS.c.claimed_at, CLAIMS.c.container_id)
    ).mappings()
    return [
        InFlight(
            container_id=row["container_id"],
            name=_container_name(conn, row["action_id"], row["container_id"]),
            action=row["action"],
            action_id=row["action_id"],
            instance=row["instance"],
            role=row["role"],
            claimed_at=row["claimed_at"],
        )
        for row in rows.all()
        if session_alive(row, here, observed)
    ]


_LIVE = ("process", "renewals")  # the session columns `session_alive` reads, besides `session`


def _container_name(conn: Connection, action_id: str, container_id: str) -> str | None:
    """The name in the action's `started` row, else in the newest row naming the container."""
    started = select(LOG.c.container_name).where(
        LOG.c.action_id == action_id, LOG.c.outcome == Outcome.STARTED
    )
    name = conn.execute(started).scalar()
    if name is None:
        newest = (
            select(LOG.c.container_name)
            .where(LOG.c.container_id == container_id, LOG.c.container_name.is_not(None))
            .order_by(LOG.c.id.desc())
            .limit(1)
        )
        name = conn.execute(newest).scalar()
    return name


def holds(conn: Connection, session: str, container_id: str) -> bool:
    """Whether `session` holds the claim on `container_id` now."""
    statement = select(CLAIMS.c.session).where(CLAIMS.c.container_id == container_id)
    return conn.execute(statement).scalar() == session


def release(conn: Connection, session: str, container_id: str) -> None:
    conn.execute(
        delete(CLAIMS).where(CLAIMS.c.container_id == container_id, CLAIMS.c.session == session)
    )


# -- reconciliation: the unfinished actions of sessions that are gone -----------------


def unfinished_actions(
    conn: Connection,
    from_id: int | None,
    session: str,
    including_own: bool,
    here: str | None,
    observed: Observations,
) -> tuple[list[Mapping[str, Any]], list[int]]:
    """The `started` rows (from row `from_id` on) whose action has no outcome yet: those of
    sessions that are gone, to be closed, and the ids of those still in flight. `session`'s
    own count as in flight unless `including_own` (its process is about to exit)."""
    rows = conn.execute(_unfinished_statement(from_id)).mappings().all()
    sessions = {_session_of(row) for row in rows} - {None, session}
    alive = _live_sessions(conn, sessions, here, observed)
    if not including_own:
        alive.add(session)
    gone = [row for row in rows if _session_of(row) not in alive]
    in_flight = [row["id"] for row in rows if _session_of(row) in alive]
    return gone, in_flight


def _unfinished_statement(from_id: int | None) -> Select:
    """`started` rows (from row `from_id` on) of actions that have no outcome yet, oldest first.

    An outcome row always comes after its `started` row, so one index lookup per
    `started` row (on `action_id`) answers it, however long the log is.
    """
    statement = select(LOG).where(LOG.c.outcome == Outcome.STARTED, ~has_outcome(LOG.c.action_id))
    if from_id is not None:
        statement = statement.where(LOG.c.id >= from_id)
    return statement.order_by(LOG.c.id)


def _session_of(row: Mapping[str, Any]) -> str | None:
    """The session that wrote a `started` row (None for rows written before sessions)."""
    try:
        details = json.loads(row["details"] or "{}")
    except ValueError:
        return None
    session = details.get(SESSION_DETAIL) if isinstance(details, dict) else None
    return session if isinstance(session, str) else None


def interrupted_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """The `interrupted` row closing the unfinished action whose `started` row is `row`."""
    return {
        "actor": row["actor"],
        "action": row["action"],
        "outcome": Outcome.INTERRUPTED,
        "action_id": row["action_id"],
        "container_id": row["container_id"],
        "container_name": row["container_name"],
        "target": row["target"],
        "reason": INTERRUPTED_REASON,
        "correlation_id": row["correlation_id"],
        # The started row's details too: policies recognise their own actions by them
        # (weekly_pin's iso_week), interrupted or not.
        "details": canonical_json(
            {
                **json.loads(row["details"] or "{}"),
                "started_row": row["id"],
                "started_by": row["instance"],
            }
        ),
    }
