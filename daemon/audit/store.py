"""AuditStore: append and query the hash-chained audit rows, in SQLite (WAL) or PostgreSQL.

    store = AuditStore.open("sqlite:///var/lib/stacks-opsd/audit.db", "host:123", clock)
    action_id = new_action_id()                      # daemon/audit/schema.py
    store.append("policy:auto_restart", AuditAction.CONTAINER_RESTART, Outcome.STARTED,
                 action_id=action_id, ...)
    store.append("policy:auto_restart", AuditAction.CONTAINER_RESTART, Outcome.SUCCEEDED,
                 action_id=action_id, ...)

The store is the one door to the audit database: it opens it (engine.py) and
migrates its tables (schema.py), chains every row it appends (chain.py), reads
what policies remember (history.py; where a start reads their open episodes
from: episode_marks.py) and what `audit list` shows, keeps this process's
session and claims (liveness.py), and the operators' holds (holds.py), each
change to a hold written in one transaction with its audit row.

Appends are serialised in-process by a lock and across processes by the
database's write lock (see engine.py), so the chain never forks. Every string
is redacted before it is hashed and stored. Any database failure is raised as
an AuditError subclass (engine.py) naming the database with its password hidden.

A store that writes actions holds a session: opened with its first `started`
row or claim, renewed by `renew_session()`, closed by `close()`. Its `started`
rows carry `details.session`, and `reconcile_interrupted()` closes only the rows
of sessions that are gone.
"""

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Select, Text, cast, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from daemon.audit import holds, liveness, outbox
from daemon.audit.chain import VerifyResult, canonical_json, row_hash, verify_chain
from daemon.audit.engine import (
    AuditBusyError,
    AuditError,
    AuditOpenError,
    AuditReadError,
    AuditWriteError,
    begin_snapshot_read,
    begin_write,
    driver_message,
    enable_wal,
    open_engine,
    sqlite_path,
    sqlite_time,
)
from daemon.audit.episode_marks import (
    Mark,
    MarkCheck,
    MarkListError,
    list_problem,
    next_mark,
    read_mark,
    read_marks,
    save_mark,
)
from daemon.audit.history import (
    Episode,
    HistoryQuery,
    HistoryRow,
    Opening,
    from_latest_statement,
    history_row,
    history_statement,
    openings_statement,
    rows_statement,
)
from daemon.audit.holds import Hold
from daemon.audit.listing import list_statement
from daemon.audit.recall import ConditionRule, recall_rows
from daemon.audit.schema import (
    HEAD,
    HEAD_ROW,
    LOG,
    OUTCOMES,
    AuditAction,
    AuditLog,
    Outcome,
    ensure_schema,
    has_outcome,
    new_action_id,
)
from daemon.clock import Clock
from daemon.secrets import mask_url_password, redact_text, redact_value

log = logging.getLogger(__name__)

MARK_SAVE_WAIT = 0.5  # seconds an episode mark's save waits for the database's write lock

MAX_TEXT = 4000
VERIFY_BATCH = 1000
WRITE_ADVICE = (
    "check that the database is reachable and writable (disk space, permissions, "
    "a lock held by another process); actions stay blocked until audit rows can be written"
)


