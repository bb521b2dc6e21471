"""The audit database underneath the store: its URL, engine, transactions, timestamps, errors.

The store (store.py) reaches SQLite or PostgreSQL only through this module:

    open_engine(database_url, busy)  the engine, or AuditOpenError saying what to fix
    probe_database(database_url)     what `check-config` can check without changing anything
    parse_url(database_url)          which backend; ValueError naming the URL, password hidden
    sqlite_path(url)                 the SQLite file (None in memory and for PostgreSQL)
    create_audit_engine(url, busy)   an engine whose every wait is bounded
    enable_wal(engine)               the SQLite file in WAL, or AuditOpenError saying what to
                                     check (not a database, a directory, locked by another)
    begin_write / begin_snapshot_read   the two kinds of transaction the store runs
    UTCDateTime                      the column type every timestamp is stored in
    AuditError and its subclasses    what the store raises, translated once from the driver

SQLite: WAL journal, `busy_timeout`, and writes in `BEGIN IMMEDIATE` so two
processes never interleave an append. PostgreSQL: writes serialise on a
transaction-level advisory lock (`WRITE_LOCK`, taken by `begin_write`) and appends
also on a row lock of `audit_head` (SELECT ... FOR UPDATE), both with a
`lock_timeout`; long reads run in REPEATABLE READ so `verify` sees one consistent
snapshot.

Every PostgreSQL connection the daemon opens (the audit engine's pool and the
leader lock's dedicated session) is bounded by `postgres_connect_params`, so a
dead server or a half-open TCP connection ends in an error instead of a wait
(the leader lock passes its own 5 s connect and statement timeout; its queries are tiny):

    connect_timeout                      5 s   TCP connect, TLS and authentication together
    statement_timeout                   30 s   the server cancels any one statement (the
                                               lock wait inside it is `lock_timeout`, the
                                               store's busy timeout, 5 s)
    idle_in_transaction_session_timeout 60 s   the server ends a session left inside a
                                               transaction (a vanished client's row lock
                                               on `audit_head` would block every writer)
    keepalives idle/interval/count  10/5/3     a silent peer is declared dead after
                                               10 + 3 x 5 = 25 s without an answer
    tcp_user_timeout                    25 s   data sent to a dead peer (a write that is
                                               never acknowledged) fails after 25 s

Keepalives and `tcp_user_timeout` are set on both ends: the client's through libpq,
the server's (`tcp_keepalives_*`, `tcp_user_timeout`, PostgreSQL 12 or newer) for
this session, so the server too ends the session of a client that vanished, which
frees a lost leader's advisory lock and its transaction's row lock in about 25 s
instead of the operating system's default of hours.

The server settings travel in libpq's startup `options`, applied before the first
statement. A parameter the URL's query sets itself wins (e.g.
`?options=-c statement_timeout=120000` for a one-off migration of a huge table).
None of these bounds a server that accepts bytes and never answers (a hung
process behind a live TCP stack): the readiness check's own bound covers that
(daemon/exporter/health.py).

The errors, one tree; messages name the database with its password hidden
(`postgresql+psycopg://user:***@host/db`) and say what to do, and never carry row
contents beyond what was already redacted:

    AuditError                  anything the audit store could not do
    ├── AuditOpenError          the database could not be opened, created or migrated
    ├── AuditWriteError         a row was NOT recorded (append, reconcile); act on nothing
    └── AuditReadError          rows could not be read (history, query, verify)
"""

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, Dialect, RootTransaction, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import DateTime, TypeDecorator

from daemon.secrets import mask_url_password, redact_text

# What to run when PostgreSQL's driver is missing.
POSTGRES_EXTRA = "pip install 'stacks-opsd[postgres]'"

CONNECT_TIMEOUT = 5  # seconds (libpq takes whole seconds, at least 2)
STATEMENT_TIMEOUT = 30.0  # seconds
IDLE_IN_TRANSACTION_TIMEOUT = 60.0  # seconds
KEEPALIVES_IDLE, KEEPALIVES_INTERVAL, KEEPALIVES_COUNT = 10, 5, 3  # seconds, seconds, probes
TCP_USER_TIMEOUT = KEEPALIVES_IDLE + KEEPALIVES_INTERVAL * KEEPALIVES_COUNT  # seconds

_WRITE_OPTION = "stacks_opsd_audit_write"

# What to check when SQLite cannot open the audit file, by its (primary) result code.
_SQLITE_ADVICE = {
    sqlite3.SQLITE_NOTADB: (
        "point daemon.database_url at the audit database, or at a file that does not exist "
        "yet (the daemon creates it)"
    ),
    sqlite3.SQLITE_CANTOPEN: (
        "check that it is a file, not a directory, and that this user may read and write it "
        "and its directory"
    ),
    sqlite3.SQLITE_BUSY: (
        "end the process that holds the lock (no other program should use the audit "
        "database) or try again"
    ),
    sqlite3.SQLITE_READONLY: (
        "this user may not write it; check the owner and permissions of the file and its directory"
    ),
}
_SQLITE_DEFAULT_ADVICE = (
    "check daemon.database_url and that this user may read and write the file and its directory"
)


