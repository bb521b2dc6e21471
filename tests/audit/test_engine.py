"""The audit database's engine: SQLite files in WAL, an in-memory database shared by
threads, and PostgreSQL connections (the store's and the leader lock's) that wait a
bounded time.

Each PostgreSQL session carries a statement timeout and an idle-in-transaction timeout
set by the server, and TCP keepalives and `tcp_user_timeout` on the client; a server
that accepts the TCP connection but never answers fails the connect in seconds.
"""

import socket
import sqlite3
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from daemon.audit import (
    CONNECT_TIMEOUT,
    TCP_USER_TIMEOUT,
    AuditOpenError,
    AuditStore,
    create_audit_engine,
    new_action_id,
    postgres_connect_params,
    probe_database,
)
from daemon.clock import ManualClock
from daemon.leader import LeaderLockError, PostgresLeaderLock, advisory_key
from tests.support.integration import postgres_url


def test_sqlite_database_uses_wal(tmp_path) -> None:
    path = tmp_path / "audit.db"
    AuditStore.open(f"sqlite:///{path}", "host:1", ManualClock()).close()

    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


NOT_A_DATABASE = (
    "file is not a database; point daemon.database_url at the audit database, or at a file "
    "that does not exist yet (the daemon creates it)"
)
CANNOT_OPEN = (
    "check that it is a file, not a directory, and that this user may read and write it "
    "and its directory"
)


