"""`stacks-opsd [--config FILE] COMMAND`: parse arguments and dispatch to a command module.

Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
Each command module has `register(subparsers)`, which adds its parser and sets
`handler` to a function `(args) -> int`. Errors from the boundaries (config,
STACKS API, audit database) end here as one line on stderr, never a traceback.
"""

import argparse
import sys

from daemon import __version__
from daemon.audit import AuditError
from daemon.cli import (
    audit_command,
    backup_command,
    change_command,
    check_config_command,
    demo_command,
    explain_command,
    hold_command,
    notify_command,
    once_command,
    run_command,
    simulator_command,
    windows_command,
)
from daemon.cli.errors import CliError
from daemon.notify import SinkConfigError
from daemon.secrets import redact_keys
from daemon.stacks import StacksError

COMMANDS = (
    run_command,
    once_command,
    check_config_command,
    audit_command,
    backup_command,
    change_command,
    notify_command,
    explain_command,
    hold_command,
    windows_command,
    simulator_command,
    demo_command,
)


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
    except CliError as error:
        return fail(str(error), error.exit_code)
    except SinkConfigError as error:
        return fail(str(error), 2)
    except StacksError as error:
        return fail(f"STACKS API: {error}", 1)
    except AuditError as error:
        return fail(str(error), 1)
    except OSError as error:  # e.g. the metrics listener's port is taken
        return fail(str(error), 1)
    except KeyboardInterrupt:
        return fail("interrupted", 130)


def fail(message: str, code: int) -> int:
    for line in redact_keys(message).splitlines() or [""]:
        print(f"stacks-opsd: {line}", file=sys.stderr)
    return code
