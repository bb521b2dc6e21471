"""`stacks-opsd hold|release|holds`: tell the daemon "hands off these containers until then".

    stacks-opsd hold shop-db --for 2h --reason "migration"
    stacks-opsd hold 'shop-*' --for 30m --reason "deploy"
    stacks-opsd holds [--all] [--format table|json]
    stacks-opsd release shop-db          # or a glob: release 'shop-*', release '*'

A hold pauses every automatic action (restart, pin, unpin) on the containers it
names, by id, name or name glob, until it is released or expires; operator
`change` and `backup` commands still act. Holds live in the audit database, so
the running daemon (and its standbys) see them at the next status cycle without
a restart; placing and releasing one are audited (actor `cli`), and the daemon
audits each expiry once. The daemon does not need to be running, and no API
key is needed: only the audit database.
"""

import argparse
import getpass
import json
import socket
from datetime import timedelta

from daemon.audit import AuditStore, Hold
from daemon.cli.errors import CliError, UsageError
from daemon.cli.startup import config_from_args, instance_name
from daemon.clock import SystemClock
from daemon.durations import EXAMPLES, parse_duration
from policies import OPERATOR

COLUMNS = ("ID", "PATTERN", "UNTIL (UTC)", "SET BY", "REASON", "ENDED")


def register(subparsers: argparse._SubParsersAction) -> None:
    hold = subparsers.add_parser(
        "hold",
        help="pause the daemon's automatic actions on containers for a while",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    hold.add_argument("pattern", metavar="CONTAINER|GLOB", help="container id, name or name glob")
    hold.add_argument("--for", dest="duration", required=True, help='how long, e.g. "2h"')
    hold.add_argument("--reason", required=True, help="why (shown in /status and the audit log)")
    hold.set_defaults(handler=place)
    release = subparsers.add_parser(
        "release",
        help="end holds before they expire",
        description="End the active holds placed on CONTAINER|GLOB (a glob also ends the "
        "holds whose pattern it matches: release '*' ends them all).",
    )
    release.add_argument("pattern", metavar="CONTAINER|GLOB")
    release.set_defaults(handler=release_holds)
    listing = subparsers.add_parser("holds", help="list the active holds")
    listing.add_argument("--all", action="store_true", help="also the ended ones (newest 100)")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    listing.set_defaults(handler=list_holds)


def who() -> str:
    """The operator placing or releasing a hold: user@host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def open_store(args: argparse.Namespace) -> AuditStore:
    config = config_from_args(args)
    return AuditStore.open(
        config.daemon.database_url, instance_name(config), SystemClock(), role="cli"
    )


def place(args: argparse.Namespace) -> int:
    try:
        duration = parse_duration(args.duration)
    except ValueError as error:
        raise UsageError(f"--for: {error}") from None
    if duration <= timedelta(0):
        raise UsageError(f"--for: expected a positive duration like {EXAMPLES}")
    if not args.reason.strip():
        raise UsageError("--reason: say why the containers are held (it is shown to others)")
    if not args.pattern.strip():
        raise UsageError("CONTAINER|GLOB: expected a container id, name or name glob")
    store = open_store(args)
    try:
        hold = store.place_hold(
            args.pattern, args.reason.strip(), who(), SystemClock().now() + duration, OPERATOR
        )
    finally:
        store.close()
    print(
        f"held {hold.pattern} until {until(hold)} (hold {hold.id}): automatic actions paused; "
        f"`stacks-opsd release {hold.pattern}` ends it sooner"
    )
    return 0


def release_holds(args: argparse.Namespace) -> int:
    store = open_store(args)
    try:
        ended = store.release_holds(args.pattern, who(), OPERATOR)
        active = [] if ended else store.active_holds()
    finally:
        store.close()
    if not ended:
        patterns = ", ".join(sorted({hold.pattern for hold in active})) or "none"
        raise CliError(
            f"no active hold on {args.pattern!r}; active holds are on: {patterns} "
            "(release takes a hold's pattern as it was placed, or a glob matching it)"
        )
    for hold in ended:
        print(f"released hold {hold.id} on {hold.pattern} ({hold.reason})")
    return 0


def list_holds(args: argparse.Namespace) -> int:
    store = open_store(args)
    try:
        holds = store.recent_holds() if args.all else store.active_holds()
    finally:
        store.close()
    if args.format == "json":
        print(json.dumps([hold.as_json() for hold in holds], indent=2))
        return 0
    if not holds:
        print("no active holds" if not args.all else "no holds")
        return 0
    rows = [
        (str(h.id), h.pattern, until(h), h.set_by, h.reason, h.end or "")
        for h in holds
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in (COLUMNS, *rows)) for i in range(len(COLUMNS))]
    for row in (COLUMNS, *rows):
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def until(hold: Hold) -> str:
    return hold.expires_at.strftime("%Y-%m-%d %H:%M:%S")
