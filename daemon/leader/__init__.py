"""Single active instance per API key: the leader lock a daemon holds while it acts.

`leader_lock_for(database_url, api_key_fingerprint)` (daemon/leader/for_database.py)
picks the lock matching the audit database: a file lock next to a SQLite file, or
a PostgreSQL advisory lock on a dedicated connection.
"""
