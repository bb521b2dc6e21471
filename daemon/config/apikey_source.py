"""Where the STACKS API key comes from: api.api_key_file, a systemd credential, or the environment.

Precedence: `api.api_key_file` (when set it must be readable; no fallback), else
`$CREDENTIALS_DIRECTORY/stacks_api_key` (systemd `LoadCredential=`), else
`$STACKS_API_KEY`. Surrounding whitespace is stripped. A key file readable by group
or others draws a warning. The key's format is checked by daemon.stacks.apikey.ApiKey.
"""

import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field

from daemon.config.errors import ConfigError
from daemon.config.model import Config

CREDENTIAL_NAME = "stacks_api_key"
ENV_VARIABLE = "STACKS_API_KEY"
NO_KEY = (
    "no STACKS API key: set api.api_key_file in the config, provide the systemd credential "
    f"{CREDENTIAL_NAME} ($CREDENTIALS_DIRECTORY/{CREDENTIAL_NAME}), or set ${ENV_VARIABLE}"
)

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
            return _from_file(path, f"$CREDENTIALS_DIRECTORY/{CREDENTIAL_NAME}")
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
        with open(path, encoding="utf-8") as file:
            mode = stat.S_IMODE(os.fstat(file.fileno()).st_mode)
            secret = file.read().strip()
    except OSError as exc:
        raise ConfigError(
            [
                f"{origin}: cannot read the API key from {path}: {exc.strerror}; "
                "check the path and that the daemon's user may read it"
            ]
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(
            [f"{origin}: {path} is not text; it must hold only the API key"]
        ) from None
    if not secret:
        raise ConfigError([f"{origin}: {path} is empty; write the STACKS API key into it"])
    warnings = ()
    if mode & 0o077:
        warnings = (
            f"API key file {path} is accessible to group or others (mode {mode:04o}); "
            f"restrict it with: chmod 600 {path}",
        )
    return FoundKey(secret, f"{origin} ({path})", warnings)
