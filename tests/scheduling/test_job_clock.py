"""The job schedule keeps going when the wall clock steps back, and follows intervals a
reload changed: a real APScheduler, fake clocks only where a step must be made."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from daemon.job_clock import ClockStepWatch, Paced
from daemon.service import LEADERSHIP_TICK, leadership_interval


class Clocks:
    """A wall clock that can step while the monotonic one runs on."""

    def __init__(self) -> None:
        self.monotonic_now = 1000.0
        self.wall_now = 1_780_000_000.0
        self.paused_after_wall = 0.0  # the reader is paused this long after its next wall reading

    def wall(self) -> float:
        now, pause = self.wall_now, self.paused_after_wall
        self.wall_now += pause
        self.monotonic_now += pause
        self.paused_after_wall = 0.0
        return now

    def monotonic(self) -> float:
        return self.monotonic_now


def scheduler_waiting_out_a_step(ran: threading.Event) -> BackgroundScheduler:
    """A started scheduler whose heartbeat job next runs two minutes from now: what a
    backward step of two minutes leaves behind."""
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        ran.set, "interval", seconds=1, id="heartbeat",
        next_run_time=datetime.now(UTC) + timedelta(minutes=2),
    )  # fmt: skip
    scheduler.start()
    return scheduler


@contextmanager
def watching() -> Iterator[tuple[threading.Event, Clocks, ClockStepWatch]]:
    """A scheduler waiting out a step, its fake clocks, and a watch on them."""
    ran = threading.Event()
    scheduler = scheduler_waiting_out_a_step(ran)
    clocks = Clocks()
    try:
        yield ran, clocks, ClockStepWatch(scheduler, clocks.wall, clocks.monotonic)
    finally:
        scheduler.shutdown(wait=False)


def test_after_the_wall_clock_steps_back_every_job_runs_at_once():
    with watching() as (ran, clocks, watch):
        clocks.monotonic_now += 1
        clocks.wall_now -= 119  # one second passed; the wall clock says two minutes less
        assert watch.check() == 120
        assert ran.wait(5), "the heartbeat still waits out the step"


def test_clocks_that_run_together_or_step_forward_change_nothing():
    with watching() as (ran, clocks, watch):
        for _ in range(3):
            clocks.monotonic_now += 1
            clocks.wall_now += 1.5  # NTP slewing, then a forward step below
            assert watch.check() == 0
        clocks.wall_now += 3600
        assert watch.check() == 0
        assert not ran.wait(1.5)


def test_a_reader_paused_between_its_readings_is_not_taken_for_a_step():
    with watching() as (ran, clocks, watch):
        clocks.monotonic_now += 1
        clocks.wall_now += 1
        clocks.paused_after_wall = 3  # a loaded machine: 3 s between two readings
        assert watch.check() == 0
        assert not ran.wait(1.5)
        clocks.monotonic_now += 1
        clocks.wall_now -= 59  # a real step at the next look is still seen
        assert watch.check() == 60  # 5 s passed, the wall clock shows 55 s less
        assert ran.wait(5)


def test_a_paced_job_follows_the_interval_as_it_is_now():
    clocks = Clocks()
    runs = []
    interval = [timedelta(seconds=5)]
    paced = Paced(lambda: runs.append(clocks.monotonic_now), lambda: interval[0], clocks.monotonic)
    for _ in range(20):  # ticks every 0.5 s for 10 s
        paced()
        clocks.monotonic_now += 0.5
    assert runs == [1000.0, 1005.0]
    interval[0] = timedelta(seconds=1)  # a reload lowered the status interval
    for _ in range(8):
        paced()
        clocks.monotonic_now += 0.5
    assert runs[2:] == [1010.0, 1011.0, 1012.0, 1013.0]


def test_a_standby_checks_leadership_within_a_third_of_the_status_interval():
    assert leadership_interval(None) == LEADERSHIP_TICK  # "auto"
    assert leadership_interval(timedelta(seconds=15)) == LEADERSHIP_TICK
    assert leadership_interval(timedelta(seconds=3)) == timedelta(seconds=1)
