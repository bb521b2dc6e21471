"""What commands do first: load the config, read and check the API key, name the instance
and the operator.

Failures become UsageError (exit 2) with every problem listed, never a traceback.
"""

import getpass
import os
import socket
from argparse import Namespace

from daemon.cli.errors import UsageError
from daemon.config import Config, ConfigError, load_config, read_api_key
from daemon.stacks import ApiKey, InvalidApiKey


def config_from_args(args: Namespace) -> Config:
    try:
        return load_config(args.config)
    except ConfigError as error:
        raise UsageError(str(error)) from None


def api_key_from(config: Config) -> ApiKey:
    try:
        return ApiKey(read_api_key(config))
    except ConfigError as error:
        raise UsageError(str(error)) from None
    except InvalidApiKey as error:
        raise UsageError(f"STACKS API key: {error}") from None


def instance_name(config: Config) -> str:
    return config.daemon.instance_id or f"{socket.gethostname()}:{os.getpid()}"


def operator_name() -> str:
    """Who runs the command, as user@host: a hold's `set_by`, an operator's change and
    backup rows' `details.operator`."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"
