"""`stacks-opsd backup CONTAINER [--pin] [--no-wait]`: a manual backup, audited.

By default it waits until STACKS reports the backup completed (or failed), then
pins it with --pin. With --no-wait it only triggers the backup.
"""

import argparse

from daemon.cli.errors import CliError, UsageError
from daemon.cli.operator_session import OperatorSession
from daemon.cli.progress import Progress, add_quiet_option
from daemon.cli.startup import config_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("backup", help="take a manual backup now", description=__doc__)
    parser.add_argument("container", metavar="CONTAINER", help="container id or name")
    parser.add_argument("--pin", action="store_true", help="pin the backup once it completes")
    parser.add_argument("--no-wait", action="store_true", help="trigger it and return")
    add_quiet_option(parser)
    parser.set_defaults(handler=backup)


def backup(args: argparse.Namespace) -> int:
    if args.pin and args.no_wait:
        raise UsageError("--pin needs the completed backup: it cannot be used with --no-wait")
    session = OperatorSession(config_from_args(args), Progress.for_command(quiet=args.quiet))
    try:
        container = session.find(args.container)
        reason = f"operator: stacks-opsd backup {container.name}"
        if args.no_wait:
            outcome = session.perform(container, "backup.create", f"{reason} --no-wait", wait=False)
        else:
            outcome = session.perform(container, "backup.create", reason)
        if outcome.outcome == "dry_run":
            print(f"backup of {container.name}: dry_run (daemon.dry_run: nothing was sent)")
            return 0
        if args.no_wait:
            if outcome.outcome != "succeeded":
                raise CliError(f"backup of {container.name} {outcome.outcome}: {outcome.error}")
            print(f"backup of {container.name} triggered (not waiting)")
            return 0
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