class AuditError(Exception):
    """The audit store could not do what was asked."""


class AuditOpenError(AuditError):
    """The audit database could not be opened, created or migrated."""


class AuditWriteError(AuditError):
    """An audit row was not recorded; the action it describes must not proceed."""


class AuditReadError(AuditError):
    """Audit rows could not be read."""


class AuditBusyError(AuditReadError):
    """A read asked not to wait found the store busy with a write (try it again later)."""


def driver_message(exc: Exception) -> str:
    """What the database driver said (the first line, secrets removed), for an error message."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines() or [type(original).__name__]
    return redact_text(lines[0])


# -- URLs -------------------------------------------------------------------------


def parse_url(database_url: str) -> URL:
    """The SQLAlchemy URL, or ValueError naming the (redacted) URL and the expected forms."""
    try:
        url = make_url(database_url)
        url.port  # noqa: B018 - an unencoded "@" in a password leaves a port int() cannot read
    except (ArgumentError, ValueError):
        raise ValueError(
            f"cannot parse database URL {mask_url_password(database_url)!r}: expected "
            "sqlite:///relative/path.db, sqlite:////absolute/path.db or "
            "postgresql+psycopg://user:password@host:5432/dbname (percent-encode @ : / in "
            "the user name and password)"
        ) from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(
            f"unsupported database {mask_url_password(database_url)!r}: use sqlite:///... "
            "or postgresql+psycopg://..."
        )
    return url


def sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite URL; None for in-memory databases and PostgreSQL."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        return None
    if database.startswith("file:"):
        database = database.removeprefix("file:")
    return Path(database)


def psycopg_conninfo(url: URL) -> str:
    """A libpq connection URI for psycopg.connect(), from a postgresql+psycopg:// URL."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


# -- engines and transactions -----------------------------------------------------


def open_engine(database_url: str, busy_timeout: float) -> Engine:
    """The engine of the audit database at `database_url` (not connected yet), or an
    AuditOpenError saying what to fix: the URL, the SQLite file's directory, the driver."""
    database = mask_url_password(database_url)
    url = _url_to_open(database_url)
    path = sqlite_path(url)
    if path is not None and not path.parent.is_dir():
        raise AuditOpenError(
            f"audit database {database}: directory {str(path.parent)!r} does not exist; "
            "create it (systemd's StateDirectory= does) or change daemon.database_url"
        )
    try:
        return create_audit_engine(url, busy_timeout)
    except ModuleNotFoundError as exc:
        raise AuditOpenError(
            f"audit database {database}: the driver {exc.name!r} is not installed; "
            f"install the PostgreSQL extra: {POSTGRES_EXTRA}"
        ) from None


def probe_database(database_url: str) -> None:
    """Check what can be checked of the audit database without creating, changing or
    locking anything, or connecting to a server (`check-config`): the URL, PostgreSQL's
    driver, and that an existing SQLite file is a database. AuditOpenError saying what to
    fix. A SQLite file or directory that does not exist yet passes: the daemon creates the
    file, and systemd's StateDirectory= the directory when the service starts."""
    database = mask_url_password(database_url)
    path = sqlite_path(_url_to_open(database_url))
    if path is None:
        open_engine(database_url, busy_timeout=0).dispose()  # never connected
        return
    if path.is_dir():
        raise AuditOpenError(
            f"audit database {database}: it is a directory; point daemon.database_url at a "
            f"file, such as {path / 'audit.db'}"
        )
    if not path.exists():
        return
    # Immutable: SQLite takes no lock and creates no -wal or -shm file beside it.
    uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as connection:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        raise _sqlite_open_error(database, exc) from None


def _url_to_open(database_url: str) -> URL:
    try:
        return parse_url(database_url)
    except ValueError as exc:
        raise AuditOpenError(str(exc)) from None


def _sqlite_open_error(database: str, exc: Exception) -> AuditOpenError:
    """What SQLite said when opening the audit file, and what to check."""
    code = getattr(getattr(exc, "orig", None) or exc, "sqlite_errorcode", None)
    advice = _SQLITE_ADVICE.get((code or 0) & 0xFF, _SQLITE_DEFAULT_ADVICE)
    return AuditOpenError(f"audit database {database}: {driver_message(exc)}; {advice}")


