"""Reading STACKS responses: JSON bodies, plain-text bodies and the rate-limit headers.

Anything undecodable (an HTML error page from a proxy, JSON cut short) becomes
`MalformedResponse`, described by content type, size and position only: a body
is never quoted, since a truncated credentials answer would carry a password.
"""

import email.utils
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from daemon.stacks.errors import MalformedResponse

MAX_RETRY_AFTER = 3600.0
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # how JSON spells a UTF-16 surrogate


def describe_body(response: httpx.Response) -> str:
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


def json_object(response: httpx.Response, where: Mapping[str, Any]) -> Mapping[str, Any]:
    """The JSON object of a success response, or MalformedResponse."""
    try:
        body = decode_json(response)
    except ValueError as exc:
        raise MalformedResponse(
            f"STACKS answered {where['method']} {where['path']} with {response.status_code} "
            f"but an unreadable body: {exc}; retry, and check api.base_url points at the "
            "STACKS API if it persists",
            retryable=True,
            http_status=response.status_code,
            **where,
        ) from exc
    if not isinstance(body, Mapping):
        raise MalformedResponse(
            f"STACKS answered {where['method']} {where['path']} with JSON "
            f"{type(body).__name__} where an object was documented",
            http_status=response.status_code,
            **where,
        )
    return body


def is_json(response: httpx.Response) -> bool:
    return "json" in response.headers.get("content-type", "")


def _header_number(headers: httpx.Headers, name: str) -> float | None:
    """The header as a finite decimal number; None if absent, repeated or anything else.

    `float()` alone would also take `nan`, `inf`, `1_000` and non-ASCII digits.
    """
    value = headers.get(name)
    if value is None or not value.isascii() or "_" in value:
        return None
    try:
        number = float(value)
    except ValueError:  # also a repeated header, joined as "60, 60"
        return None
    return number if math.isfinite(number) else None


def rate_limit_headers(headers: httpx.Headers) -> tuple[int | None, int | None, float | None]:
    """`X-RateLimit-Limit`, `-Remaining` (ints) and `-Reset` (epoch seconds).

    None where a header is absent or not a finite number; whether a number makes
    sense (negative, past, huge) is for the rate budget to judge.
    """
    limit = _header_number(headers, "x-ratelimit-limit")
    remaining = _header_number(headers, "x-ratelimit-remaining")
    reset = _header_number(headers, "x-ratelimit-reset")
    return (
        None if limit is None else int(limit),
        None if remaining is None else int(remaining),
        reset,
    )


def retry_after_seconds(headers: httpx.Headers, now: datetime) -> float | None:
    """`Retry-After` as seconds (delta-seconds or an HTTP date), capped at an hour."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - now).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(MAX_RETRY_AFTER, max(0.0, seconds))
