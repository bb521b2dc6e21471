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


def build_scheduler(
    *,
    status_interval: timedelta,
    status_cycle: Callable[[], None],
    refresh: Callable[[], None],
    heartbeat: Callable[[], None],
    leadership: Callable[[], None],
    check_database: Callable[[], None],
    heartbeat_interval: timedelta = HEARTBEAT_TICK,
) -> BackgroundScheduler:
    """Jobs start right away (the refresh one tick later, after the first status poll).

    APScheduler runs on wall-clock time, whatever Clock the daemon's logic uses
    (the demo's simulated clock runs days ahead of it).
    """
    start_at = datetime.now(UTC)
    scheduler = BackgroundScheduler(
        timezone="UTC",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
    )
    jobs = (
        ("heartbeat", heartbeat, heartbeat_interval, start_at),
        ("leadership", leadership, min(status_interval / 3, timedelta(seconds=5)), start_at),
        ("status", status_cycle, status_interval, start_at),
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