def postgres_connect_params(
    url: URL,
    application_name: str,
    *,
    connect_timeout: float = CONNECT_TIMEOUT,
    statement_timeout: float = STATEMENT_TIMEOUT,
) -> dict[str, Any]:
    """libpq connection parameters (for psycopg.connect or SQLAlchemy's connect_args)
    that bound every wait on the server and the network; timeouts in seconds."""
    server_settings = {
        "statement_timeout": _milliseconds(statement_timeout),
        "idle_in_transaction_session_timeout": _milliseconds(IDLE_IN_TRANSACTION_TIMEOUT),
        "tcp_keepalives_idle": KEEPALIVES_IDLE,
        "tcp_keepalives_interval": KEEPALIVES_INTERVAL,
        "tcp_keepalives_count": KEEPALIVES_COUNT,
        "tcp_user_timeout": _milliseconds(TCP_USER_TIMEOUT),
    }
    params: dict[str, Any] = {
        "connect_timeout": max(2, round(connect_timeout)),
        "keepalives": 1,
        "keepalives_idle": KEEPALIVES_IDLE,
        "keepalives_interval": KEEPALIVES_INTERVAL,
        "keepalives_count": KEEPALIVES_COUNT,
        "tcp_user_timeout": _milliseconds(TCP_USER_TIMEOUT),
        "application_name": application_name,
    }
    query = url.query
    params = {name: value for name, value in params.items() if name not in query}
    own = " ".join(f"-c {name}={value}" for name, value in server_settings.items())
    from_url = query.get("options")
    if isinstance(from_url, tuple):
        from_url = " ".join(from_url)
    # Later `-c` settings win, so the URL's own options come last.
    params["options"] = f"{own} {from_url}" if from_url else own
    return params


def create_audit_engine(url: URL, busy_timeout: float) -> Engine:
    """An engine for `url`; SQLite files get WAL and `busy_timeout` seconds of lock waiting.

    PostgreSQL connections get the bounds of `postgres_connect_params`; a statement may
    always run longer than a lock wait (`busy_timeout`), so a lock timeout says so."""
    if url.get_backend_name() == "postgresql":
        return create_engine(
            url,
            pool_pre_ping=True,
            connect_args=postgres_connect_params(
                url,
                "stacks-opsd audit",
                statement_timeout=max(STATEMENT_TIMEOUT, 2 * busy_timeout),
            ),
        )
    path = sqlite_path(url)
    if path is None:
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        engine = create_engine(
            url, connect_args={"timeout": busy_timeout, "check_same_thread": False}
        )
    _take_over_sqlite_transactions(engine)
    return engine


def enable_wal(engine: Engine) -> str:
    """Switch the SQLite file to WAL (persistent in the file); return the journal mode now set.

    This is the first time the file is opened: AuditOpenError saying what to check if SQLite
    cannot (not a database, a directory, locked by another process past the busy timeout)."""
    try:
        connection = engine.raw_connection()  # PRAGMA journal_mode runs outside a transaction
        try:
            mode = connection.cursor().execute("PRAGMA journal_mode=WAL").fetchone()[0]
        finally:
            connection.close()
    except (sqlite3.Error, DBAPIError) as exc:
        database = mask_url_password(engine.url.render_as_string(hide_password=False))
        raise _sqlite_open_error(database, exc) from None
    return str(mode).lower()


# PostgreSQL's stand-in for SQLite's database lock: a transaction-level advisory lock
# (the two-key form, apart from the leader's one-key locks). Writers take it in turn,
# so a read-then-write (a claim, a hold's expiry) sees what the writer before it wrote.
WRITE_LOCK = (0x5354_4B53, 1)  # "STKS", 1


def begin_write(conn: Connection, lock_timeout: float) -> RootTransaction:
    """Begin a transaction that holds the database's write lock until it ends."""
    conn.execution_options(**{_WRITE_OPTION: True})
    transaction = conn.begin()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {_milliseconds(lock_timeout)}")
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s, %s)", WRITE_LOCK)
    return transaction


def begin_snapshot_read(conn: Connection) -> RootTransaction:
    """Begin a read transaction that sees one consistent snapshot of the database."""
    if conn.dialect.name == "postgresql":
        conn.execution_options(isolation_level="REPEATABLE READ")
    return conn.begin()


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _take_over_sqlite_transactions(engine: Engine) -> None:
    """Let SQLAlchemy, not pysqlite, emit BEGIN, so writes can use BEGIN IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


# -- timestamps -------------------------------------------------------------------


# How a DateTime is written to SQLite (SQLAlchemy's format, in UTC): a time that reads as
# the same moment but is spelled otherwise was not written by the store, and sorts elsewhere
# (every window compares the text).
SQLITE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def sqlite_time(text: object) -> datetime | None:
    """The UTC moment a SQLite time column holds as the store writes it, else None."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.strptime(text, SQLITE_TIME_FORMAT)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.strftime(SQLITE_TIME_FORMAT) == text else None


class UTCDateTime(TypeDecorator[datetime]):
    """A DateTime column that stores UTC and always reads back timezone-aware UTC.

    SQLite keeps no timezone and PostgreSQL answers in the session's timezone; both
    come back as aware UTC, so hashes recomputed from read rows match the written ones.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"audit timestamps must be timezone-aware, got naive {value!r}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
