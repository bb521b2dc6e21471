"""What every leader lock offers, and the one error it raises.

    lock.try_acquire() -> bool   take leadership if free (True while held)
    lock.check_alive() -> bool   still the leader? (False once the lock was lost)
    lock.release()               give leadership up (idempotent)
    lock.held                    whether this process believes it leads

A standby calls `try_acquire()` once per status interval; a leader calls
`check_alive()` as often and stops acting as soon as it returns False.
"""

from typing import Protocol


class LeaderLockError(Exception):
    """The lock could not even be tried (lock file unwritable, database unreachable)."""


class LeaderLock(Protocol):
    @property
    def held(self) -> bool: ...

    def try_acquire(self) -> bool: ...

    def check_alive(self) -> bool: ...

    def release(self) -> None: ...
