"""How config values and key paths appear in error messages, with API keys blanked out.

Values are shown as they would be written in TOML ("soon", 5, true, ["a", "b"]) so a
user can find them in the file; tables and long lists are named, not dumped.
"""

import json
import re
from datetime import date, datetime, time, timedelta

from daemon.durations import format_duration
from daemon.secrets import redact_keys

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_MAX_SHOWN = 60


def describe(value: object) -> str:
    """Render a parsed TOML value for "got ..." in an error message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = json.dumps(redact_keys(value), ensure_ascii=False)
        return shown if len(shown) <= _MAX_SHOWN else shown[: _MAX_SHOWN - 4] + '..."'
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, timedelta):
        return f'"{format_duration(value)}"'
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return "an array of tables"
    if isinstance(value, list | tuple):
        shown = "[" + ", ".join(describe(item) for item in value) + "]"
        return shown if len(shown) <= _MAX_SHOWN else f"a list of {len(value)} items"
    return type(value).__name__


def key_path(parts: tuple[str | int, ...]) -> str:
    """Render ("policies", "auto_restart", "match", 0) as policies.auto_restart.match[0]."""
    rendered = ""
    for part in parts:
        if isinstance(part, int):
            rendered += f"[{part}]"
            continue
        name = (
            part if _BARE_KEY.fullmatch(part) else json.dumps(redact_keys(part), ensure_ascii=False)
        )
        rendered += f".{name}" if rendered else name
    return rendered
