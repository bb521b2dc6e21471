"""Refuse a config file that holds the STACKS API key itself, without repeating the key.

A key belongs in a file only the daemon can read, a systemd credential or the
environment; config files get copied, committed and shown. Entries named like a key
(api_key, key) and any value or comment containing `sk_stacks_` + 64 hex are reported
and dropped before validation, so no later message can echo them.
"""

from typing import Any

from daemon.config.display import key_path
from daemon.secrets import WHOLE_KEY

KEY_NAMES = frozenset({"api_key", "key", "stacks_api_key"})
ADVICE = (
    "holds a STACKS API key, which must not be in the config file; put the key in the file "
    "named by api.api_key_file (readable only by the daemon's user), "
    "in $CREDENTIALS_DIRECTORY/stacks_api_key, or in $STACKS_API_KEY"
)


def keys_in_text(text: str, label: str) -> list[str]:
    """One error per line of raw text that contains a key (used for comments and bad TOML)."""
    return [
        f"{label}: line {number}: {ADVICE}"
        for number, line in enumerate(text.splitlines(), start=1)
        if WHOLE_KEY.search(line)
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
    table: dict[str, Any], label: str, path: tuple[str, ...] = ()
) -> tuple[dict[str, Any], list[str]]:
    """Return `table` minus key-holding entries, and one error per entry removed."""
    kept: dict[str, Any] = {}
    errors: list[str] = []
    for name, value in table.items():
        here = (*path, name)
        if name.lower() in KEY_NAMES or holds_key(name):
            errors.append(f"{label}: {key_path(here)}: {ADVICE}")
        elif isinstance(value, dict):
            kept[name], nested_errors = without_keys(value, label, here)
            errors += nested_errors
        elif holds_key(value):
            errors.append(f"{label}: {key_path(here)}: {ADVICE}")
        else:
            kept[name] = value
    return kept, errors
