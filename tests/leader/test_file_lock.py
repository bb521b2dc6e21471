"""SqliteFileLock: one holder at a time per database file; release or death frees it."""

import multiprocessing

import pytest

from daemon.leader.file_lock import SqliteFileLock
from daemon.leader.lock import LeaderLockError


def test_only_one_lock_on_the_same_database_is_acquired(tmp_path) -> None:
    first, second = SqliteFileLock(tmp_path / "audit.db"), SqliteFileLock(tmp_path / "audit.db")

    assert first.try_acquire()
    assert not second.try_acquire()
    assert (first.held, second.held) == (True, False)
    assert first.path.name == "audit.db.lock"

    first.release()
    assert not first.held
    assert second.try_acquire()
    assert not first.try_acquire()
    second.release()


def test_a_different_database_has_its_own_lock(tmp_path) -> None:
    first, other = SqliteFileLock(tmp_path / "a.db"), SqliteFileLock(tmp_path / "b.db")
    assert first.try_acquire()
    assert other.try_acquire()


def _hold_until_killed(path: str, ready) -> None:
    SqliteFileLock(path).try_acquire()
    ready.set()
    multiprocessing.Event().wait(60)


def test_a_dead_holder_process_frees_the_lock(tmp_path) -> None:
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    holder = context.Process(target=_hold_until_killed, args=(str(tmp_path / "audit.db"), ready))
    holder.start()
    try:
        assert ready.wait(30)
        standby = SqliteFileLock(tmp_path / "audit.db")
        assert not standby.try_acquire()
    finally:
        holder.kill()
        holder.join(10)

    assert standby.try_acquire()
    standby.release()


def test_a_replaced_lock_file_means_leadership_is_lost(tmp_path) -> None:
    lock = SqliteFileLock(tmp_path / "audit.db")
    assert lock.try_acquire()
    assert lock.check_alive()

    lock.path.unlink()

    assert not lock.check_alive()
    assert not lock.held


def test_an_unusable_lock_path_raises_a_clear_error(tmp_path) -> None:
    lock = SqliteFileLock(tmp_path / "missing-dir" / "audit.db")
    with pytest.raises(LeaderLockError, match="leader lock file"):
        lock.try_acquire()
