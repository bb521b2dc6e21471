"""Keeping the job schedule on time whatever the wall clock does.

APScheduler 3 schedules on wall-clock time: an interval job's next run is its
last planned run plus the interval, as a UTC datetime. So a backward step of
the wall clock (NTP correcting a clock that ran fast, a VM restored from a
snapshot) leaves every job waiting out the step: no heartbeat, no poll, and
under systemd the watchdog kills the daemon mid-whatever. Two parts here:

- `ClockStepWatch` is a thread of its own, sleeping on the monotonic clock. When
  the wall clock moved back against it by more than `STEP_TOLERANCE`, it sets
  every job's next run to now, and the schedule goes on from there. Each look
  reads the wall clock between two monotonic readings; a look paused between
  them is left out, so a stalled thread is not taken for a step.
- `Paced` runs a job at most once per an interval read at each tick, on the
  monotonic clock, so an interval that a config reload changed applies at once
  (the leadership check follows a shorter status interval).
"""

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler

log = logging.getLogger(__name__)

WATCH_TICK = 1.0  # seconds between two looks at the clocks
STEP_TOLERANCE = 2.0  # seconds the wall clock may fall behind the monotonic one unnoticed
# The widest bracket of monotonic readings around a wall-clock reading that is trusted: a
# thread paused between its two readings (a loaded machine, a VM paused) would otherwise
# look like a step, and such a look is left out.
READING_BRACKET = 0.1


class ClockStepWatch:
    """Reschedules every job at once after the wall clock stepped back."""

    def __init__(
        self,
        scheduler: BaseScheduler,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._scheduler = scheduler
        self._wall = wall
        self._monotonic = monotonic
        self._offset = self._offset_now()  # None until a reading is trusted
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="clock-step-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2 * WATCH_TICK)

    def check(self) -> float:
        """Look at the clocks once; the seconds the wall clock stepped back (0 if it did
        not), the jobs rescheduled to now if it did."""
        offset = self._offset_now()
        if offset is None:
            return 0.0  # paused between the readings: the next look tells
        stepped = 0.0 if self._offset is None else self._offset - offset
        self._offset = offset
        if stepped <= STEP_TOLERANCE:
            return 0.0
        now = datetime.now(UTC)
        for job in self._scheduler.get_jobs():
            job.modify(next_run_time=now)
        self._scheduler.wakeup()
        log.warning(
            "the wall clock stepped back %.0f s: every job runs now instead of waiting it out",
            stepped,
        )
        return stepped

    def _offset_now(self) -> float | None:
        """The wall clock less the monotonic one, read between two monotonic readings;
        None when they are more than READING_BRACKET apart."""
        before = self._monotonic()
        wall = self._wall()
        after = self._monotonic()
        if after - before > READING_BRACKET:
            return None
        return wall - (before + after) / 2

    def _run(self) -> None:
        while not self._stop.wait(WATCH_TICK):
            self.check()


class Paced:
    """`job` run at most once per `every()` of the monotonic clock (read at each call)."""

    def __init__(
        self,
        job: Callable[[], object],
        every: Callable[[], timedelta],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._job = job
        self._every = every
        self._monotonic = monotonic
        self._last: float | None = None

    def __call__(self) -> None:
        now = self._monotonic()
        if self._last is not None and now - self._last < self._every().total_seconds():
            return
        self._last = now
        self._job()
