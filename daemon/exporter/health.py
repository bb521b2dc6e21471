"""Liveness and readiness behind `/healthz` and `/readyz`.

- healthy (liveness): the scheduler's heartbeat is younger than
  `heartbeat_max_age`. Construction counts as the first beat, so a daemon gets
  one full `heartbeat_max_age` to start its scheduler. A slow or hung database
  never makes the daemon unhealthy: restarting it would not bring the database back.
- ready (readiness), in this order:
  1. the first status poll has succeeded (a standby counts as polled);
  2. no database check has been running longer than `DATABASE_CHECK_TIMEOUT`
     (10 s: twice the store's 5 s busy timeout, so a check that waits out a
     lock has failed by itself before then; one still running is waiting on a
     server or a network that does not answer, which no client timeout catches
     when the peer's TCP stack still acknowledges);
  3. the last database check found it writable. The store is opened (and
     written) at start, so the database counts as writable until a check or an
     audit write says otherwise;
  4. once a check has succeeded, the last success is younger than
     `DATABASE_CHECK_MAX_AGE` (30 s, six 5 s check ticks): the checks must keep
     coming. Runs without the periodic check (`once`, simulated time) never
     record a success, so this rule waits for the first.
  API throttling, a stale snapshot or being a standby do not make the daemon
  unready: restarting it or pulling it from a Service would not help.

A database check is reported with `with health.checking_database(): ...` around
the probe (the time spent queueing for the store counts too), then
`set_database_ok(result)`.
"""

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from daemon.clock import Clock

DATABASE_CHECK_TIMEOUT = timedelta(seconds=10)
DATABASE_CHECK_MAX_AGE = timedelta(seconds=30)


class Health:
    def __init__(
        self,
        clock: Clock,
        heartbeat_max_age: timedelta,
        *,
        database_check_timeout: timedelta = DATABASE_CHECK_TIMEOUT,
        database_check_max_age: timedelta = DATABASE_CHECK_MAX_AGE,
    ) -> None:
        self._clock = clock
        self._max_age = heartbeat_max_age.total_seconds()
        self._check_timeout = database_check_timeout.total_seconds()
        self._check_max_age = database_check_max_age.total_seconds()
        self._lock = threading.Lock()
        self._last_beat = clock.monotonic()
        self._polled = False
        self._database_ok = True
        self._checks_running: dict[int, float] = {}  # check number -> its start
        self._check_numbers = itertools.count()
        self._last_database_ok: float | None = None  # the last successful check's end

    def beat(self) -> None:
        """The scheduler is alive (called from its heartbeat job)."""
        now = self._clock.monotonic()
        with self._lock:
            self._last_beat = now

    def mark_polled(self) -> None:
        """A status poll succeeded; once is enough to stay polled."""
        with self._lock:
            self._polled = True

    @contextmanager
    def checking_database(self) -> Iterator[None]:
        """Wrap one database check: while it runs past the timeout, the daemon is not ready."""
        started = self._clock.monotonic()
        with self._lock:
            number = next(self._check_numbers)
            self._checks_running[number] = started
        try:
            yield
        finally:
            with self._lock:
                del self._checks_running[number]

    def database_check_running(self) -> bool:
        """Whether a database check has started and not finished yet."""
        with self._lock:
            return bool(self._checks_running)

    def set_database_ok(self, ok: bool) -> None:
        """The database was found writable (a check succeeded) or not (a check or write failed)."""
        now = self._clock.monotonic()
        with self._lock:
            self._database_ok = ok
            if ok:
                self._last_database_ok = now

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
        now = self._clock.monotonic()
        with self._lock:
            polled, database_ok = self._polled, self._database_ok
            oldest_check = min(self._checks_running.values(), default=None)
            last_ok = self._last_database_ok
        if not polled:
            return False, "waiting for the first successful STACKS status poll"
        if oldest_check is not None and now - oldest_check > self._check_timeout:
            return False, (
                f"the audit database has not answered a write check for "
                f"{now - oldest_check:.0f}s (limit {self._check_timeout:.0f}s); check the "
                "database server and the network to it"
            )
        if not database_ok:
            return False, "the audit database is not writable; check its disk or server"
        if last_ok is not None and now - last_ok > self._check_max_age:
            return False, (
                f"the audit database was last found writable {now - last_ok:.0f}s ago "
                f"(limit {self._check_max_age:.0f}s): its periodic check is not running; "
                "see the daemon's log"
            )
        return True, "ok"
