"""Serve a Daemon until told to stop: metrics listener, scheduler, graceful shutdown.

Used by `run` (until SIGTERM/SIGINT) and `demo` (until Ctrl-C or its duration).
"""

import logging
import os
import sys
import threading
from datetime import timedelta
from typing import NoReturn

from daemon.config import Config
from daemon.exporter import MetricsServer
from daemon.runtime import Daemon
from daemon.scheduler import HEARTBEAT_TICK, build_scheduler, guarded

log = logging.getLogger(__name__)


def serve(daemon: Daemon, server: MetricsServer, config: Config, stop: threading.Event) -> None:
    """Start everything, wait for `stop`, then shut down in order."""
    watchdog = daemon.notifier.watchdog_interval()
    heartbeat = HEARTBEAT_TICK
    if watchdog is not None:
        heartbeat = min(heartbeat, timedelta(seconds=watchdog))
    scheduler = build_scheduler(
        status_interval=config.poll.fixed_status_interval,
        status_cycle=daemon.status_cycle,
        refresh=daemon.refresh,
        heartbeat=daemon.heartbeat,
        leadership=daemon.leadership,
        check_database=daemon.check_database,
        heartbeat_interval=heartbeat,
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
    try:
        stop.wait()
    finally:
        log.info("stopping: finishing or auditing in-flight actions")
        scheduler.shutdown(wait=False)
        daemon.close()
        server.stop()
        log.info("stopped")


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
