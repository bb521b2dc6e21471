"""PostgresLeaderLock: one holder per key; release, or the holder's connection dying, frees it."""

import uuid
from collections.abc import Iterator

import pytest

from daemon.leader import LeaderLockError, PostgresLeaderLock, advisory_key
from tests.support.integration import postgres_url


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
