"""`stacks-opsd check-config [--online]`: validate the config and the key; exit 2 on problems.

Beyond the file itself, it builds what `run` builds before it serves, and reads every
file the config names, without binding a socket, changing anything or connecting
anywhere (the API only with --online): the key; the metrics listener, its TLS
certificate and key and its basic-auth password; every `[[notify]]` sink, its secret
and header files; and the audit database as far as it can be checked in place
(daemon/audit/engine.py's `probe_database`). Every problem is printed, as `run` says it.
"""

import argparse

from daemon.audit import AuditOpenError, probe_database
from daemon.cli.errors import CliError, UsageError
from daemon.cli.run_command import listener
from daemon.cli.startup import api_key_from, config_from_args, instance_name
from daemon.config import DEFAULT_CONFIG_PATH, Config
from daemon.notify import SinkConfigError, SinkEnvironment, build_sinks
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
        listener(config)
    except UsageError as error:
        problems.append(str(error))
    environment = SinkEnvironment(
        instance=instance_name(config), status_url=config.daemon.status_url
    )
    try:
        sinks = build_sinks(config.notify, environment)
    except SinkConfigError as error:
        problems.append(str(error))
    else:
        for sink in sinks:
            sink.close()
    try:
        probe_database(config.daemon.database_url)
    except AuditOpenError as error:
        problems.append(str(error))
    return key, problems
