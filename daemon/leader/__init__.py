"""Single active instance per API key: the leader lock a daemon holds while it acts.

`leader_lock_for(database_url, api_key_fingerprint)` (daemon/leader/for_database.py)
picks the lock matching the audit database: a file lock next to a SQLite file, or
a PostgreSQL advisory lock on a dedicated connection.
"""

from daemon.leader.file_lock import SqliteFileLock, lock_path_for
from daemon.leader.for_database import advisory_key, leader_lock_for
from daemon.leader.local_lock import LocalLeaderLock
from daemon.leader.lock import LeaderLock, LeaderLockError
from daemon.leader.postgres_lock import PostgresLeaderLock

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
