"""`stacks-opsd backup CONTAINER [--pin] [--no-wait]`: a manual backup, audited.

By default it waits until STACKS reports the backup completed (or failed), then
pins it with --pin. With --no-wait it only triggers the backup.
"""

import argparse

from daemon.audit.ids import new_action_id
from daemon.cli.errors import CliError, UsageError
from daemon.cli.operator_session import OperatorSession
from daemon.cli.startup import config_from_args
from daemon.stacks.ratebudget import Priority
from policies.base import OPERATOR


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("backup", help="take a manual backup now", description=__doc__)
    parser.add_argument("container", metavar="CONTAINER", help="container id or name")
    parser.add_argument("--pin", action="store_true", help="pin the backup once it completes")
    parser.add_argument("--no-wait", action="store_true", help="trigger it and return")
    parser.set_defaults(handler=backup)


def backup(args: argparse.Namespace) -> int:
    if args.pin and args.no_wait:
        raise UsageError("--pin needs the completed backup: it cannot be used with --no-wait")
    session = OperatorSession(config_from_args(args))
    try:
        container = session.find(args.container)
        if args.no_wait:
            return trigger_only(session, container)
        reason = f"operator: stacks-opsd backup {container.name}"
        outcome = session.perform(container, "backup.create", reason)
        if outcome.outcome != "succeeded":
            raise CliError(f"backup of {container.name} {outcome.outcome}: {outcome.error}")
        print(f"backup {outcome.backup_id} of {container.name} completed")
        if args.pin:
            pinned = session.perform(
                container, "backup.pin", f"{reason} --pin", target=str(outcome.backup_id)
            )
            if pinned.outcome != "succeeded":
                raise CliError(f"pinning backup {outcome.backup_id} failed: {pinned.error}")
            print(f"backup {outcome.backup_id} pinned")
    finally:
        session.close()
    return 0


def trigger_only(session: OperatorSession, container) -> int:
    """POST backup with write-ahead audit rows, without waiting for the result."""
    row = {
        "action_id": new_action_id(),
        "container_id": container.id,
        "container_name": container.name,
        "reason": f"operator: stacks-opsd backup {container.name} --no-wait",
    }
    session.store.append(OPERATOR, "backup.create", "started", **row)
    try:
        session.client.trigger_backup(container.id, priority=Priority.ACTION)
    except Exception as error:
        session.store.append(
            OPERATOR, "backup.create", "failed", error=str(error),
            http_status=getattr(error, "http_status", None), **row,
        )  # fmt: skip
        raise
    session.store.append(OPERATOR, "backup.create", "succeeded", details={"waited": False}, **row)
    print(f"backup of {container.name} triggered (not waiting; see `stacks-opsd audit list`)")
    return 0
