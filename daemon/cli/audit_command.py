"""`stacks-opsd audit list|verify`: read and check the audit log."""

import argparse
from datetime import timedelta

from daemon.audit import ACTIONS, OUTCOMES, AuditStore, render_csv, render_json, render_table
from daemon.cli.errors import CliError, UsageError
from daemon.cli.startup import config_from_args, instance_name
from daemon.clock import SystemClock
from daemon.durations import parse_duration

RENDERERS = {"table": render_table, "json": render_json, "csv": render_csv}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("audit", help="list or verify the audit log")
    commands = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    listing = commands.add_parser("list", help="show audit rows, newest last")
    listing.add_argument("--since", default="24h", help='how far back, e.g. "7d" (default 24h)')
    listing.add_argument("--container", help="container id or name")
    listing.add_argument("--action", help=f"e.g. {', '.join(ACTIONS[:3])}")
    listing.add_argument("--outcome", choices=OUTCOMES, help="e.g. succeeded, gave_up")
    listing.add_argument("--format", choices=tuple(RENDERERS), default="table")
    listing.set_defaults(handler=audit_list)
    verify = commands.add_parser("verify", help="check the hash chain; exit 1 if tampered")
    verify.set_defaults(handler=audit_verify)


def open_store(args: argparse.Namespace) -> AuditStore:
    config = config_from_args(args)
    return AuditStore.open(config.daemon.database_url, instance_name(config), SystemClock())


def audit_list(args: argparse.Namespace) -> int:
    try:
        window: timedelta = parse_duration(args.since)
    except ValueError as error:
        raise UsageError(f"--since: {error}") from None
    clock = SystemClock()
    store = open_store(args)
    try:
        rows = store.query(
            since=clock.now() - window,
            container=args.container,
            action=args.action,
            outcome=args.outcome,
        )
    finally:
        store.close()
    print(RENDERERS[args.format](rows), end="")
    return 0


def audit_verify(args: argparse.Namespace) -> int:
    store = open_store(args)
    try:
        result = store.verify()
    finally:
        store.close()
    if not result.ok:
        raise CliError(
            f"audit log TAMPERED: first broken row id {result.first_broken_id}: {result.problem} "
            f"({result.checked} rows checked)"
        )
    print(f"audit log OK: {result.checked} rows, hash chain intact")
    return 0
