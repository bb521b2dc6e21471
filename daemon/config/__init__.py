"""Configuration: typed dataclasses loaded from TOML, with every error reported at once.

    from daemon.config import load_config, ConfigError
    config = load_config(args.config)          # raises ConfigError(errors: list[str])
    key = read_api_key(config)                 # file, systemd credential or environment

    model.py    the sections as frozen dataclasses, their defaults and rules; ConfigError
    load.py     finding, parsing, converting and validating the file; how values are shown
    api_key.py  where the API key comes from, and the guard that keeps it out of the file
    key_lines.py  the line of every key in the file (for `explain`: where a value is set)

`describe(value)` shows a config value as it is written in TOML ("5m", ["a"], true).
    windows.py  the `[[windows]]` tables: maintenance windows (WindowConfig, TimeRangeConfig)

The `[policies]` table is PoliciesConfig, derived from the policy registry
(policies/registry.py): each policy's options carry their own rules.
"""

from daemon.config.api_key import find_api_key, read_api_key
from daemon.config.load import (
    CONFIG_PATH_VARIABLE,
    DEFAULT_CONFIG_PATH,
    describe,
    load_config,
    validate,
)
from daemon.config.model import (
    ApiConfig,
    Config,
    ConfigError,
    DaemonConfig,
    PollConfig,
    split_host_port,
)
from daemon.config.windows import PAUSABLE_ACTIONS, TimeRangeConfig, WindowConfig
from policies import PoliciesConfig

__all__ = [
    "CONFIG_PATH_VARIABLE",
    "DEFAULT_CONFIG_PATH",
    "PAUSABLE_ACTIONS",
    "ApiConfig",
    "Config",
    "ConfigError",
    "DaemonConfig",
    "PoliciesConfig",
    "PollConfig",
    "TimeRangeConfig",
    "WindowConfig",
    "describe",
    "find_api_key",
    "load_config",
    "read_api_key",
    "split_host_port",
    "validate",
]
