"""A change decided before a pause began is not sent into it: after a 429's wait the
executor asks again, right before the request, whether a hold or a window now keeps
the container (the real Daemon in simulated time, tests/support/simulated_run.py)."""

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from daemon.clock import ManualClock
from daemon.config import TimeRangeConfig, WindowConfig
from policies import Action
from tests.support.simulated_run import AMPLE_RATE_LIMIT, SimulatedRun, config_with

NOON = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday
INTERVAL = timedelta(seconds=5)


class WaitingClock(ManualClock):
    """A ManualClock that calls `on_wait` once, when the daemon first sleeps."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self.on_wait: Callable[[], None] | None = None

    def sleep(self, seconds: float) -> None:
        hook, self.on_wait = self.on_wait, None
        if hook is not None:
            hook()
        super().sleep(seconds)


def crash_answered_429(run: SimulatedRun, retry_after: int) -> str:
    web = run.seed("web")
    run.advance(timedelta(minutes=2))
    run.simulator.crash(web)
    run.simulator.reject_mutations_429(1, retry_after=retry_after)
    return web


def restarts(run: SimulatedRun) -> list[tuple[str, str]]:
    return [(row.outcome, row.reason) for row in run.rows(action="container.restart")]


def test_a_hold_placed_while_a_restart_waits_out_a_429_keeps_it_from_being_sent(tmp_path):
    clock = WaitingClock(NOON)
    run = SimulatedRun(
        tmp_path, config_with(status_interval=INTERVAL), clock=clock, rate_limit=AMPLE_RATE_LIMIT
    )
    try:
        run.daemon.leadership()
        crash_answered_429(run, retry_after=600)
        clock.on_wait = lambda: run.daemon.store.place_hold(
            "web", "DB migration, hands off", "alice", clock.now() + timedelta(hours=2), "cli"
        )
        run.advance(INTERVAL * 2)

        assert [outcome for outcome, _ in restarts(run)] == ["started", "skipped"]
        assert "held (hold 1 on 'web' by alice" in restarts(run)[-1][1]
        assert restarts(run)[-1][1].endswith("since it was decided: nothing sent")
        assert [m.method for m in run.simulator.mutations()] == []  # the 429 applied nothing
    finally:
        run.close()


def test_a_window_that_opens_while_a_restart_waits_out_a_429_keeps_it_from_being_sent(tmp_path):
    window = WindowConfig(
        name="wednesday-noon",
        times=(TimeRangeConfig("12:05", "13:00"),),
        weekdays=("wednesday",),
        match=("web",),
        pause=("container.restart",),
    )
    config = dataclasses.replace(config_with(status_interval=INTERVAL), windows=(window,))
    run = SimulatedRun(tmp_path, config, start=NOON, rate_limit=AMPLE_RATE_LIMIT)
    try:
        run.daemon.leadership()
        crash_answered_429(run, retry_after=300)  # decided at 12:02, next round at 12:07
        run.advance(INTERVAL * 2)

        assert [outcome for outcome, _ in restarts(run)] == ["started", "skipped"]
        assert "maintenance window 'wednesday-noon' is active" in restarts(run)[-1][1]
        assert [m.method for m in run.simulator.mutations()] == []
    finally:
        run.close()


def test_no_pre_change_backup_is_taken_for_a_change_a_window_now_pauses(tmp_path):
    """A gated automatic change reaching the executor while a window pauses all actions:
    neither the backup nor the change is sent (the backup is a change too)."""
    window = WindowConfig(name="always", match=("web",))  # all actions, all the time
    config = dataclasses.replace(config_with(status_interval=INTERVAL), windows=(window,))
    run = SimulatedRun(tmp_path, config, start=NOON, rate_limit=AMPLE_RATE_LIMIT)
    try:
        run.daemon.leadership()
        web = run.seed("web")  # running: a restart of it needs a backup first
        decided = Action("auto_restart", "container.restart", web, "web", "status error")

        report = run.daemon.executor.perform(decided)  # decided before the window began

        assert report.outcome == "skipped"
        assert "maintenance window 'always' is active" in (report.error or "")
        assert run.simulator.mutations() == []
    finally:
        run.close()
