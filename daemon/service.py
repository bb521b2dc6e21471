"""Serve a Daemon until told to stop: metrics listener, scheduler, graceful shutdown.

Used by `run` (until SIGTERM/SIGINT) and `demo` (until Ctrl-C or its duration).
"""

import logging
import os
import sys
import threading
from datetime import timedelta

from daemon.config import Config
from daemon.exporter.server import MetricsServer
from daemon.runtime import Daemon
from daemon.scheduler import HEARTBEAT_TICK, build_scheduler

log = logging.getLogger(__name__)


def serve(daemon: Daemon, server: MetricsServer, config: Config, stop: threading.Event) -> None:
    """Start everything, wait for `stop`, then shut down in order."""
    watchdog = daemon.notifier.watchdog_interval()
    heartbeat = HEARTBEAT_TICK
    if watchdog is not None:
        heartbeat = min(heartbeat, timedelta(seconds=watchdog))
    scheduler = build_scheduler(
        status_interval=config.poll.status_interval,
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
    scheduler.start()
    try:
        stop.wait()
    finally:
        log.info("stopping: finishing or auditing in-flight actions")
        scheduler.shutdown(wait=False)
        daemon.close()
        server.stop()
        log.info("stopped")


def exit_without_waiting_for_stragglers(code: int) -> None:
    """Exit now if worker threads are still blocked in an HTTP request.

    `Daemon.close` has ended every wait and audited what it could; a request still
    in flight is bounded only by the API timeout, and its action shows as
    `interrupted` at the next start. SIGTERM must not wait for it.
    """
    stragglers = [
        thread
        for thread in threading.enumerate()
        if thread is not threading.current_thread() and not thread.daemon and thread.is_alive()
    ]
    if not stragglers:
        return
    log.warning("exiting with %d request(s) still in flight", len(stragglers))
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
