"""Configuration: typed dataclasses loaded from TOML, with every error reported at once.

from daemon.config import load_config, ConfigError
config = load_config(args.config)          # raises ConfigError(errors: list[str])
"""

from daemon.config.apikey_source import find_api_key, read_api_key
from daemon.config.errors import ConfigError
from daemon.config.loader import CONFIG_PATH_VARIABLE, DEFAULT_CONFIG_PATH, load_config
from daemon.config.model import (
    ApiConfig,
    Config,
    DaemonConfig,
    PoliciesConfig,
    PollConfig,
    split_host_port,
)
from daemon.config.validate import validate

__all__ = [
    "CONFIG_PATH_VARIABLE",
    "DEFAULT_CONFIG_PATH",
    "ApiConfig",
    "Config",
    "ConfigError",
    "DaemonConfig",
    "PoliciesConfig",
    "PollConfig",
    "find_api_key",
    "load_config",
    "read_api_key",
    "split_host_port",
    "validate",
]
