"""leader_lock_for picks the lock that matches the audit database."""

import os
from pathlib import Path

from daemon.leader import (
    LocalLeaderLock,
    PostgresLeaderLock,
    SqliteFileLock,
    advisory_key,
    leader_lock_for,
)


def test_sqlite_file_gets_a_lock_file_beside_it(tmp_path) -> None:
    lock = leader_lock_for(f"sqlite:///{tmp_path / 'audit.db'}", "fp")
    assert isinstance(lock, SqliteFileLock)
    assert lock.path == Path(os.path.realpath(tmp_path)) / "audit.db.lock"


def test_a_symlinked_sqlite_file_locks_beside_the_real_file(tmp_path) -> None:
    (tmp_path / "real.db").touch()
    (tmp_path / "alias.db").symlink_to("real.db")
    lock = leader_lock_for(f"sqlite:///{tmp_path / 'alias.db'}", "fp")
    assert isinstance(lock, SqliteFileLock)
    assert lock.path == Path(os.path.realpath(tmp_path)) / "real.db.lock"


def test_in_memory_sqlite_gets_a_process_local_lock() -> None:
    assert isinstance(leader_lock_for("sqlite://", "fp"), LocalLeaderLock)


def test_postgres_gets_an_advisory_lock_keyed_by_the_fingerprint() -> None:
    lock = leader_lock_for("postgresql+psycopg://u:p@127.0.0.1/db", "abc123")
    assert isinstance(lock, PostgresLeaderLock)
    assert lock.lock_key == advisory_key("abc123")


def test_advisory_keys_are_stable_signed_64_bit_and_differ_per_key() -> None:
    keys = {advisory_key(f"fingerprint-{n}") for n in range(100)}
    assert len(keys) == 100
    assert all(-(2**63) <= key < 2**63 for key in keys)
    assert any(key < 0 for key in keys)
    assert advisory_key("same") == advisory_key("same")
