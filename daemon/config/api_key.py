"""The STACKS API key's place: where the daemon reads it, and never the config file.

Where it comes from, in this order: `api.api_key_file` (when set it must be
readable; no fallback), else `$CREDENTIALS_DIRECTORY/stacks_api_key` (systemd
`LoadCredential=`), else `$STACKS_API_KEY`. Surrounding whitespace is stripped. A
key file readable by group or others draws a warning. The key's format is checked
by daemon.stacks.ApiKey.

Where it must not be: config files get copied, committed and shown. The guard
finds entries named like a key (`api_key`, `key`) and any value or comment
holding a whole key (daemon.secrets.WHOLE_KEY); the loader reports each with
KEY_IN_CONFIG and drops it before validation, so no later message can echo it.
"""

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from daemon.config.model import Config, ConfigError
from daemon.secret_file import SecretFileError, read_secret_file
from daemon.secrets import WHOLE_KEY

CREDENTIAL_NAME = "stacks_api_key"
CREDENTIAL_PATH = f"$CREDENTIALS_DIRECTORY/{CREDENTIAL_NAME}"
ENV_VARIABLE = "STACKS_API_KEY"
NO_KEY = (
    "no STACKS API key: set api.api_key_file in the config, provide the systemd credential "
    f"{CREDENTIAL_NAME} ({CREDENTIAL_PATH}), or set ${ENV_VARIABLE}"
)
KEY_IN_CONFIG = (
    "holds a STACKS API key, which must not be in the config file; put the key in the file "
    "named by api.api_key_file (readable only by the daemon's user), "
    f"in {CREDENTIAL_PATH}, or in ${ENV_VARIABLE}"
)
KEY_NAMES = frozenset({"api_key", "key", "stacks_api_key"})

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FoundKey:
    """The key (never shown by repr), where it came from, and warnings about that place."""

    secret: str = field(repr=False)
    origin: str
    warnings: tuple[str, ...] = ()


def find_api_key(config: Config, env: Mapping[str, str] = os.environ) -> FoundKey:
    """Return the key from the first place that has one; raise ConfigError if none does."""
    if config.api.api_key_file:
        return _from_file(config.api.api_key_file, "api.api_key_file")
    credentials = env.get("CREDENTIALS_DIRECTORY")
    if credentials:
        path = os.path.join(credentials, CREDENTIAL_NAME)
        if os.path.exists(path):
            return _from_file(path, CREDENTIAL_PATH)
    secret = env.get(ENV_VARIABLE, "").strip()
    if secret:
        return FoundKey(secret, f"${ENV_VARIABLE}")
    raise ConfigError([NO_KEY])


def read_api_key(config: Config, env: Mapping[str, str] = os.environ) -> str:
    """Return the key's text, logging a warning for each problem with where it is kept."""
    found = find_api_key(config, env)
    for warning in found.warnings:
        logger.warning(warning)
    return found.secret


def _from_file(path: str, origin: str) -> FoundKey:
    try:
        secret = read_secret_file(path)
    except SecretFileError as error:
        raise ConfigError(
            [
                f"{origin}: {error}; it must be readable by the daemon's user and hold the "
                "STACKS API key alone"
            ]
        ) from None
    warnings = ()
    if secret.shared:
        warnings = (
            f"API key file {path} is accessible to others than the daemon's user and groups "
            f"(mode {secret.mode:04o}, group {secret.group}); restrict it with: chmod 600 "
            f"{path} (or chmod 640 and a group of the daemon's own)",
        )
    return FoundKey(secret.text, f"{origin} ({path})", warnings)


def lines_with_keys(text: str) -> list[int]:
    """The numbers of the lines of raw text that hold a key (comments, bad TOML)."""
    return [
        number for number, line in enumerate(text.splitlines(), start=1) if WHOLE_KEY.search(line)
    ]


def holds_key(value: Any) -> bool:
    """True if a key appears anywhere in a parsed value, as a string or a table key."""
    if isinstance(value, str):
        return WHOLE_KEY.search(value) is not None
    if isinstance(value, list):
        return any(holds_key(item) for item in value)
    if isinstance(value, dict):
        return any(holds_key(key) or holds_key(item) for key, item in value.items())
    return False


def without_keys(
    table: dict[str, Any], path: tuple[str, ...] = ()
) -> tuple[dict[str, Any], list[tuple[str, ...]]]:
    """`table` minus its key-holding entries, and the key path of each entry removed."""
    kept: dict[str, Any] = {}
    removed: list[tuple[str, ...]] = []
    for name, value in table.items():
        here = (*path, name)
        if name.lower() in KEY_NAMES or holds_key(name):
            removed.append(here)
        elif isinstance(value, dict):
            kept[name], nested = without_keys(value, here)
            removed += nested
        elif holds_key(value):
            removed.append(here)
        else:
            kept[name] = value
    return kept, removed
