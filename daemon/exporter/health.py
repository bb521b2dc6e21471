"""Liveness and readiness behind `/healthz` and `/readyz`.

- healthy (liveness): the scheduler's heartbeat is younger than
  `heartbeat_max_age`. Construction counts as the first beat, so a daemon gets
  one full `heartbeat_max_age` to start its scheduler.
- ready (readiness): the first status poll has succeeded and the audit database
  is writable. The store is opened (and written) at start, so the database
  counts as writable until `set_database_ok(False)`. API throttling, a stale
  snapshot or being a standby do not make the daemon unready: restarting it
  or pulling it from a Service would not help.
"""

import threading
from datetime import timedelta

from daemon.clock import Clock


class Health:
    def __init__(self, clock: Clock, heartbeat_max_age: timedelta) -> None:
        self._clock = clock
        self._max_age = heartbeat_max_age.total_seconds()
        self._lock = threading.Lock()
        self._last_beat = clock.monotonic()
        self._polled = False
        self._database_ok = True

    def beat(self) -> None:
        """The scheduler is alive (called from its heartbeat job)."""
        now = self._clock.monotonic()
        with self._lock:
            self._last_beat = now

    def mark_polled(self) -> None:
        """A status poll succeeded; once is enough to stay polled."""
        with self._lock:
            self._polled = True

    def set_database_ok(self, ok: bool) -> None:
        with self._lock:
            self._database_ok = ok

    def liveness(self) -> tuple[bool, str]:
        """(healthy, a one-line reason for `/healthz`)."""
        now = self._clock.monotonic()
        with self._lock:
            age = now - self._last_beat
        if age > self._max_age:
            return False, (
                f"scheduler heartbeat is {age:.0f}s old (limit {self._max_age:.0f}s): "
                "the scheduler is stuck; restart the daemon"
            )
        return True, "ok"

    def readiness(self) -> tuple[bool, str]:
        """(ready, a one-line reason for `/readyz`)."""
        with self._lock:
            polled, database_ok = self._polled, self._database_ok
        if not polled:
            return False, "waiting for the first successful STACKS status poll"
        if not database_ok:
            return False, "the audit database is not writable; check its disk or server"
        return True, "ok"
