"""`stacks-opsd change CONTAINER restart|stop|start|restore BACKUP_ID`, through the backup gate.

A change to a running container waits for a fresh completed backup first
(policies.pre_change_backup); the audit rows of both share a correlation id.
A container whose status the STACKS guide does not name (e.g. "starting") is
not changed, because whether it can be backed up first is unknown; --force
changes it anyway, and the audit row says so.
Exit 0 when the change succeeded, 1 when it failed, was aborted or skipped, or
its outcome is unknown (STACKS's answer was ambiguous and a read-back could not
confirm it: check the container before trying again).
"""

import argparse

from daemon.cli.errors import CliError, UsageError
from daemon.cli.operator_session import OperatorSession
from daemon.cli.progress import Progress, add_quiet_option
from daemon.cli.startup import config_from_args

ACTIONS = {
    "restart": "container.restart",
    "stop": "container.stop",
    "start": "container.start",
    "restore": "backup.restore",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "change",
        help="restart, stop, start or restore a container, backing it up first",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("container", metavar="CONTAINER", help="container id or name")
    parser.add_argument("verb", choices=tuple(ACTIONS), metavar="restart|stop|start|restore")
    parser.add_argument("backup_id", nargs="?", metavar="BACKUP_ID", help="for restore")
    add_quiet_option(parser)
    parser.add_argument(
        "--force",
        action="store_true",
        help="act even on a status the STACKS guide does not name (audited as forced)",
    )
    parser.set_defaults(handler=change)


def change(args: argparse.Namespace) -> int:
    if args.verb == "restore" and not (args.backup_id or "").isdigit():
        raise UsageError("restore needs the numeric BACKUP_ID to restore")
    if args.verb != "restore" and args.backup_id is not None:
        raise UsageError(f"{args.verb} takes no BACKUP_ID")
    session = OperatorSession(config_from_args(args), Progress.for_command(quiet=args.quiet))
    try:
        container = session.find(args.container)
        if args.backup_id is not None:
            session.check_backup_of(container, int(args.backup_id))
        words = f"{args.verb} {args.backup_id}" if args.backup_id else args.verb
        outcome = session.perform(
            container,
            ACTIONS[args.verb],
            reason=f"operator: stacks-opsd change {container.name} {words}",
            target=args.backup_id,
            force=args.force,
        )
    finally:
        session.close()
    backup = f" (pre-change backup {outcome.backup_id})" if outcome.backup_id else ""
    if outcome.outcome not in ("succeeded", "dry_run"):
        raise CliError(
            f"{args.verb} {container.name}: {outcome.outcome}{backup}: {outcome.error or ''}"
        )
    print(f"{args.verb} {container.name}: {outcome.outcome}{backup}")
    return 0
