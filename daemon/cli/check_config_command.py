"""`stacks-opsd check-config [--online]`: validate the config and the key; exit 2 on problems.

Beyond the file itself, it checks what `run` would refuse at start, without changing
anything or connecting anywhere: the key, and the audit database as far as it can be
checked in place (daemon/audit/engine.py's `probe_database`). Every problem is printed.
"""

import argparse

from daemon.audit import AuditOpenError, probe_database
from daemon.cli.errors import CliError, UsageError
from daemon.cli.startup import api_key_from, config_from_args
from daemon.config import DEFAULT_CONFIG_PATH, Config
from daemon.stacks import ApiKey, StacksClient, StacksError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check-config",
        help="validate the config file and the API key format",
        description="Validate the config and the API key; print every problem; exit 2 if any.",
    )
    parser.add_argument(
        "--online",
        action="store_true",
        help="also call the API once: reachability, key accepted, containers:read scope",
    )
    parser.set_defaults(handler=check_config)


def check_config(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    key, problems = checked(config)
    if key is None or problems:
        raise UsageError("\n".join(problems))
    where = config.source or f"no file at {DEFAULT_CONFIG_PATH}, defaults"
    print(f"config OK ({where}); API key format OK (fingerprint {key.fingerprint()})")
    if not args.online:
        return 0
    timeout = config.api.timeout.total_seconds()
    with StacksClient(key, config.api.base_url, timeout=timeout, retries=0) as client:
        try:
            containers = client.list_containers()
        except StacksError as error:
            raise CliError(f"online check failed: {error}") from None
    print(f"API OK: {config.api.base_url} answered with {len(containers)} containers")
    print(
        "not checked: containers:manage (restart, start, stop, backups, pins), which the "
        "API shows only by refusing a change; a missing scope is logged at the first action "
        "and exported as stacks_api_scope_missing{scope}"
    )
    return 0


def checked(config: Config) -> tuple[ApiKey | None, list[str]]:
    """The key (None if it cannot be used) and every problem `run` would stop at."""
    key, problems = None, []
    try:
        key = api_key_from(config)
    except UsageError as error:
        problems.append(str(error))
    try:
        probe_database(config.daemon.database_url)
    except AuditOpenError as error:
        problems.append(str(error))
    return key, problems
