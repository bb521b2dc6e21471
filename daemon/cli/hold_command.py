"""`stacks-opsd hold|release|holds`: tell the daemon "hands off these containers until then".

    stacks-opsd hold shop-db --for 2h --reason "migration" [--wait-timeout 2m | --no-wait] [-q]
    stacks-opsd hold 'shop-*' --for 30m --reason "deploy"
    stacks-opsd holds [--all] [--format table|json]
    stacks-opsd release shop-db          # or a glob: release 'shop-*', release '*'

A hold pauses every automatic action (restart, pin, unpin) on the containers it
names, by id, name or name glob, until it is released or expires; operator
`change` and `backup` commands still act. Holds live in the audit database, so
the running daemon (and its standbys) see them at the next status cycle without
a restart; placing and releasing one are audited (actor `cli`), and the daemon
audits each expiry once. The daemon does not need to be running, and no API
key is needed: only the audit database. Times are UTC.

A pattern that names no container the audit log has a row about is warned
about on stderr (a typo holds nothing), and placed all the same: a container
created later may be meant. A release that leaves a container it named held by
another hold says which (`shop-db is still held by hold 1 on 'shop-*' ...`).

Once the hold is placed, `hold` waits until no action already in flight on a
held container is still running (a restart, or a change waiting for its
pre-change backup, of the daemon or of an operator's `change`), showing what it
waits for and for how long (--quiet: nothing), so that when it returns the
daemon is hands-off. After --wait-timeout (default 2m) it exits 1 saying what is
still in flight; the hold stays in place. --no-wait returns at once.
"""

import argparse
import difflib
import json
import sys
from datetime import UTC, timedelta

from daemon.audit import AuditError, AuditStore, Hold, is_glob
from daemon.cli.errors import CliError, UsageError
from daemon.cli.hold_wait import describe, wait_for_hands_off
from daemon.cli.progress import Progress, add_quiet_option
from daemon.cli.startup import config_from_args, instance_name, operator_name
from daemon.clock import SystemClock
from daemon.durations import EXAMPLES, format_duration, parse_duration
from policies import OPERATOR

WAIT_TIMEOUT = "2m"  # --wait-timeout's default
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
    waiting = hold.add_mutually_exclusive_group()
    waiting.add_argument(
        "--wait-timeout",
        default=WAIT_TIMEOUT,
        help="how long to wait for actions already in flight on the held containers "
        f"(default {WAIT_TIMEOUT}); the hold stays placed either way",
    )
    waiting.add_argument(
        "--no-wait",
        action="store_true",
        help="return once the hold is placed, without waiting for actions in flight",
    )
    add_quiet_option(hold)
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


