"""`stacks-opsd [--config FILE] COMMAND`: parse arguments and dispatch to a command module.

Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
Each command module has `register(subparsers)`, which adds its parser and sets
`handler` to a function `(args) -> int`.
"""

import argparse
import sys

from daemon import __version__
from daemon.cli import simulator_command

COMMANDS = (simulator_command,)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stacks-opsd",
        description="Operations daemon for containers hosted on STACKS.",
    )
    parser.add_argument("--version", action="version", version=f"stacks-opsd {__version__}")
    parser.add_argument(
        "-c",
        "--config",
        help="config file (default: $STACKS_OPSD_CONFIG, else /etc/stacks-opsd/config.toml)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
