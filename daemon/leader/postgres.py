"""The PostgreSQL leader lock, and `leader_lock_for`: which lock a database URL gets.

    sqlite:///path/audit.db        -> SqliteFileLock("path/audit.db")   (`/real/path/audit.db.lock`)
    sqlite:// (in memory)          -> LocalLeaderLock()
    postgresql+psycopg://...       -> PostgresLeaderLock(url, advisory_key(fingerprint))

With PostgreSQL the lock is per API key (daemons for different keys may share a
database); with SQLite it is per database file.

PostgresLeaderLock: leadership is `pg_try_advisory_lock(key)` held on a dedicated
connection. The lock lives as long as the session: when the leader's connection
closes or its process dies, PostgreSQL releases it and a standby takes over at
its next try. The connection is autocommit and bounded like the audit engine's
(`postgres_connect_params` in daemon/audit/engine.py: keepalives and
`tcp_user_timeout`, so a dead network is noticed), with the lock's own shorter
connect and statement timeout; `check_alive()` asks the server whether this
session still holds the lock and drops leadership if the connection fails.
"""

import contextlib
import hashlib
from typing import Any

from sqlalchemy.engine import URL

from daemon.audit import (
    POSTGRES_EXTRA,
    driver_message,
    parse_url,
    postgres_connect_params,
    psycopg_conninfo,
    sqlite_path,
)
from daemon.leader.lock import LeaderLock, LeaderLockError, LocalLeaderLock, SqliteFileLock
from daemon.secrets import mask_url_password


def advisory_key(api_key_fingerprint: str) -> int:
    """A signed 64-bit advisory lock key derived from the API key's fingerprint (never the key)."""
    digest = hashlib.sha256(f"stacks-opsd leader:{api_key_fingerprint}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def leader_lock_for(database_url: str, api_key_fingerprint: str) -> LeaderLock:
    """The lock for daemons sharing this audit database and API key (see the table above)."""
    url = _parse(database_url)
    if url.get_backend_name() == "postgresql":
        return PostgresLeaderLock(database_url, advisory_key(api_key_fingerprint))
    path = sqlite_path(url)
    return LocalLeaderLock() if path is None else SqliteFileLock(path)


HELD_QUERY = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND objsubid = 1 AND classid::bigint = %s AND objid::bigint = %s"
)


class PostgresLeaderLock:
    """Leadership is `pg_try_advisory_lock(lock_key)` held on a dedicated connection."""

    def __init__(self, database_url: str, lock_key: int, *, timeout: float = 5.0) -> None:
        """`timeout` (seconds) bounds connecting and each statement of the lock's session."""
        if not -(2**63) <= lock_key < 2**63:
            raise ValueError(f"advisory lock key {lock_key} is not a signed 64-bit integer")
        url = _parse(database_url)
        self._conninfo = psycopg_conninfo(url)
        self._params = postgres_connect_params(
            url, "stacks-opsd leader lock", connect_timeout=timeout, statement_timeout=timeout
        )
        self._database = mask_url_password(database_url)
        self.lock_key = lock_key
        self._conn: Any = None

    def __repr__(self) -> str:
        return f"PostgresLeaderLock({self._database!r}, key={self.lock_key}, held={self.held})"

    @property
    def held(self) -> bool:
        return self._conn is not None

    def try_acquire(self) -> bool:
        if self._conn is not None:
            return self.check_alive()
        psycopg = _psycopg()
        try:
            conn = psycopg.connect(self._conninfo, autocommit=True, **self._params)
        except psycopg.Error as exc:
            raise LeaderLockError(
                f"cannot connect to {self._database} for the leader lock: {driver_message(exc)}; "
                "check daemon.database_url and that PostgreSQL is running"
            ) from None
        try:
            acquired = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.lock_key,)).fetchone()
        except psycopg.Error as exc:
            conn.close()
            raise LeaderLockError(
                f"cannot take the leader lock on {self._database}: {driver_message(exc)}"
            ) from None
        if not acquired[0]:
            conn.close()
            return False
        self._conn = conn
        return True

    def check_alive(self) -> bool:
        if self._conn is None:
            return False
        psycopg = _psycopg()
        unsigned = self.lock_key & 0xFFFF_FFFF_FFFF_FFFF
        try:
            row = self._conn.execute(
                HELD_QUERY, (unsigned >> 32, unsigned & 0xFFFF_FFFF)
            ).fetchone()
        except psycopg.Error:
            self._drop()
            return False
        if row[0] < 1:
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._conn is None:
            return
        psycopg = _psycopg()
        with contextlib.suppress(psycopg.Error):  # a dead connection took the lock with it
            self._conn.execute("SELECT pg_advisory_unlock(%s)", (self.lock_key,))
        self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        conn.close()


def _psycopg() -> Any:
    try:
        import psycopg
    except ModuleNotFoundError:
        raise LeaderLockError(f"PostgreSQL support is not installed: {POSTGRES_EXTRA}") from None
    return psycopg


def _parse(database_url: str) -> URL:
    """The SQLAlchemy URL, or LeaderLockError naming the (redacted) URL and the expected forms."""
    try:
        return parse_url(database_url)
    except ValueError as exc:
        raise LeaderLockError(str(exc)) from None
