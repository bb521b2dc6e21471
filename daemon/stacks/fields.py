"""Reading STACKS JSON leniently: bodies decoded safely, fields in either spelling, secrets hidden.

The bottom of the client: `models`, `details` and `networking` build their typed
results from these readers, `errors` reads error bodies with `decode_json`.

- `decode_json` refuses anything that is not JSON (an HTML page from a proxy,
  JSON cut short, text that is not Unicode) with a message that describes the
  body by content type and size only: a body is never quoted, since a truncated
  credentials answer would carry a password.
- The field readers accept what the guide documents: both spellings of a name
  (`pick`), numbers sent as strings (`"1.00"`), `pinned: 0/1`, ISO 8601 or Unix
  timestamps. Each names the field in its error (`MalformedData`) and shows a
  bad value only in short, safe form.
- `Secret` wraps what STACKS returns that must never show (passwords, private
  keys, VPN configs); `secret_text` reads a field into one.
"""

import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Generic, TypeVar

import httpx

T = TypeVar("T")

SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # how JSON spells a UTF-16 surrogate
SECRET_PLACEHOLDER = "<secret>"


class MalformedData(ValueError):
    """A response body that does not have the shape the guide documents."""


# -- whole bodies ---------------------------------------------------------------------


def describe_body(response: httpx.Response) -> str:
    """The body as a message may name it: content type and size, never its content."""
    kind = response.headers.get("content-type", "no content type").split(";")[0].strip()
    return f"{kind}, {len(response.content)} bytes"


def decode_json(response: httpx.Response) -> Any:
    """The parsed JSON body; raises ValueError (with a safe message) when it is not JSON.

    Text with lone surrogates (`"\\ud800"` escapes) is refused too: it is not Unicode,
    and it would break every log line, metric label and audit row it reached.
    """
    if not response.content.strip():
        raise ValueError(f"empty body ({describe_body(response)})")
    # The decoder's own errors hold the whole body (`doc`, `object`): none is kept, not
    # even as the context of the error raised here, because the body may carry a password.
    problem = None
    try:
        value = json.loads(response.content)
    except UnicodeDecodeError:
        problem = "body is not UTF-8"
    except json.JSONDecodeError as exc:
        problem = f"body is not valid JSON ({exc.msg} at char {exc.pos})"
    except (ValueError, RecursionError):  # a number of thousands of digits, nesting too deep
        problem = "body is JSON beyond sane limits"
    else:
        if SURROGATE_ESCAPE.search(response.content) and not _unicode_only(value):
            problem = "body has text that is not Unicode"
    if problem is not None:
        raise ValueError(f"{problem} ({describe_body(response)})")
    return value


def _unicode_only(value: Any) -> bool:
    """Whether every string (key or value) in the decoded JSON encodes as UTF-8."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


def unwrap(body: Mapping[str, Any]) -> Any:
    """The `data` member of a `{"success": true, "data": ...}` envelope, else the body itself."""
    data = body.get("data")
    return body if data is None else data


def data_object(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """The envelope's `data` (or the body) when it is an object, else an empty one."""
    data = unwrap(body)
    return data if isinstance(data, Mapping) else {}


# -- fields ---------------------------------------------------------------------------


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


def mapping_at(data: Mapping[str, Any], *names: str) -> Mapping[str, Any]:
    """The object under the first present name (either spelling), or an empty one."""
    value = pick(data, *names)
    return {} if value is None else require_mapping(value, names[0])


# -- secrets --------------------------------------------------------------------------


class Secret(Generic[T]):
    """A value returned by STACKS (password, private key, VPN config) that hides itself.

    Its `repr`/`str` are a fixed placeholder, it refuses to be pickled or compared
    by content, and JSON encoders reject it, so it cannot slip into a log line, an
    exception, an audit row or a metric by accident. Call `reveal()` where the value
    is really needed (writing it to the operator's terminal or a file they asked for).
    """

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value = value

    def reveal(self) -> T:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({SECRET_PLACEHOLDER})"

    def __str__(self) -> str:
        return SECRET_PLACEHOLDER

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self):
        raise TypeError("a Secret cannot be pickled")


def secret_text(value: Any, what: str) -> Secret[str] | None:
    """`value` as a Secret string; the error names only the type, never the value."""
    if value is None:
        return None
    if not isinstance(value, str | int):
        raise MalformedData(f"{what}: expected a string, got {type(value).__name__}")
    return Secret(str(value))
