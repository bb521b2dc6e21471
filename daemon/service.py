"""Serving a Daemon until told to stop: its job schedule, the metrics listener, graceful stop.

Used by `run` (until SIGTERM/SIGINT) and `demo` (until Ctrl-C or its duration).
The jobs run on APScheduler 3: poll, refresh, evaluate, heartbeat, leadership,
and config (a reload asked for by SIGHUP or a changed file, daemon/config_reload.py).
Every job is `coalesce=True, max_instances=1` with a misfire grace, so a slow
API never piles jobs up. The heartbeat job is what `/healthz` and the systemd
watchdog watch: if the scheduler's threads stall, the heartbeat goes stale.
"""

import logging
import os
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import NoReturn

from apscheduler.schedulers.background import BackgroundScheduler

from daemon.clock import StopRequested
from daemon.config import Config
from daemon.config_reload import CONFIG_TICK, ConfigReloader
from daemon.exporter import MetricsServer
from daemon.job_clock import ClockStepWatch, Paced
from daemon.runtime import Daemon

log = logging.getLogger(__name__)

REFRESH_TICK = timedelta(seconds=5)
HEARTBEAT_TICK = timedelta(seconds=1)  # at most; the systemd watchdog interval if less
DATABASE_TICK = timedelta(seconds=5)
AUTO_STATUS_TICK = timedelta(seconds=0.25)  # "auto": the status job asks the poller if due
LEADERSHIP_TICK = timedelta(seconds=5)  # at most; a third of a fixed status interval if less


def serve(
    daemon: Daemon,
    server: MetricsServer,
    config: Config,
    stop: threading.Event,
    reloader: ConfigReloader | None = None,
) -> None:
    """Start everything, wait for `stop`, then shut down in order. With a `reloader`, a
    job checks every CONFIG_TICK whether to reload the config."""
    scheduler = build_scheduler(daemon)
    clock_steps = ClockStepWatch(scheduler)
    if reloader is not None:
        scheduler.add_job(
            guarded("config", reloader.check),
            "interval",
            seconds=CONFIG_TICK.total_seconds(),
            id="config",
            name="config",
        )
    try:
        server.start()
    except OSError:
        daemon.close()
        raise
    log.info(
        "stacks-opsd %s: metrics on %s/metrics, audit in %s%s",
        daemon.instance,
        server.url,
        daemon.store.database,
        " (dry run: no changes)" if config.daemon.dry_run else "",
    )
    # Leadership first, so the first status poll (the scheduler's first job) already acts:
    # /readyz answers within about a second of a reachable API.
    guarded("leadership", daemon.leadership)()
    scheduler.start()
    clock_steps.start()
    daemon.start_notifications()
    try:
        stop.wait()
    finally:
        log.info("stopping: finishing or auditing in-flight actions")
        clock_steps.stop()
        scheduler.shutdown(wait=False)
        daemon.close()
        server.stop()
        log.info("stopped")


def build_scheduler(daemon: Daemon) -> BackgroundScheduler:
    """The daemon's jobs; they start right away (the refresh one tick later, after the
    first status poll).

    The status job ticks every `AUTO_STATUS_TICK` and polls when the poller's
    current interval has passed ("auto" is from the budget); the leadership job ticks
    as often and runs every `leadership_interval` of the running config. So intervals
    a config reload changed apply without rescheduling. APScheduler runs on wall-clock
    time, whatever Clock the daemon's logic uses (the demo's simulated clock runs days
    ahead of it); `ClockStepWatch` (job_clock.py) keeps it going after a backward step.
    """
    heartbeat_every = HEARTBEAT_TICK
    watchdog = daemon.notifier.watchdog_interval()
    if watchdog is not None:
        heartbeat_every = min(heartbeat_every, timedelta(seconds=watchdog))
    leadership = Paced(
        daemon.leadership,
        lambda: leadership_interval(daemon.config.poll.fixed_status_interval),
    )
    start_at = datetime.now(UTC)
    scheduler = BackgroundScheduler(
        timezone="UTC",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
    )
    jobs = (
        ("heartbeat", daemon.heartbeat, heartbeat_every, start_at),
        ("leadership", leadership, AUTO_STATUS_TICK, start_at),
        ("status", daemon.status_cycle, AUTO_STATUS_TICK, start_at),
        ("refresh", daemon.refresh, REFRESH_TICK, start_at + REFRESH_TICK),
        ("database", daemon.check_database, DATABASE_TICK, start_at),
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


def leadership_interval(status_interval: timedelta | None) -> timedelta:
    """How often leadership is checked: a standby takes over within one status interval
    (SPEC 6), a third of a fixed one, at most `LEADERSHIP_TICK` ("auto": None)."""
    if status_interval is None:
        return LEADERSHIP_TICK
    return min(status_interval / 3, LEADERSHIP_TICK)


def guarded(name: str, function: Callable[[], object]) -> Callable[[], None]:
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


def exit_now(code: int) -> NoReturn:
    """Exit without the interpreter's final join of worker threads.

    `Daemon.close` has ended every wait, audited what it could, closed the store and
    released the lock. A worker still blocked in an HTTP request is bounded only by
    the API timeout (its action shows as `interrupted` at the next start), and
    Python would wait for it at exit: SIGTERM must not.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
