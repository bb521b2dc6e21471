"""SQLAlchemy engines for the audit database, and its read and write transactions.

SQLite: WAL journal, `busy_timeout`, and writes in `BEGIN IMMEDIATE` so two
processes never interleave an append. PostgreSQL: writes serialise on a row lock
of `audit_head` (SELECT ... FOR UPDATE) with a `lock_timeout`; long reads run in
REPEATABLE READ so `verify` sees one consistent snapshot.
"""

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, RootTransaction
from sqlalchemy.pool import StaticPool

from daemon.audit.database_url import sqlite_path

_WRITE_OPTION = "stacks_opsd_audit_write"


def create_audit_engine(url: URL, busy_timeout: float) -> Engine:
    """An engine for `url`; SQLite files get WAL and `busy_timeout` seconds of lock waiting."""
    if url.get_backend_name() == "postgresql":
        return create_engine(
            url,
            pool_pre_ping=True,
            connect_args={"connect_timeout": max(1, round(busy_timeout))},
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
    """Switch the SQLite file to WAL (persistent in the file); return the journal mode now set."""
    connection = engine.raw_connection()  # PRAGMA journal_mode must run outside a transaction
    try:
        mode = connection.cursor().execute("PRAGMA journal_mode=WAL").fetchone()[0]
    finally:
        connection.close()
    return str(mode).lower()


def begin_write(conn: Connection, lock_timeout: float) -> RootTransaction:
    """Begin a transaction that holds the database's write lock until it ends."""
    conn.execution_options(**{_WRITE_OPTION: True})
    transaction = conn.begin()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {max(1, round(lock_timeout * 1000))}")
    return transaction


def begin_snapshot_read(conn: Connection) -> RootTransaction:
    """Begin a read transaction that sees one consistent snapshot of the database."""
    if conn.dialect.name == "postgresql":
        conn.execution_options(isolation_level="REPEATABLE READ")
    return conn.begin()


def _take_over_sqlite_transactions(engine: Engine) -> None:
    """Let SQLAlchemy, not pysqlite, emit BEGIN, so writes can use BEGIN IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
