"""`stacks-opsd audit list|export|verify`: read, export and check the audit log.

`verify` checks the database: the hash chain, then the episode marks a start reads
from (state beside the chain, daemon/audit/episode_marks.py); `verify --file FILE`
checks an exported file offline (daemon/audit/export.py says what that proves and
what it cannot).
"""

import argparse
import sys
from datetime import datetime, timedelta

from daemon.audit import (
    ACTIONS,
    GENESIS_HASH,
    OUTCOMES,
    SKEW_ALLOWANCE,
    AuditStore,
    ExportCheck,
    HistoryRow,
    MarkCheck,
    export_line,
    read_lines,
    render_csv,
    render_json,
    render_table,
    verify_export,
)
from daemon.cli.errors import CliError, UsageError
from daemon.cli.startup import config_from_args, instance_name
from daemon.clock import SystemClock
from daemon.durations import format_duration, parse_duration
from policies import declared_history

RENDERERS = {"table": render_table, "json": render_json, "csv": render_csv}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("audit", help="list or verify the audit log")
    commands = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    listing = commands.add_parser("list", help="show audit rows, newest last")
    listing.add_argument("--since", default="24h", help='how far back, e.g. "7d" (default 24h)')
    listing.add_argument("--container", help="container id or name")
    listing.add_argument(
        "--action",
        choices=[action.value for action in ACTIONS],
        metavar="ACTION",
        help=f"e.g. {', '.join(ACTIONS[:3])}",
    )
    listing.add_argument("--outcome", choices=OUTCOMES, help="e.g. succeeded, gave_up")
    listing.add_argument("--format", choices=tuple(RENDERERS), default="table")
    listing.set_defaults(handler=audit_list)
    export = commands.add_parser(
        "export", help="write rows with their chain (hash, prev_hash) as JSON lines"
    )
    export.add_argument(
        "--since", help='from the first row this far back, e.g. "7d" (default: every row)'
    )
    export.add_argument("--format", choices=("jsonl",), default="jsonl")
    export.set_defaults(handler=audit_export)
    verify = commands.add_parser(
        "verify", help="check the hash chain and the episode marks; exit 1 if tampered"
    )
    verify.add_argument(
        "--file",
        help="check an `audit export` file offline instead of the database ('-': stdin)",
    )
    verify.add_argument(
        "--sink",
        metavar="NAME",
        help="with --file: the jsonl sink that wrote it; a gap its notify.summary rows name "
        "(rows it passed over while down) is accepted",
    )
    verify.set_defaults(handler=audit_verify)


def open_store(args: argparse.Namespace) -> AuditStore:
    """The audit database the config names; it must exist (a new one has no log to show)."""
    config = config_from_args(args)
    return AuditStore.open(
        config.daemon.database_url, instance_name(config), SystemClock(), create=False
    )


def since_option(text: str) -> datetime:
    try:
        window: timedelta = parse_duration(text)
    except ValueError as error:
        raise UsageError(f"--since: {error}") from None
    return SystemClock().now() - window


def audit_list(args: argparse.Namespace) -> int:
    since = since_option(args.since)
    store = open_store(args)
    try:
        rows = store.query(
            since=since,
            container=args.container,
            action=args.action,
            outcome=args.outcome,
        )
    finally:
        store.close()
    print(RENDERERS[args.format](rows), end="")
    return 0


def audit_export(args: argparse.Namespace) -> int:
    since = None if args.since is None else since_option(args.since)
    store = open_store(args)
    count, first, last = 0, None, None
    try:
        for row in store.export_rows(since):
            sys.stdout.write(export_line(row))
            count, last = count + 1, row["id"]
            first = last if first is None else first
    finally:
        store.close()
    sys.stdout.flush()
    span = f" (ids {first}..{last})" if count else ""
    print(f"exported {count} rows{span}", file=sys.stderr)
    return 0


def audit_verify(args: argparse.Namespace) -> int:
    if args.file is not None:
        return verify_file(args.file, args.sink)
    if args.sink is not None:
        raise UsageError("--sink names the jsonl sink that wrote a --file; give --file FILE too")
    store = open_store(args)
    try:
        result = store.verify()
        if not result.ok:
            raise CliError(
                f"audit log TAMPERED: first broken row id {result.first_broken_id}: "
                f"{result.problem} ({result.checked} rows checked)"
            )
        marks = store.check_marks(declared_history(SystemClock().now()))
        held = store.check_holds()
    finally:
        store.close()
    broken = [(check, check.missed) for check in marks if check.missed is not None]
    problems = [_mark_problem(check, row) for check, row in broken]
    problems += [_wrong_list(check) for check in marks if check.wrong_list is not None]
    problems += [f"audit_hold TAMPERED: {problem}" for problem in held]
    if problems:
        raise CliError("\n".join(problems))
    print(
        f"audit log OK: {result.checked} rows, hash chain intact; {_marks_summary(marks)}; "
        "holds agree with their rows"
    )
    return 0