class AuditStore:
    """The audit database: append rows, read history, verify the chain."""

    def __init__(
        self,
        engine: Engine,
        database: str,
        instance: str,
        clock: Clock,
        busy_timeout: float,
        role: str,
    ) -> None:
        """Use `AuditStore.open()`; this only wires an engine whose schema is ready."""
        self._engine = engine
        self._database = database
        self._instance = instance
        self._clock = clock
        self._busy_timeout = busy_timeout
        self._lock = threading.RLock()
        self._role = role
        self.session = liveness.new_session_id()
        self._session_open = False
        self._here = liveness.process_identity()
        self._observed = liveness.Observations(clock.monotonic)
        self._unfinished_from: int | None = None  # reconcile: every earlier action is finished
        self._unreadable_marks: set[str] = set()  # marks whose list could not be read: logged
        self._closed = False
        self._file = DatabaseFile.of(engine)  # SQLite: the file this store opened

    @classmethod
    def open(
        cls,
        database_url: str,
        instance: str,
        clock: Clock,
        *,
        busy_timeout: float = 5.0,
        role: str = liveness.DAEMON_ROLE,
        create: bool = True,
    ) -> "AuditStore":
        """Connect, create or migrate the schema; `busy_timeout` bounds waits for locks (s).
        `role`: the daemon's, or "cli" for a command's session (`Holder.describe` says which).
        `create`: a SQLite file that does not exist is created; else AuditOpenError (a
        command that only reads the log must not answer from a new, empty one)."""
        database = mask_url_password(database_url)
        engine = open_engine(database_url, busy_timeout)
        path = sqlite_path(engine.url)
        if not create and path is not None and not path.exists():
            engine.dispose()
            raise AuditOpenError(
                f"audit database {database} does not exist: check daemon.database_url "
                "(the daemon creates it when it first starts)"
            )
        try:
            if sqlite_path(engine.url) is not None:
                enable_wal(engine)
            with engine.connect() as conn, begin_write(conn, busy_timeout):
                ensure_schema(conn, database)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise AuditOpenError(
                f"audit database {database}: cannot open or create the audit tables: "
                f"{driver_message(exc)}; check daemon.database_url, that the database server is "
                "running and that this user may create tables there"
            ) from None
        except AuditOpenError:
            engine.dispose()
            raise
        return cls(engine, database, instance, clock, busy_timeout, role)

    @property
    def database(self) -> str:
        """The database URL with its password hidden."""
        return self._database

    def close(self) -> None:
        """End the session (other processes then see it gone) and the connections; every
        later write fails, so nothing is recorded after this process said it is done."""
        if self._closed:
            return
        if self._session_open:
            try:
                with self._writing("the end of this session") as conn:
                    liveness.close_session(conn, self.session)
                self._session_open = False
            except AuditWriteError:
                pass  # its renewals stop: others see it gone after a lease
        self._closed = True
        self._engine.dispose()

    # -- sessions and claims (liveness.py) -------------------------------------------

    def renew_session(self) -> None:
        """Keep this process's session alive (at least every `liveness.LEASE / 3`)."""
        if not self._session_open:
            return
        with self._writing("the renewal of this session") as conn:
            if not liveness.renew_session(conn, self.session, self._now()):
                self._open_session(conn)

    @contextmanager
    def renewing(self) -> Iterator[None]:
        """Renew this session in the background while the block runs (command-line actions;
        the daemon renews from its leadership job)."""
        done = threading.Event()

        def renew() -> None:
            while not done.wait(liveness.LEASE.total_seconds() / 3):
                with contextlib.suppress(AuditError):  # the next write says what is wrong
                    self.renew_session()

        thread = threading.Thread(target=renew, name="audit-session", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def claim(self, container_id: str, action: str, action_id: str) -> liveness.Holder | None:
        """Claim the container for one action: None when this session now holds it, else
        the other live session that does (nothing may act on it meanwhile)."""
        with self._writing(f"a claim on {container_id}") as conn:
            if not self._session_open:
                self._open_session(conn)
            holder = liveness.claim(
                conn,
                self.session,
                container_id,
                action,
                action_id,
                self._now(),
                self._here,
                self._observed,
            )
        self._session_open = True
        return holder

    def holds_claim(self, container_id: str) -> bool:
        """Whether this session still holds the container's claim (right before a change)."""
        with self._reading(f"the claim on {container_id}") as conn:
            return liveness.holds(conn, self.session, container_id)

    def release_claim(self, container_id: str) -> None:
        with self._writing(f"the release of {container_id}") as conn:
            liveness.release(conn, self.session, container_id)

    def actions_in_flight(self) -> list[liveness.InFlight]:
        """The actions other live sessions (and this one) hold claims for and have not
        finished: what a new hold waits for before the daemon is hands-off."""
        with self._reading("the claims in flight") as conn:
            return liveness.in_flight(conn, self._here, self._observed)

    def _open_session(self, conn: Connection) -> None:
        liveness.open_session(
            conn, self.session, self._instance, self._role, self._now(), self._here
        )

    def _now(self) -> datetime:
        return _utc_now(self._clock)

    def append(
        self,
        actor: str,
        action: str,
        outcome: str,
        *,
        action_id: str,
        container_id: str | None = None,
        container_name: str | None = None,
        target: str | None = None,
        reason: str | None = None,
        correlation_id: str | None = None,
        http_status: int | None = None,
        error: str | None = None,
        details: Mapping[str, Any] | None = None,
        duration_ms: float | None = None,
    ) -> AuditLog:
        """Record one row and return it (with id and hash); raises AuditWriteError."""
        if outcome not in OUTCOMES:
            expected = ", ".join(OUTCOMES)
            raise ValueError(f"unknown audit outcome {outcome!r}; expected one of {expected}")
        if not action_id:
            raise ValueError("an audit row needs an action_id (use new_action_id())")
        if outcome == Outcome.STARTED:
            details = {**(details or {}), liveness.SESSION_DETAIL: self.session}
        fields = _entry(
            actor, action, outcome, action_id=action_id, container_id=container_id,
            container_name=container_name, target=target, reason=reason,
            correlation_id=correlation_id, http_status=http_status, error=error,
            details=details, duration_ms=duration_ms,
        )  # fmt: skip
        with self._writing(f"`{action}` `{outcome}` for {container_name or container_id}") as conn:
            opening = outcome == Outcome.STARTED and not self._session_open
            if opening:
                self._open_session(conn)
            row = self._write_rows(conn, [fields])[0]
        if opening:
            self._session_open = True
        return row

    def append_outcome(self, **row: Any) -> AuditLog | None:
        """The outcome row (append()'s keyword fields) of an action this process started,
        unless the action has an outcome by now, checked in the same transaction: another
        process that thought this one gone (a freeze past the lease, a row the database
        refused for a while) closed it `interrupted`, and one action never gets two
        outcomes. None when not written; raises AuditWriteError as append does."""
        outcome = row["outcome"]
        if outcome == Outcome.STARTED or outcome not in OUTCOMES:
            raise ValueError(f"not an outcome: {outcome!r}")
        fields = _entry(**row)
        what = f"`{row['action']}` `{outcome}` for {row.get('container_name')}"
        with self._writing(what) as conn:
            _head(conn, locked=True)
            if conn.execute(select(has_outcome(row["action_id"]))).scalar():
                return None
            return self._write_rows(conn, [fields])[0]

    # -- holds (holds.py) --------------------------------------------------------------

    def place_hold(
        self, pattern: str, reason: str, set_by: str, expires_at: datetime, actor: str
    ) -> Hold:
        """A new hold and its `hold.set` row, in one transaction."""
        _require_aware(expires_at)
        now = self._now()
        # As its hold.set row shows them: redacted, and UTF-8 whatever the command line was.
        pattern, reason, set_by = map(redact_text, (pattern, reason, set_by))
        with self._writing(f"a hold on {pattern}") as conn:
            hold = holds.insert_hold(conn, pattern, reason, set_by, now, expires_at)
            self._write_rows(conn, [_hold_entry(actor, AuditAction.HOLD_SET, hold, reason)])
        return hold

    def release_holds(self, wanted: str, released_by: str, actor: str) -> list[Hold]:
        """End the active holds `release WANTED` names (holds.releasable), one
        `hold.release` row each; the holds ended (none: nothing matched)."""
        now = self._now()
        with self._writing(f"the release of holds on {wanted}") as conn:
            ended = holds.end_holds(
                conn, holds.releasable(conn, wanted, now), now, released_by, holds.RELEASED
            )
            if ended:
                reason = f"released by {released_by}"
                entries = [_hold_entry(actor, AuditAction.HOLD_RELEASE, h, reason) for h in ended]
                self._write_rows(conn, entries)
        return ended

    def expire_holds(self) -> list[Hold]:
        """End every hold past its expiry that nobody ended yet, one `hold.expire` row each
        (the leader calls this; a hold's expiry is audited once)."""
        now = self._now()
        with self._writing("the expiry of holds") as conn:
            ended = holds.end_holds(
                conn, holds.expired_unended(conn, now), now, self._instance, holds.EXPIRED
            )
            if ended:
                entries = [
                    _hold_entry(holds.EXPIRY_ACTOR, AuditAction.HOLD_EXPIRE, h, "the hold expired")
                    for h in ended
                ]
                self._write_rows(conn, entries)
        return ended

    def active_holds(self) -> list[Hold]:
        """The holds in force now, oldest first."""
        with self._reading("holds") as conn:
            return [holds.hold_from(r) for r in conn.execute(holds.active_statement(self._now()))]

    def recent_holds(self, limit: int = 100) -> list[Hold]:
        """The newest `limit` holds, ended or not, newest first."""
        with self._reading("holds") as conn:
            return [holds.hold_from(r) for r in conn.execute(holds.recent_statement(limit))]

    def seen_containers(self) -> dict[str, str | None]:
        """Every container the audit log has a row about: id -> the name its newest row
        carries (a hold's rows name a pattern, no container). For the hints of `hold` and
        `release`: over a million rows, about 0.1 s in SQLite (along the container index)
        and 0.5 s in PostgreSQL (a scan of the table)."""
        seen = (
            select(LOG.c.container_id).where(LOG.c.container_id.is_not(None)).distinct().subquery()
        )
        newest_name = (
            select(LOG.c.container_name)
            .where(LOG.c.container_id == seen.c.container_id)
            .order_by(LOG.c.at.desc())
            .limit(1)
            .scalar_subquery()
        )
        with self._reading("the containers the audit log names") as conn:
            return dict(conn.execute(select(seen.c.container_id, newest_name)).all())

    def reconcile_interrupted(self, *, including_own: bool = False) -> list[AuditLog]:
        """Give every action left at `started` by a session that is gone an `interrupted` row.

        Actions of live sessions (a `change` waiting for its backup, another
        process's action in flight) are left alone, and so are this store's own
        unless `including_own` (this process is about to exit with them unfinished).
        Only rows from the oldest action still open at the last call are read again; that
        row's id is kept in the audit head (`open_from`), so the next process to start
        reads from there too, not the whole log.
        """
        with self._writing("`interrupted` rows for unfinished actions") as conn:
            head = _head(conn)
            start = self._unfinished_from
            if start is None and head is not None:
                start = head.open_from
            # Every row up to head.last_id is committed, so the query below sees it.
            gone, in_flight = liveness.unfinished_actions(
                conn, start, self.session, including_own, self._here, self._observed
            )
            if gone:  # lock, then look again: an outcome committed meanwhile closes its action
                head = _head(conn, locked=True)
                gone, in_flight = liveness.unfinished_actions(
                    conn, start, self.session, including_own, self._here, self._observed
                )
            entries = [liveness.interrupted_row(row) for row in gone]
            written = self._write_rows(conn, entries) if entries else []
            seen_up_to = head.last_id if head is not None and head.last_id else 0
            open_from = min([*in_flight, seen_up_to + 1])
            if head is not None and open_from != head.open_from:
                # Only a head start for the next process: a database that takes no writes
                # now (a read-only failover) must not stop the daemon from leading.
                with contextlib.suppress(SQLAlchemyError), conn.begin_nested():
                    conn.execute(update(HEAD).where(HEAD_ROW).values(open_from=open_from))
        self._unfinished_from = open_from
        return written

    def history(
        self,
        since: datetime | None = None,
        actors: Iterable[str] | None = None,
        actions: Iterable[str] | None = None,
        container_ids: Collection[str] | None = None,
        after_id: int | None = None,
        before: datetime | None = None,
        outcomes: Iterable[str] | None = None,
        *,
        wait: bool = True,
    ) -> list[HistoryRow]:
        """Rows at or after `since` and before `before` (aware), filtered, ordered by id:
        what policies remember. `wait` False: AuditBusyError rather than wait for a write.

        `after_id` reads only rows appended after that one (appends are serialised by the
        head lock, so ids grow in commit order); with nothing else given, that read
        walks the primary key from there and nothing older."""
        for moment in (since, before):
            if moment is not None:
                _require_aware(moment)
        return self._read_history(
            history_statement(since, actors, actions, container_ids, after_id, before, outcomes),
            wait,
        )

    def history_from_latest(
        self,
        episode: Episode,
        before: datetime,
        actors: Iterable[str],
        actions: Iterable[str],
        dry_run: bool = False,
        *,
        container_ids: Collection[str] | None = None,
        save_mark: bool = True,
        wait: bool = True,
    ) -> list[HistoryRow]:
        """Rows before `before` of every episode still open (see `Episode`), ordered by id:
        what a policy needs of a state older than its window. `dry_run`: what a dry run
        wrote counts too. `container_ids`: only the episodes of these containers. `wait`
        False: AuditBusyError rather than wait for a write.

        The read starts at the episode's mark where it holds, and (with `save_mark`, for a
        read of every container) a new mark is saved after it (episode_marks.py): the next
        start reads the episodes still open, not the whole horizon. A mark that cannot be
        saved is logged, and the next start reads from the older one."""
        _require_aware(before)
        name, saved, scanned = self._marked(episode, dry_run, wait)
        rows = self._read_history(
            from_latest_statement(scanned, before, actors, actions, dry_run, container_ids), wait
        )
        if save_mark and container_ids is None:
            openings = [Opening(row.id, row.at) for row in rows if episode.opened_by(row, dry_run)]
            self._move_mark(name, saved, episode, openings, before)
        return rows

    def advance_mark(
        self,
        episode: Episode,
        before: datetime,
        actors: Iterable[str],
        actions: Iterable[str],
        dry_run: bool = False,
    ) -> None:
        """Move the episode's mark as `history_from_latest` of every container would, for a
        policy that reads its episodes container by container, or while a daemon runs
        (the next start then reads from a recent mark): only the openings of the episodes
        still open are read (the earliest, where the mark does not list them), none of
        their rows. It waits for no write of this store (AuditBusyError: try again
        later), and little for the database's lock (a save refused is logged:
        `_save_mark`)."""
        _require_aware(before)
        name = episode.mark_name(dry_run)
        if not self._lock.acquire(blocking=False):  # held throughout: it is reentrant
            raise AuditBusyError(f"audit database {self._database}: busy: {name} not moved now")
        try:
            _, saved, scanned = self._marked(episode, dry_run)
            statement = openings_statement(scanned, before, actors, actions, dry_run)
            if not episode.of_container:
                statement = statement.limit(1)
            with self._reading(f"the open episodes of {name}") as conn:
                openings = [Opening(*found) for found in conn.execute(statement)]
            self._move_mark(name, saved, episode, openings, before)
        finally:
            self._lock.release()

    def _marked(
        self, episode: Episode, dry_run: bool, wait: bool = True
    ) -> tuple[str, Mark | None, Episode]:
        """The episode's mark name, its saved mark, and the episode as read from the mark
        where it holds."""
        name = episode.mark_name(dry_run)
        with self._reading(f"the mark of episode {name}", wait=wait) as conn:
            try:
                saved = read_mark(conn, name)
            except MarkListError as error:
                if name not in self._unreadable_marks:  # once, not at every read from it
                    self._unreadable_marks.add(name)
                    log.warning(
                        "audit database %s: the mark of episode %s cannot be read: %s; "
                        "reading the policy's whole history instead (`audit verify` names it)",
                        self._database,
                        name,
                        error,
                    )
                saved = None
        mark = saved if saved is not None and saved.covers(episode.not_before) else None
        scanned = episode if mark is None else mark.applied_to(episode)
        return name, saved, scanned

    def _move_mark(
        self,
        name: str,
        saved: Mark | None,
        episode: Episode,
        openings: list[Opening],
        before: datetime,
    ) -> None:
        """Save the mark after a read of every container's open episodes, whose
        `openings` were found, if it moved."""
        found = next_mark(saved, episode, openings, before)
        if found != saved:
            self._save_mark(name, found)

    def check_holds(self) -> list[str]:
        """Where the holds disagree with their chained rows (holds.disagreements)."""
        with self._reading("the holds") as conn, begin_snapshot_read(conn):
            return holds.disagreements(conn)

    def check_marks(self, declared: Iterable[HistoryQuery]) -> list[MarkCheck]:
        """Whether each saved mark holds (episode_marks.py): no episode it says is closed is
        open. `declared`: the policies' history queries, as live and as dry-running readers
        (the episodes whose marks a start reads). Marks no query declares are not checked.

        The marks are read before the rows: a mark is true of every later state of the log
        (an episode, once closed, stays closed), so a daemon saving marks meanwhile cannot
        make a true one look false."""
        queries = {
            query.episode.mark_name(query.dry_run): query
            for query in declared
            if query.episode is not None
        }
        with self._reading("the episode marks") as conn:
            saved = read_marks(conn)
        checks = []
        for name, mark in saved.items():
            query = queries.get(name)
            if query is None or query.episode is None:
                readable = mark if isinstance(mark, Mark) else None
                checks.append(MarkCheck(name, readable, declared=False))
                continue
            if isinstance(mark, MarkListError):
                checks.append(MarkCheck(name, None, declared=True, wrong_list=str(mark)))
                continue
            claimed = replace(query.episode, not_before=mark.read_from)
            rows = self._read_history(
                from_latest_statement(
                    claimed, mark.closed_before, query.actors, query.actions, query.dry_run
                )
            )
            listed = mark.applied_to(claimed).listed
            missed = next(
                (
                    row
                    for row in rows
                    if row.id not in listed and claimed.opened_by(row, query.dry_run)
                ),
                None,
            )
            named = [opening.id for opening in mark.still_open]
            found = self._read_history(rows_statement(named)) if named else []
            wrong = list_problem(mark, claimed, query.dry_run, found)
            checks.append(MarkCheck(name, mark, True, missed=missed, wrong_list=wrong))
        return checks

    def _save_mark(self, name: str, mark: Mark) -> None:
        """Save an episode's mark if the database lets us soon: nothing depends on it (the
        next start reads from the older mark), and a policy saves it on its evaluations'
        path, so it waits `MARK_SAVE_WAIT` at most for the database's lock (not a whole
        busy timeout, while another process holds it). A refusal is logged."""
        if self._closed:
            return
        try:
            with (
                self._lock,
                self._engine.connect() as conn,
                _waiting_at_most(conn, MARK_SAVE_WAIT, self._busy_timeout),
                begin_write(conn, MARK_SAVE_WAIT),
            ):
                save_mark(conn, name, mark, self._now())
        except (SQLAlchemyError, sqlite3.Error) as exc:
            log.warning(
                "audit database %s: could not save where the open episodes of %s begin: %s; "
                "the next start reads them from further back",
                self._database,
                name,
                redact_text(driver_message(exc)),
            )

    def last_id(self) -> int:
        """The id of the newest row (0 when there is none): where reading new rows starts."""
        with self._reading() as conn:
            return conn.execute(select(func.max(LOG.c.id))).scalar() or 0

    # -- the outbox: notification cursors (outbox.py) ------------------------------------

    def notify_cursor(self, sink: str) -> int:
        """The sink's cursor: the last audit id it has (created at the newest row at first).
        A read, except the first time: delivery's passes never take the write lock for it."""
        with self._reading("the sink's cursor") as conn:
            current = outbox.read_cursor(conn, sink)
        if current is not None:
            return current
        with self._writing("the sink's cursor") as conn:
            return outbox.start_cursor(conn, sink, self._now())

    def move_notify_cursor(self, sink: str, expected: int, last_id: int) -> bool:
        """Move the sink's cursor from `expected` to `last_id`; False if it had moved."""
        with self._writing("the sink's cursor") as conn:
            return outbox.move_cursor(conn, sink, expected, last_id, self._now())

    def rows_after(self, after_id: int, limit: int) -> list[AuditLog]:
        """Up to `limit` rows with an id above `after_id`, oldest first, every column."""
        with self._reading("rows to notify") as conn:
            return outbox.rows_after(conn, after_id, limit)

    def rows_of_open_conditions(
        self, rules: Iterable[ConditionRule], *, through_id: int
    ) -> list[AuditLog]:
        """Every row of each subject (container) from its earliest condition of `rules` open
        at row `through_id` through that row, oldest first: what a sink that resumes
        delivery after `through_id` folds again (recall.py)."""
        with self._reading("rows to recall for notifications") as conn:
            return recall_rows(conn, rules, through_id)

    def count_after(self, after_id: int) -> int:
        """How many rows have an id above `after_id` (a sink's lag)."""
        with self._reading("the notification lag") as conn:
            return outbox.count_after(conn, after_id)

    def append_summary(
        self, sink: str, expected: int, last_id: int, row: Mapping[str, Any]
    ) -> AuditLog | None:
        """Append the `row` (append()'s keyword fields, with actor, action and outcome)
        and move the sink's cursor from `expected` to `last_id` in one transaction: the
        rows a summary counts are skipped exactly when the summary is recorded. None
        (and nothing written) if another instance moved the cursor first."""
        fields = dict(row)
        if fields.get("details") is not None:
            fields["details"] = canonical_json(redact_value(fields["details"]))
        with self._writing("a summary of rows the sink skipped") as conn:
            if not outbox.move_cursor(conn, sink, expected, last_id, self._now()):
                return None
            return self._write_rows(conn, [fields])[0]

    def query(
        self,
        since: datetime | None = None,
        container: str | None = None,
        action: str | None = None,
        outcome: str | None = None,
        limit: int | None = None,
    ) -> list[AuditLog]:
        """Rows for `audit list`: `container` is an id or a name; `limit` keeps the newest."""
        if since is not None:
            _require_aware(since)
        return self._read(list_statement(since, container, action, outcome, limit))

    def export_rows(self, since: datetime | None = None) -> Iterator[Mapping[str, Any]]:
        """Every row from the oldest one written at or after `since` (aware; None: the
        first), then all later ones by id, in one snapshot: a contiguous piece of the
        chain for `audit export` (export.py). Read in batches, so memory stays flat."""
        if since is not None:
            _require_aware(since)
        with self._reading("rows to export") as conn, begin_snapshot_read(conn):
            first = None
            if since is not None:
                first = conn.execute(select(func.min(LOG.c.id)).where(LOG.c.at >= since)).scalar()
                if first is None:
                    return
            yield from _all_rows(conn, from_id=first)

    def verify(self) -> VerifyResult:
        """Check the whole chain and the head record in one consistent snapshot."""
        with self._reading("rows to verify") as conn, begin_snapshot_read(conn):
            head = conn.execute(select(HEAD).where(HEAD_ROW)).mappings().first()
            if conn.dialect.name != "sqlite":  # a timestamptz: one moment, one value
                return verify_chain(_all_rows(conn), head)
            try:
                return verify_chain(_times_as_written(_all_rows(conn, times_as_text=True)), head)
            except _NotAsWritten as found:
                return found.result

    def healthy(self) -> bool:
        """Whether a write would succeed now (takes the write lock, changes nothing)."""
        if self._file is not None and self._file.replaced() is not None:
            return False
        try:
            with self._lock, self._engine.connect() as conn:
                transaction = begin_write(conn, self._busy_timeout)
                conn.execute(update(HEAD).where(HEAD_ROW).values(row_count=HEAD.c.row_count))
                transaction.rollback()
        except SQLAlchemyError:
            return False
        return True

    @contextmanager
    def _writing(self, what: str) -> Iterator[Connection]:
        if self._closed:
            raise AuditWriteError(
                f"audit database {self._database}: could not record {redact_text(what)}: "
                "this process closed its audit store (it is stopping)"
            )
        replaced = None if self._file is None else self._file.replaced()
        if replaced is not None:
            raise AuditWriteError(
                f"audit database {self._database}: could not record {redact_text(what)}: "
                f"the file {replaced}, so rows written now would go where nobody reads them; "
                "actions stay blocked: put the file back from a backup, or restart stacks-opsd "
                "to open a new one"
            )
        try:
            with self._lock, self._engine.connect() as conn, begin_write(conn, self._busy_timeout):
                yield conn
        except SQLAlchemyError as exc:
            raise AuditWriteError(
                f"audit database {self._database}: could not record {redact_text(what)}: "
                f"{driver_message(exc)}; {WRITE_ADVICE}"
            ) from None

    def _write_rows(self, conn: Connection, entries: list[dict[str, Any]]) -> list[AuditLog]:
        head = conn.execute(select(HEAD).where(HEAD_ROW).with_for_update()).mappings().first()
        if head is None:
            raise AuditWriteError(
                f"audit database {self._database}: the audit_head record is missing, so new "
                "rows cannot be chained; run `stacks-opsd audit verify` and restore the "
                "database from a backup"
            )
        prev_hash, count = head["last_hash"], head["row_count"]
        written = []
        for entry in entries:
            fields = self._complete(entry, prev_hash)
            row_id = conn.execute(insert(LOG).values(**fields)).inserted_primary_key[0]
            written.append(AuditLog(id=row_id, **fields))
            prev_hash, count = fields["hash"], count + 1
        conn.execute(
            update(HEAD)
            .where(HEAD_ROW)
            .values(row_count=count, last_id=written[-1].id, last_hash=prev_hash)
        )
        return written

    def _complete(self, entry: Mapping[str, Any], prev_hash: str) -> dict[str, Any]:
        """The row's stored fields: timestamp, instance, redacted text, chain hashes."""
        fields: dict[str, Any] = {
            name: _clean_text(value) if isinstance(value, str) and name != "details" else value
            for name, value in entry.items()
        }
        fields["at"] = _utc_now(self._clock)
        fields["instance"] = _clean_text(self._instance)
        fields["prev_hash"] = prev_hash
        fields["hash"] = row_hash(fields)
        return fields

    @contextmanager
    def _reading(self, what: str = "audit rows", *, wait: bool = True) -> Iterator[Connection]:
        """A connection to read on. `wait` False: AuditBusyError at once if this store is
        busy with a write (which may be waiting out a lock another process holds)."""
        if not self._lock.acquire(blocking=wait):
            raise AuditBusyError(f"audit database {self._database}: busy: {what} not read now")
        try:
            with self._engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise AuditReadError(
                f"audit database {self._database}: cannot read {what}: {driver_message(exc)}; "
                "check that the database is reachable"
            ) from None
        finally:
            self._lock.release()

    def _read(self, statement: Select) -> list[AuditLog]:
        with self._reading() as conn:
            return [AuditLog(**row) for row in conn.execute(statement).mappings()]

    def _read_history(self, statement: Select, wait: bool = True) -> list[HistoryRow]:
        with self._reading(wait=wait) as conn:
            return [history_row(values) for values in conn.execute(statement)]


@dataclass(frozen=True)
class DatabaseFile:
    """The SQLite file a store opened, by device and inode: removing or replacing the file
    under a running process leaves it writing into the unlinked one, which nobody reads."""

    path: Path
    device: int
    inode: int

    @classmethod
    def of(cls, engine: Engine) -> "DatabaseFile | None":
        path = sqlite_path(engine.url)
        if path is None:
            return None
        status = path.stat()
        return cls(path, status.st_dev, status.st_ino)

    def replaced(self) -> str | None:
        """What became of the file, or None while the path still names it."""
        try:
            status = self.path.stat()
        except FileNotFoundError:
            return f"{self.path} was removed while this process had it open"
        except OSError as exc:
            return f"{self.path} cannot be checked ({exc.strerror})"
        if (status.st_dev, status.st_ino) != (self.device, self.inode):
            return f"{self.path} was replaced by another file while this process had it open"
        return None


def _head(conn: Connection, *, locked: bool = False) -> Any:
    """The audit head (`last_id`, `open_from`); `locked`: for this write transaction, so
    no row is appended meanwhile and what the transaction checks before it writes (an
    action's outcome) still holds when it writes. SQLite's write transaction holds the
    whole file already; PostgreSQL (read committed) needs the row lock, which a
    read-only server refuses: lock only to write."""
    statement = select(HEAD.c.last_id, HEAD.c.open_from).where(HEAD_ROW)
    return conn.execute(statement.with_for_update() if locked else statement).first()


def _all_rows(
    conn: Connection, from_id: int | None = None, *, times_as_text: bool = False
) -> Iterator[Mapping[str, Any]]:
    """Every row (from `from_id` on) ordered by id, fetched in batches so memory stays flat.
    `times_as_text`: `at` as the text SQLite holds (`_times_as_written` reads it)."""
    columns = [
        cast(column, Text).label(column.name) if times_as_text and column.name == "at" else column
        for column in LOG.c
    ]
    last_id = None
    while True:
        statement = select(*columns).order_by(LOG.c.id).limit(VERIFY_BATCH)
        if last_id is not None:
            statement = statement.where(LOG.c.id > last_id)
        elif from_id is not None:
            statement = statement.where(LOG.c.id >= from_id)
        batch = conn.execute(statement).mappings().all()
        if not batch:
            return
        yield from batch
        last_id = batch[-1]["id"]


class _NotAsWritten(Exception):
    """A row whose time is not stored as the store writes it: the verification's end."""

    def __init__(self, result: VerifyResult) -> None:
        super().__init__(result.problem)
        self.result = result


def _times_as_written(rows: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """SQLite rows with `at` read as text: each with its moment, or `_NotAsWritten` at the
    first one stored otherwise (edited by hand: the same moment spelled otherwise hides
    the row from every time window, and the hash, of the moment, would not show it)."""
    for checked, row in enumerate(rows, start=1):
        moment = sqlite_time(row["at"])
        if moment is None:
            row_id = row["id"]
            problem = (
                f"row {row_id} was altered: its time is stored as {str(row['at'])[:64]!r}, "
                "not as the audit store writes it"
            )
            raise _NotAsWritten(VerifyResult(False, checked, row_id, problem))
        yield {**row, "at": moment}


NULLABLE_COLUMNS = (
    "container_id", "container_name", "target", "reason", "correlation_id", "http_status",
    "error", "duration_ms",
)  # fmt: skip


def _entry(
    actor: str,
    action: str,
    outcome: str,
    *,
    action_id: str,
    details: Mapping[str, Any] | None = None,
    **columns: Any,
) -> dict[str, Any]:
    """One row's fields as given (redacted details), before `_complete` chains it; `columns`
    are any of NULLABLE_COLUMNS (the rest stay None)."""
    unknown = set(columns) - set(NULLABLE_COLUMNS)
    if unknown:
        raise TypeError(f"not audit columns: {', '.join(sorted(unknown))}")
    row = {name: columns.get(name) for name in NULLABLE_COLUMNS}
    if row["http_status"] is not None:
        row["http_status"] = int(row["http_status"])
    if row["duration_ms"] is not None:
        row["duration_ms"] = round(row["duration_ms"])
    return {
        "actor": actor,
        "action": action,
        "outcome": outcome,
        "action_id": action_id,
        **row,
        "details": canonical_json(redact_value(details)) if details else None,
    }


def _hold_entry(actor: str, action: AuditAction, hold: Hold, reason: str) -> dict[str, Any]:
    """The audit row of a change to `hold`: the pattern stands in the container_name column
    (a glob may name many containers), the hold id in `target`."""
    return _entry(
        actor,
        action,
        Outcome.SUCCEEDED,
        action_id=new_action_id(),
        container_name=hold.pattern,
        target=str(hold.id),
        reason=reason,
        details={
            "hold_id": hold.id,
            "pattern": hold.pattern,
            "hold_reason": hold.reason,
            "set_by": hold.set_by,
            "expires_at": hold.expires_at.isoformat(),
        },
    )


def _utc_now(clock: Clock) -> datetime:
    now = clock.now()
    _require_aware(now)
    return now.astimezone(UTC)


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {moment!r}")


def _clean_text(text: str) -> str:
    text = redact_text(text)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "...[truncated]"


@contextmanager
def _waiting_at_most(conn: Connection, seconds: float, busy_timeout: float) -> Iterator[None]:
    """SQLite: a write on `conn` waits `seconds` at most for another's lock (PostgreSQL's
    wait is `begin_write`'s `lock_timeout`); the connection's `busy_timeout` after."""
    if conn.dialect.name != "sqlite":
        yield
        return
    driver = conn.connection.driver_connection  # outside SQLAlchemy's transaction
    driver.execute(f"PRAGMA busy_timeout = {round(seconds * 1000)}")
    try:
        yield
    finally:
        try:
            driver.execute(f"PRAGMA busy_timeout = {round(busy_timeout * 1000)}")
        except sqlite3.Error:
            conn.invalidate()  # not back to the pool with the shorter wait
