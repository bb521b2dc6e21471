"""PostgresLeaderLock: one holder per key; release, or the holder's connection dying, frees it.
And leader_lock_for: the lock that matches the audit database URL."""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.leader import (
    LeaderLockError,
    LocalLeaderLock,
    PostgresLeaderLock,
    SqliteFileLock,
    advisory_key,
    leader_lock_for,
)
from tests.support.integration import postgres_url


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


@pytest.fixture
def url() -> str:
    return postgres_url()


@pytest.fixture
def locks(url: str) -> Iterator[list[PostgresLeaderLock]]:
    key = advisory_key(uuid.uuid4().hex)  # unique per test: no interference between runs
    made = [PostgresLeaderLock(url, key) for _ in range(2)]
    yield made
    for lock in made:
        lock.release()


def test_only_one_connection_holds_the_key(locks) -> None:
    first, second = locks

    assert first.try_acquire()
    assert not second.try_acquire()
    assert first.check_alive()
    assert not second.check_alive()

    first.release()
    assert not first.held
    assert second.try_acquire()
    assert not first.try_acquire()


def test_different_keys_do_not_exclude_each_other(url) -> None:
    a = PostgresLeaderLock(url, advisory_key(uuid.uuid4().hex))
    b = PostgresLeaderLock(url, advisory_key(uuid.uuid4().hex))
    try:
        assert a.try_acquire()
        assert b.try_acquire()
    finally:
        a.release()
        b.release()


def test_a_terminated_holder_connection_loses_leadership(locks, url) -> None:
    import psycopg

    first, second = locks
    assert first.try_acquire()
    conninfo = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(conninfo, autocommit=True) as admin:
        terminated = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks"
            " WHERE locktype = 'advisory' AND objid::bigint = %s",
            (first.lock_key & 0xFFFF_FFFF,),
        ).fetchall()
    assert terminated == [(True,)]

    assert not first.check_alive()
    assert not first.held
    assert second.try_acquire()


def test_an_unreachable_server_raises_with_the_password_hidden() -> None:
    lock = PostgresLeaderLock(
        "postgresql+psycopg://ops:s3cret-pw@127.0.0.1:1/audit", lock_key=1, timeout=1
    )
    with pytest.raises(LeaderLockError) as caught:
        lock.try_acquire()
    assert "s3cret-pw" not in str(caught.value)
    assert "ops:***@127.0.0.1:1" in str(caught.value)
    assert "s3cret-pw" not in repr(lock)