def _marks_summary(marks: list[MarkCheck]) -> str:
    checked = sum(check.declared for check in marks)
    summary = f"episode marks: {checked} hold"
    if len(marks) > checked:
        summary += f", {len(marks) - checked} not checked (no policy of this version reads them)"
    return summary


def _mark_problem(check: MarkCheck, row: HistoryRow) -> str:
    subject = row.container_id if row.target is None else f"{row.container_id}, {row.target}"
    since = "" if check.mark.read_from is None else f" from {check.mark.read_from.isoformat()}"
    return (
        f"episode mark {check.episode!r} does NOT hold: row {row.id} ({row.action} "
        f"{row.outcome} of {subject}, at {row.at.isoformat()}) opened an episode that is "
        f"still open, but the mark says every one opened{since} before "
        f"{check.mark.closed_before.isoformat()} is closed, so a start would not read it. "
        "The mark was edited, or that row was written on a clock more than "
        f"{format_duration(SKEW_ALLOWANCE)} behind. Marks only speed up a start: delete this "
        f"one (DELETE FROM audit_episode_mark WHERE episode = '{check.episode}') and the "
        "next start reads the policy's whole history again"
    )


def _wrong_list(check: MarkCheck) -> str:
    return (
        f"episode mark {check.episode!r} does NOT hold: {check.wrong_list}. Its list of the "
        "episodes still open was edited. Marks only speed up a start: delete this one "
        f"(DELETE FROM audit_episode_mark WHERE episode = '{check.episode}') and the next "
        "start reads the policy's whole history again"
    )


def verify_file(path: str, sink: str | None) -> int:
    try:
        check = verify_export(sys.stdin if path == "-" else read_lines(path), sink)
    except OSError as error:
        raise UsageError(
            f"cannot read export file {path}: {error.strerror or error}; "
            "give the path of a file written by `stacks-opsd audit export`"
        ) from None
    if not check.ok and check.rows == 0 and check.broken_line is None:
        raise CliError(f"export {path}: {check.problem}")  # empty: nothing to call tampered
    if not check.ok:
        where = f"line {check.broken_line}" if check.broken_line else "the file"
        raise CliError(f"export {path} TAMPERED: {where}: {check.problem} ({check.rows} rows read)")
    print(export_summary(path, check, sink))
    return 0


def export_summary(path: str, check: ExportCheck, sink: str | None) -> str:
    if check.from_genesis:
        start = f"  starts at the log's first row (prev_hash {GENESIS_HASH[:12]}..., genesis)"
    else:
        start = (
            f"  starts after the row with hash {check.anchor}\n"
            f"  (row {check.first_id}'s prev_hash; that row is not in the file)"
        )
    intact = "hash chain intact"
    proven = (
        "proven: no row between the first line and the last was edited, removed, "
        "inserted or reordered."
    )
    if check.summarized:
        ranges = ", ".join(f"{first}..{last}" for first, last in check.summarized)
        intact += (
            f" except where sink {sink!r} passed over rows, as its notify.summary rows in "
            f"the file say (ids {ranges})"
        )
        befores = ", ".join(f"row {row_id} {row_hash}" for row_id, row_hash in check.before_gaps)
        proven = (
            "proven: no row after the last gap was edited, removed, inserted or reordered. "
            "The chain cannot be followed across a gap, and a summary row proves nothing "
            "by itself (anyone can write one), so the lines before each gap are proven "
            "only if the line right before it is the database's row: compare these hashes "
            f"with the database too: {befores}."
        )
    return "\n".join(
        [
            f"export {path} OK: {check.rows} rows, ids {check.first_id}..{check.last_id}, "
            + intact
            + (f" ({check.samples} `notify test` line(s) passed over)" if check.samples else ""),
            start,
            f"  ends with the row with hash {check.last_hash}",
            proven,
            "not proven: that no rows were cut off before the first line or after the last, "
            "or that the file was not rebuilt whole (the chain has no secret). Compare the "
            "two hashes above with the database: `stacks-opsd audit verify` there, then "
            "`stacks-opsd audit list --format json` shows each row's hash.",
        ]
    )
