"""`stacks-opsd once`: one full cycle (poll, evaluate, act), print what happened, exit.

One line per decision: an action with its outcome, a note with its reason, and an
action a hold or maintenance window paused with the pause (its audit note, written
the first time, is that same line).
"""

import argparse
import logging

from daemon.audit import Outcome
from daemon.cli.errors import CliError
from daemon.cli.startup import api_key_from, config_from_args, instance_name
from daemon.clock import SystemClock
from daemon.executor import Report
from daemon.log_setup import configure_logging
from daemon.pauses import pause_note
from daemon.runtime import Daemon
from policies import Decision, Note


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
    paused = done.screened.paused if done.screened else ()
    pause_notes = [pause_note(action, pause) for action, pause in paused]
    for decision, report in done.performed:
        if decision in pause_notes and report.outcome == Outcome.SKIPPED:
            continue  # its paused line says it
        print(f"{_subject(decision)}: {_result(decision, report)}")
    for action, pause in paused:
        print(f"{_subject(action)}: paused: {pause.reason}")
    if not done.performed and not paused:
        print("nothing to do")
    return 0


def _subject(decision: Decision) -> str:
    return f"{decision.actor}: {decision.action} {decision.container_name}"


def _result(decision: Decision, report: Report) -> str:
    """What became of a decision: a note's outcome and reason, an action's outcome, its
    backup and its error."""
    if isinstance(decision, Note):
        return f"{report.outcome}: {decision.reason}"
    backup = f" (backup {report.backup_id})" if report.backup_id else ""
    error = f": {report.error}" if report.error else ""
    return f"{report.outcome}{backup}{error}"
