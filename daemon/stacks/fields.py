"""Lenient readers for the fields of STACKS JSON: both spellings, strings for numbers.

Each reader names the field in its error (`MalformedData`), shows a bad value
only in short, safe form, and accepts what the guide documents: numbers sent as
strings (`"1.00"`), `pinned: 0/1`, ISO 8601 or Unix timestamps.
"""

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any


class MalformedData(ValueError):
    """A response body that does not have the shape the guide documents."""


def pick(data: Mapping[str, Any], *names: str) -> Any:
    """The first present, non-null value among `names` (snake_case and camelCase spellings)."""
    for name in names:
        value = data.get(name)
        if value is not None:
            return value
    return None


def as_str(value: Any, what: str, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise MalformedData(f"missing {what}")
        return None
    if type(value) is str:  # the usual case, first: every poll reads thousands of these
        text = value
    elif isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise MalformedData(f"{what}: expected a string, got {type(value).__name__}")
    else:
        text = str(value)
    if required and not text:
        raise MalformedData(f"{what}: empty")
    return text


def shown(value: Any) -> str:
    """A short, safe picture of an unusable value for an error message."""
    if isinstance(value, str):
        return repr(value[:40]) + ("..." if len(value) > 40 else "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number too large" if abs(value) > 1e15 else repr(value)
    return f"a {type(value).__name__}"


def as_float(value: Any, what: str) -> float | None:
    """A finite number sent as a number or as a numeric string ("1.00")."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise MalformedData(f"{what}: expected a number, got a boolean")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise MalformedData(f"{what}: expected a number, got {shown(value)}") from None
    if not math.isfinite(number):
        raise MalformedData(f"{what}: expected a finite number, got {shown(value)}")
    return number


def as_int(value: Any, what: str) -> int | None:
    number = as_float(value, what)
    return None if number is None else int(number)


def as_bool(value: Any) -> bool:
    """`pinned: 0/1`, `true/false`, `"0"/"1"`."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def as_time(value: Any, what: str) -> datetime | None:
    """ISO 8601 (`2026-02-25T10:30:00.000Z`) or Unix seconds, as aware UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, ValueError, OSError):
            raise MalformedData(f"{what}: not a usable Unix time: {shown(value)}") from None
    if not isinstance(value, str):
        raise MalformedData(f"{what}: expected a timestamp, got {type(value).__name__}")
    moment = _iso_time(value) if len(value) <= MAX_CACHED_TIME else _parse_iso(value)
    if moment is None:
        raise MalformedData(f"{what}: not an ISO 8601 timestamp: {shown(value)}")
    return moment


def _parse_iso(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# The same timestamps (created_at of every container) come back at every poll.
_iso_time = lru_cache(maxsize=8192)(_parse_iso)
MAX_CACHED_TIME = 64  # longer strings are no timestamps: never kept in the cache


def require_mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedData(f"{what}: expected an object, got {type(value).__name__}")
    return value


def require_list(value: Any, what: str) -> Sequence[Any]:
    if not isinstance(value, list):
        raise MalformedData(f"{what}: expected a list, got {type(value).__name__}")
    return value


def unwrap(body: Mapping[str, Any]) -> Any:
    """The `data` member of a `{"success": true, "data": ...}` envelope, else the body itself."""
    data = body.get("data")
    return body if data is None else data


def mapping_at(data: Mapping[str, Any], *names: str) -> Mapping[str, Any]:
    """The object under the first present name (either spelling), or an empty one."""
    value = pick(data, *names)
    return {} if value is None else require_mapping(value, names[0])
