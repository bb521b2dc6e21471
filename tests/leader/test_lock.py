"""SqliteFileLock: one holder at a time per database file; release or death frees it.

One file is one lock however its path is spelled: through a symlinked directory,
a symlink to the file, `..` segments, relative or absolute.
"""

import multiprocessing
import os
from pathlib import Path

import pytest

from daemon.leader import LeaderLockError, SqliteFileLock, lock_path_for


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
    if SqliteFileLock(path).try_acquire():
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


def spellings(root: Path) -> dict[str, str]:
    """Ways to name `root/data/audit.db` (which exists): absolute paths, and one relative
    to `root` (the test's working directory)."""
    data = root / "data"
    data.mkdir()
    (data / "audit.db").touch()
    (data / "sub").mkdir()
    (root / "linked-dir").symlink_to("data")  # a symlinked directory
    (root / "elsewhere").mkdir()
    (root / "elsewhere" / "alias.db").symlink_to("../data/audit.db")  # a symlinked file
    (root / "deep" / "er").mkdir(parents=True)
    (root / "hop").symlink_to("deep/er")  # `hop/..` is `deep`, not `root`
    (root / "deep" / "data").symlink_to("../data")
    return {
        "symlinked directory": str(root / "linked-dir" / "audit.db"),
        "symlinked file": str(root / "elsewhere" / "alias.db"),
        "dot-dot segments": str(data / "sub" / ".." / "audit.db"),
        "dot-dot after a symlink": str(root / "hop" / ".." / "data" / "audit.db"),
        "relative path": os.path.join("linked-dir", "sub", "..", "audit.db"),
    }


SPELLINGS = (
    "symlinked directory",
    "symlinked file",
    "dot-dot segments",
    "dot-dot after a symlink",
    "relative path",
)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_of_one_database_shares_one_lock(tmp_path, monkeypatch, spelling) -> None:
    monkeypatch.chdir(tmp_path)
    other = spellings(tmp_path)[spelling]
    real = tmp_path / "data" / "audit.db"
    assert lock_path_for(other) == lock_path_for(real) == Path(f"{os.path.realpath(real)}.lock")

    leader, second = SqliteFileLock(real), SqliteFileLock(other)
    assert leader.try_acquire()
    assert not second.try_acquire(), f"a second leader through the {spelling}"
    leader.release()
    assert second.try_acquire()
    assert not SqliteFileLock(real).try_acquire()
    second.release()


@pytest.mark.parametrize("spelling", ["symlinked directory", "symlinked file"])
def test_a_process_holding_the_lock_excludes_another_spelling(tmp_path, spelling) -> None:
    """Real flock across processes: the holder names the file one way, the standby another."""
    names = spellings(tmp_path)
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    holder = context.Process(target=_hold_until_killed, args=(names[spelling], ready))
    holder.start()
    try:
        assert ready.wait(30), "the holder process did not get the lock"
        standby = SqliteFileLock(tmp_path / "data" / "audit.db")
        assert not standby.try_acquire(), f"two leaders: one through the {spelling}"
    finally:
        holder.kill()
        holder.join(10)

    assert standby.try_acquire()
    standby.release()


def test_a_database_not_created_yet_resolves_through_its_directory_and_a_dangling_link(
    tmp_path,
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "linked-dir").symlink_to("data")
    (tmp_path / "alias.db").symlink_to("data/new.db")  # dangling until the database exists
    expected = Path(os.path.realpath(tmp_path / "data")) / "new.db.lock"

    assert lock_path_for(tmp_path / "linked-dir" / "new.db") == expected
    assert lock_path_for(tmp_path / "alias.db") == expected