def open_store(args: argparse.Namespace) -> AuditStore:
    """The audit database the daemon reads holds from: it must exist, or a hold placed in a
    new one (a mistyped database_url) would be in force for nobody."""
    config = config_from_args(args)
    return AuditStore.open(
        config.daemon.database_url, instance_name(config), SystemClock(), role="cli", create=False
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
    pattern = _pattern(args)
    wait_timeout = _wait_timeout(args)
    clock = SystemClock()
    store = open_store(args)
    try:
        hold = store.place_hold(
            pattern, args.reason.strip(), operator_name(), clock.now() + duration, OPERATOR
        )
        print(
            f"held {hold.pattern} until {until(hold)} UTC (hold {hold.id}): automatic actions "
            f"paused; `stacks-opsd release {hold.pattern}` ends it sooner",
            flush=True,
        )
        seen = _seen_containers(store)
        unseen = None if seen is None else _unseen_warning(hold, seen)
        if unseen:
            print(f"stacks-opsd: warning: {unseen}", file=sys.stderr, flush=True)
        if wait_timeout is None:
            return 0
        progress = Progress.for_command(quiet=args.quiet)
        remaining = wait_for_hands_off(store, hold, progress, clock, wait_timeout)
    finally:
        store.close()
    if remaining:
        now = clock.now().timestamp()
        still = "; ".join(describe(action, now) for action in remaining)
        waited = format_duration(wait_timeout)
        raise CliError(
            f"hold {hold.id} on {hold.pattern} is in place, but after {waited} "
            f"an action that began before it is still in flight: {still}. It may still finish "
            "(a pre-change backup can take much longer); nothing new starts on these containers "
            "automatically. Check with `stacks-opsd audit list`, or wait longer with --wait-timeout"
        )
    return 0


def _unseen_warning(hold: Hold, seen: dict[str, str | None]) -> str | None:
    """What to tell an operator whose hold names no container the audit log has a row about
    (a typo holds nothing), or None. The hold stays: a container may be created later."""
    if any(hold.covers(container_id, name or "") for container_id, name in seen.items()):
        return None
    if seen:
        names = sorted({name for name in seen.values() if name})
        similar = difflib.get_close_matches(hold.pattern, names, n=3)
        hint = f" (similar names it has seen: {', '.join(similar)})" if similar else ""
    else:
        hint = " (it has no rows about any container yet)"
    return (
        f"{hold.pattern!r} matches no container this database has seen; check the name{hint}. "
        "The hold is placed: a container created later under that name is held too"
    )


def _pattern(args: argparse.Namespace) -> str:
    """CONTAINER|GLOB without the spaces around it (container names and ids have none, so
    a pattern kept with them would hold nothing and release nothing)."""
    pattern = args.pattern.strip()
    if not pattern:
        raise UsageError("CONTAINER|GLOB: expected a container id, name or name glob")
    return pattern


def _wait_timeout(args: argparse.Namespace) -> timedelta | None:
    """--wait-timeout as a duration; None with --no-wait."""
    if args.no_wait:
        return None
    try:
        timeout = parse_duration(args.wait_timeout)
    except ValueError as error:
        raise UsageError(f"--wait-timeout: {error}") from None
    return timeout


def _seen_containers(store: AuditStore) -> dict[str, str | None] | None:
    """The containers the audit log names, for the hints after a hold was placed or
    released; None (said on stderr) if they cannot be read: the hold is in force already."""
    try:
        return store.seen_containers()
    except AuditError as error:
        _cannot_check("which containers it names", error)
        return None


def _cannot_check(what: str, error: AuditError) -> None:
    print(f"stacks-opsd: warning: could not check {what}: {error}", file=sys.stderr, flush=True)


def release_holds(args: argparse.Namespace) -> int:
    pattern = _pattern(args)
    store = open_store(args)
    try:
        ended = store.release_holds(pattern, operator_name(), OPERATOR)
        try:
            active = store.active_holds()
        except AuditError as error:  # released already: say so, and what is not known
            active = []
            _cannot_check("which holds are still active", error)
        seen = (_seen_containers(store) if ended and active else None) or {}
    finally:
        store.close()
    if not ended:
        patterns = ", ".join(sorted({hold.pattern for hold in active})) or "none"
        raise CliError(
            f"no active hold on {pattern!r}; active holds are on: {patterns} "
            "(release takes a hold's pattern as it was placed, or a glob matching it)"
        )
    for hold in ended:
        print(f"released hold {hold.id} on {hold.pattern} ({hold.reason})")
    for line in _still_held(ended, active, seen):
        print(line)
    return 0


def _still_held(ended: list[Hold], active: list[Hold], seen: dict[str, str | None]) -> list[str]:
    """One line per container the released holds named that other active holds still cover:
    the containers the audit log has seen, and the one a pattern that is no glob names."""
    named = {
        container_id: name or container_id
        for container_id, name in seen.items()
        if any(hold.covers(container_id, name or "") for hold in ended)
    }
    for hold in ended:
        if not is_glob(hold.pattern) and hold.pattern not in {*named, *named.values()}:
            named[hold.pattern] = hold.pattern
    lines = []
    for container_id, name in sorted(named.items(), key=lambda item: item[1]):
        covering = [hold for hold in active if hold.covers(container_id, name)]
        if covering:
            holds = ", ".join(
                f"hold {h.id} on {h.pattern!r} until {until(h)} UTC ({h.reason})" for h in covering
            )
            lines.append(f"{name} is still held by {holds}")
    return lines


def list_holds(args: argparse.Namespace) -> int:
    store = open_store(args)
    try:
        holds = store.recent_holds() if args.all else store.active_holds()
    finally:
        store.close()
    now = SystemClock().now()
    holds = [hold.as_of(now) for hold in holds]
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
    """When the hold expires, in UTC (say so next to it)."""
    return hold.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
