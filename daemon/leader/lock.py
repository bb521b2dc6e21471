"""What a leader lock is, its one error, and the locks this machine keeps by itself.

    lock.try_acquire() -> bool   take leadership if free (True while held)
    lock.check_alive() -> bool   still the leader? (False once the lock was lost)
    lock.release()               give leadership up (idempotent)
    lock.held                    whether this process believes it leads

A standby calls `try_acquire()` once per status interval; a leader calls
`check_alive()` as often and stops acting as soon as it returns False.

Two locks live here; the third, in PostgreSQL, and the choice among them by
database URL are in postgres.py.

- `LocalLeaderLock`: for an in-memory SQLite database, which no other process can share.
- `SqliteFileLock`: leadership is an exclusive `flock` on `<database>.lock` beside
  the SQLite file. The lock file is named from the database's fully resolved path
  (`lock_path_for`): every spelling of one file (through a symlinked directory, a
  symlink to the file, `..` segments, relative or absolute) meets at the same
  lock, as SQLite itself resolves symlinks before naming its `-wal` file. A hard
  link or a second mount of the same file is not recognised: reach a shared
  database by one real path. The kernel drops the lock when the holder's process
  dies, so a standby takes over at its next try. The file holds the leader's pid
  and host for messages; it is never deleted (deleting a lock file lets two
  processes lock two files). If it is deleted or replaced anyway, `check_alive()`
  notices and gives up leadership.
"""

import fcntl
import os
import socket
from pathlib import Path
from typing import Protocol


class LeaderLockError(Exception):
    """The lock could not even be tried (lock file unwritable, database unreachable)."""


class LeaderLock(Protocol):
    """What every leader lock offers (see the table above)."""

    @property
    def held(self) -> bool: ...

    def try_acquire(self) -> bool: ...

    def check_alive(self) -> bool: ...

    def release(self) -> None: ...


class LocalLeaderLock:
    """For an in-memory SQLite database, which no other process can share: always free."""

    def __init__(self) -> None:
        self._held = False

    def __repr__(self) -> str:
        return f"LocalLeaderLock(held={self._held})"

    @property
    def held(self) -> bool:
        return self._held

    def try_acquire(self) -> bool:
        self._held = True
        return True

    def check_alive(self) -> bool:
        return self._held

    def release(self) -> None:
        self._held = False


def lock_path_for(database_path: str | os.PathLike[str]) -> Path:
    """`<database>.lock` beside the file the path leads to, symlinks and `..` resolved.

    Relative paths are taken from the current directory; a path whose last parts do
    not exist yet is resolved as far as it exists (a dangling symlink is followed).
    """
    return Path(f"{os.path.realpath(os.fspath(database_path))}.lock")


class SqliteFileLock:
    """Leadership is an exclusive `flock` on `lock_path_for(database_path)`."""

    def __init__(self, database_path: str | os.PathLike[str]) -> None:
        self.path = lock_path_for(database_path)
        self._fd: int | None = None

    def __repr__(self) -> str:
        return f"SqliteFileLock({str(self.path)!r}, held={self.held})"

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return self.check_alive()
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise LeaderLockError(
                f"cannot open the leader lock file {str(self.path)!r}: {exc.strerror}; "
                "the daemon needs write access to the database's directory"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except OSError as exc:
            os.close(fd)
            raise LeaderLockError(
                f"cannot lock {str(self.path)!r}: {exc.strerror}; put the database on a "
                "local filesystem that supports flock"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        self._fd = fd
        return True

    def check_alive(self) -> bool:
        if self._fd is None:
            return False
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            on_disk = None
        mine = os.fstat(self._fd)
        if on_disk is None or (on_disk.st_dev, on_disk.st_ino) != (mine.st_dev, mine.st_ino):
            self.release()
            return False
        return True

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
