"""`stacks-opsd explain CONTAINER [--format text|json]`: every policy option in effect for
one container and where it was set, its restart backoff, next weekly pin, pauses and
newest completed backup (daemon/explanation.py). Reads STACKS and the audit database;
changes nothing."""

import argparse
import json

from daemon.cli.operator_session import OperatorSession
from daemon.cli.startup import config_from_args
from daemon.clock import SystemClock
from daemon.evaluation import PolicyHistory
from daemon.explanation import explanation, render_text
from daemon.pauses import pauses_in_force
from daemon.snapshot import ContainerView
from daemon.stacks import MAX_BACKUPS, Priority
from policies import build_policies


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="show the options, state and pauses that decide what happens to a container",
        description=__doc__,
    )
    parser.add_argument("container", metavar="CONTAINER", help="container id or name")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(handler=explain)


def explain(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    session = OperatorSession(config)
    try:
        container = session.find(args.container)
        now = SystemClock().now()
        backups = session.client.backups(container.id, limit=MAX_BACKUPS, priority=Priority.STATUS)
        view = ContainerView(container, seen_at=now, backups=backups, backups_at=now)
        policies = build_policies(
            config.policies, dry_run=config.daemon.dry_run, overrides=config.overrides
        )
        states = PolicyHistory(session.store, read_only=True).states(
            policies, now, {container.id: view}
        )
        holds = session.store.active_holds()
        pauses = pauses_in_force(
            container.id, container.name, container.type, holds, config.windows, now
        )
        document = explanation(config, policies, view, states, now, pauses)
    finally:
        session.close()
    if args.format == "json":
        print(json.dumps(document, indent=2))
    else:
        print(render_text(document), end="")
    return 0
