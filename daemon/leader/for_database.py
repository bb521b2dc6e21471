"""leader_lock_for: the leader lock that matches the audit database URL.

    sqlite:///path/audit.db        -> SqliteFileLock("path/audit.db")   (`/real/path/audit.db.lock`)
    sqlite:// (in memory)          -> LocalLeaderLock()
    postgresql+psycopg://...       -> PostgresLeaderLock(url, advisory_key(fingerprint))

With PostgreSQL the lock is per API key (daemons for different keys may share a
database); with SQLite it is per database file.
"""

import hashlib

from daemon.audit import parse_url, sqlite_path
from daemon.leader.file_lock import SqliteFileLock
from daemon.leader.local_lock import LocalLeaderLock
from daemon.leader.lock import LeaderLock, LeaderLockError
from daemon.leader.postgres_lock import PostgresLeaderLock


def advisory_key(api_key_fingerprint: str) -> int:
    """A signed 64-bit advisory lock key derived from the API key's fingerprint (never the key)."""
    digest = hashlib.sha256(f"stacks-opsd leader:{api_key_fingerprint}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def leader_lock_for(database_url: str, api_key_fingerprint: str) -> LeaderLock:
    try:
        url = parse_url(database_url)
    except ValueError as exc:
        raise LeaderLockError(str(exc)) from None
    if url.get_backend_name() == "postgresql":
        return PostgresLeaderLock(database_url, advisory_key(api_key_fingerprint))
    path = sqlite_path(url)
    return LocalLeaderLock() if path is None else SqliteFileLock(path)