def test_a_file_that_is_not_a_database_is_refused_and_left_as_it_was(tmp_path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not an audit database\n")
    with pytest.raises(AuditOpenError) as caught:
        AuditStore.open(f"sqlite:///{path}", "host:1", ManualClock())
    assert str(caught.value) == f"audit database sqlite:///{path}: {NOT_A_DATABASE}"
    assert path.read_text() == "not an audit database\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_directory_is_refused_saying_what_to_check(tmp_path) -> None:
    with pytest.raises(AuditOpenError) as caught:
        AuditStore.open(f"sqlite:///{tmp_path}", "host:1", ManualClock())
    assert str(caught.value) == (
        f"audit database sqlite:///{tmp_path}: unable to open database file; {CANNOT_OPEN}"
    )


def test_a_database_another_process_keeps_locked_is_refused_after_the_busy_wait(
    tmp_path,
) -> None:
    """Not yet in WAL (switching needs the lock): another program holds it in a transaction."""
    path = tmp_path / "audit.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("CREATE TABLE theirs (x)")
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(AuditOpenError) as caught:
            AuditStore.open(f"sqlite:///{path}", "host:1", ManualClock(), busy_timeout=0.2)
        other.execute("ROLLBACK")
    assert str(caught.value) == (
        f"audit database sqlite:///{path}: database is locked; end the process that holds "
        "the lock (no other program should use the audit database) or try again"
    )


def test_probing_refuses_what_the_daemon_could_not_open(tmp_path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not an audit database\n")
    with pytest.raises(AuditOpenError) as caught:
        probe_database(f"sqlite:///{path}")
    assert str(caught.value) == f"audit database sqlite:///{path}: {NOT_A_DATABASE}"
    with pytest.raises(AuditOpenError) as caught:
        probe_database(f"sqlite:///{tmp_path}")
    assert str(caught.value) == (
        f"audit database sqlite:///{tmp_path}: it is a directory; point daemon.database_url "
        f"at a file, such as {tmp_path / 'audit.db'}"
    )
    with pytest.raises(AuditOpenError, match="cannot parse database URL"):
        probe_database("sqlite:/nowhere")


def test_probing_changes_nothing_and_passes_what_the_daemon_creates(tmp_path) -> None:
    path = tmp_path / "audit.db"
    probe_database(f"sqlite:///{path}")  # created by the daemon's first start
    probe_database(f"sqlite:///{tmp_path / 'state' / 'audit.db'}")  # by systemd, then the daemon
    assert list(tmp_path.iterdir()) == []
    AuditStore.open(f"sqlite:///{path}", "host:1", ManualClock()).close()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN EXCLUSIVE")  # a lock does not hold the probe up
        probe_database(f"sqlite:///{path}")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no -wal, no -shm


def test_an_in_memory_database_works_across_threads() -> None:
    store = AuditStore.open("sqlite://", "host:1", ManualClock())

    def append(index: int) -> None:
        store.append(
            "cli", "backup.create", "started", action_id=new_action_id(), target=str(index)
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(append, range(40)))

    assert store.verify().checked == 40
    assert store.verify().ok
    assert store.healthy()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback port whose kernel completes the TCP handshake but nobody ever answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def session_settings(conn, *names: str) -> dict[str, str]:
    return {name: conn.execute(text(f"SHOW {name}")).scalar_one() for name in names}


def test_audit_sessions_carry_server_side_timeouts_and_keep_the_urls_own_options():
    schema = f"audit_bounds_{uuid.uuid4().hex[:8]}"
    url = make_url(f"{postgres_url()}?options=-csearch_path%3D{schema}")
    engine = create_audit_engine(url, busy_timeout=5.0)
    try:
        with engine.connect() as conn:
            settings = session_settings(
                conn,
                "statement_timeout",
                "idle_in_transaction_session_timeout",
                "tcp_keepalives_idle",
                "tcp_keepalives_interval",
                "tcp_keepalives_count",
                "tcp_user_timeout",
                "search_path",
            )
            client = conn.connection.driver_connection.info.get_parameters()
    finally:
        engine.dispose()
    assert settings == {
        "statement_timeout": "30s",
        "idle_in_transaction_session_timeout": "1min",
        "tcp_keepalives_idle": "10",  # the server's end of the connection, too
        "tcp_keepalives_interval": "5",
        "tcp_keepalives_count": "3",
        "tcp_user_timeout": "25000",
        "search_path": schema,
    }
    assert client["connect_timeout"] == str(CONNECT_TIMEOUT)
    assert client["keepalives"] == "1"
    assert (client["keepalives_idle"], client["keepalives_interval"]) == ("10", "5")
    assert client["keepalives_count"] == "3"
    assert client["tcp_user_timeout"] == str(TCP_USER_TIMEOUT * 1000)
    assert client["application_name"] == "stacks-opsd audit"


def test_a_statement_outliving_its_timeout_is_cancelled_by_the_server():
    """The URL may set its own statement timeout (it comes after the daemon's default)."""
    url = make_url(f"{postgres_url()}?options=-c%20statement_timeout%3D300")
    engine = create_audit_engine(url, busy_timeout=5.0)
    started = time.monotonic()
    try:
        with engine.connect() as conn, pytest.raises(OperationalError, match="statement timeout"):
            conn.execute(text("SELECT pg_sleep(10)"))
    finally:
        engine.dispose()
    assert time.monotonic() - started < 5


def test_connecting_to_a_server_that_never_answers_fails_within_the_connect_timeout(
    silent_server,
):
    url = make_url(f"postgresql+psycopg://ops:s3cret@127.0.0.1:{silent_server}/audit")
    engine = create_audit_engine(url, busy_timeout=5.0)
    started = time.monotonic()
    try:
        with pytest.raises(OperationalError), engine.connect():
            pass
    finally:
        engine.dispose()
    assert time.monotonic() - started < CONNECT_TIMEOUT + 3


def test_the_leader_lock_session_is_bounded_like_the_audit_engine():
    lock = PostgresLeaderLock(postgres_url(), advisory_key(uuid.uuid4().hex), timeout=5.0)
    assert lock.try_acquire()
    try:
        conn = lock._conn
        (timeout,) = conn.execute("SHOW statement_timeout").fetchone()
        (server_user_timeout,) = conn.execute("SHOW tcp_user_timeout").fetchone()
        client = conn.info.get_parameters()
    finally:
        lock.release()
    assert (timeout, server_user_timeout) == ("5s", "25000")
    assert client["tcp_user_timeout"] == str(TCP_USER_TIMEOUT * 1000)
    assert (client["keepalives"], client["connect_timeout"]) == ("1", "5")
    assert client["application_name"] == "stacks-opsd leader lock"


def test_the_leader_lock_gives_up_on_a_server_that_never_answers(silent_server):
    lock = PostgresLeaderLock(
        f"postgresql+psycopg://ops:s3cret@127.0.0.1:{silent_server}/audit", 1, timeout=2
    )
    started = time.monotonic()
    with pytest.raises(LeaderLockError, match="cannot connect") as caught:
        lock.try_acquire()
    assert time.monotonic() - started < 2 + 3
    assert "s3cret" not in str(caught.value)


def test_parameters_the_url_sets_itself_win():
    url = make_url(
        "postgresql+psycopg://u@h/db?connect_timeout=20&application_name=mine"
        "&options=-c%20statement_timeout%3D0"
    )
    params = postgres_connect_params(url, "stacks-opsd audit")
    assert "connect_timeout" not in params and "application_name" not in params
    assert params["options"].startswith("-c statement_timeout=30000 ")
    assert params["options"].endswith(" -c statement_timeout=0")  # the later one wins
    assert params["tcp_user_timeout"] == TCP_USER_TIMEOUT * 1000


def test_timeouts_are_whole_libpq_units():
    params = postgres_connect_params(make_url("postgresql+psycopg://u@h/db"), "x",
                                     connect_timeout=0.4, statement_timeout=0.25)  # fmt: skip
    assert params["connect_timeout"] == 2  # libpq's minimum
    assert "-c statement_timeout=250 " in params["options"]


def test_a_password_with_an_unencoded_at_sign_is_a_clear_error_that_hides_it():
    """SQLAlchemy reads `u:Pr0d@Secret:Pa55word@host` with a port it cannot parse; the store
    says what to fix and never shows the password (it raised ValueError with it before)."""
    url = "postgresql+psycopg://u:Pr0d@Secret:Pa55word@127.0.0.1:1/db"
    with pytest.raises(AuditOpenError) as caught:
        AuditStore.open(url, "test:1", ManualClock())
    assert "percent-encode @ : /" in str(caught.value)
    assert "Pa55word" not in str(caught.value) and "Secret" not in str(caught.value)
