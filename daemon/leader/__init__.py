"""Single active instance per API key: the leader lock a daemon holds while it acts.

`leader_lock_for(database_url, api_key_fingerprint)` picks the lock matching the
audit database: a file lock next to a SQLite file (lock.py), or a PostgreSQL
advisory lock on a dedicated connection (postgres.py).

    lock.py      the LeaderLock protocol and LeaderLockError; LocalLeaderLock, SqliteFileLock
    postgres.py  PostgresLeaderLock, advisory_key, and leader_lock_for (the choice by URL)
"""

from daemon.leader.lock import (
    LeaderLock,
    LeaderLockError,
    LocalLeaderLock,
    SqliteFileLock,
    lock_path_for,
)
from daemon.leader.postgres import PostgresLeaderLock, advisory_key, leader_lock_for

__all__ = [
    "LeaderLock",
    "LeaderLockError",
    "LocalLeaderLock",
    "PostgresLeaderLock",
    "SqliteFileLock",
    "advisory_key",
    "leader_lock_for",
    "lock_path_for",
]
