"""`stacks-opsd once`: one full cycle (poll, evaluate, act), print what happened, exit."""

import argparse
import logging

from daemon.cli.errors import CliError
from daemon.cli.startup import api_key_from, config_from_args, instance_name
from daemon.clock import SystemClock
from daemon.log_setup import configure_logging
from daemon.runtime import Daemon


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "once", help="one cycle: poll, evaluate, act; print what was done", description=__doc__
    )
    parser.set_defaults(handler=once)


def once(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    configure_logging(config.daemon.log_format, level=logging.WARNING)
    key = api_key_from(config)
    daemon = Daemon(
        config, key, SystemClock(), instance=instance_name(config), synchronous_actions=True
    )
    try:
        with daemon.store.renewing():
            return cycle(daemon)
    finally:
        daemon.close()


def cycle(daemon: Daemon) -> int:
    """The daemon's own status cycle, complete (every metric and backup list read first)."""
    if not daemon.leadership():
        raise CliError("another stacks-opsd instance holds the lock for this database; not acting")
    done = daemon.status_cycle(complete=True)
    snapshot = done.snapshot
    if snapshot is None or not snapshot.status_ok:
        error = snapshot.last_error if snapshot else "no status poll was due"
        raise CliError(f"status poll failed, nothing decided: {error}")
    statuses: dict[str, int] = {}
    for view in snapshot.containers.values():
        statuses[view.container.status] = statuses.get(view.container.status, 0) + 1
    summary = ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
    print(f"polled {len(snapshot.containers)} containers ({summary or 'none'})")
    for decision, report in done.performed:
        backup = f" (backup {report.backup_id})" if report.backup_id else ""
        error = f": {report.error}" if report.error else ""
        print(
            f"{decision.actor}: {decision.action} {decision.container_name}: "
            f"{report.outcome}{backup}{error}"
        )
    if not done.performed:
        print("nothing to do")
    return 0
