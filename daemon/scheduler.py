"""The daemon's job schedule on APScheduler 3: poll, refresh, evaluate, heartbeat, leadership.

Every job is `coalesce=True, max_instances=1` with a misfire grace, so a slow
API never piles jobs up. The heartbeat job is what `/healthz` and the systemd
watchdog watch: if the scheduler's threads stall, the heartbeat goes stale.
"""

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from daemon.clock import StopRequested

log = logging.getLogger(__name__)

REFRESH_TICK = timedelta(seconds=5)
HEARTBEAT_TICK = timedelta(seconds=1)
DATABASE_TICK = timedelta(seconds=5)
AUTO_STATUS_TICK = timedelta(seconds=0.25)  # "auto": the status job asks the poller if due
LEADERSHIP_TICK = timedelta(seconds=5)  # at most; a third of a fixed status interval if less


def build_scheduler(
    *,
    status_interval: timedelta | None,
    status_cycle: Callable[[], None],
    refresh: Callable[[], None],
    heartbeat: Callable[[], None],
    leadership: Callable[[], None],
    check_database: Callable[[], None],
    heartbeat_interval: timedelta = HEARTBEAT_TICK,
) -> BackgroundScheduler:
    """Jobs start right away (the refresh one tick later, after the first status poll).

    `status_interval` None is "auto": the status job ticks every `AUTO_STATUS_TICK`
    and polls when the poller's current interval has passed. APScheduler runs on
    wall-clock time, whatever Clock the daemon's logic uses (the demo's simulated
    clock runs days ahead of it).
    """
    leadership_every = LEADERSHIP_TICK
    if status_interval is not None:
        leadership_every = min(status_interval / 3, LEADERSHIP_TICK)
    start_at = datetime.now(UTC)
    scheduler = BackgroundScheduler(
        timezone="UTC",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
    )
    jobs = (
        ("heartbeat", heartbeat, heartbeat_interval, start_at),
        ("leadership", leadership, leadership_every, start_at),
        ("status", status_cycle, status_interval or AUTO_STATUS_TICK, start_at),
        ("refresh", refresh, REFRESH_TICK, start_at + REFRESH_TICK),
        ("database", check_database, DATABASE_TICK, start_at),
    )
    for name, function, every, first in jobs:
        scheduler.add_job(
            guarded(name, function),
            "interval",
            seconds=every.total_seconds(),
            id=name,
            name=name,
            next_run_time=first,
        )
    return scheduler


def guarded(name: str, function: Callable[[], None]) -> Callable[[], None]:
    """A job that logs its failure instead of killing the scheduler's worker."""

    def job() -> None:
        try:
            function()
        except StopRequested:
            log.debug("job %s ended: the daemon is stopping", name)
        except Exception:
            log.exception("job %s failed; it will run again at its next interval", name)

    job.__name__ = f"{name}_job"
    return job
