"""Translation of STACKS error answers and httpx failures into the `errors` tree.

This is the one boundary where lower-level failures become `StacksError`s. The
guide's error bodies are read for their documented fields (`field`,
`spending_cap`, `required_scope`, `hint`...); any server text that ends up in a
message is key-scrubbed, flattened and shortened.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from daemon.secrets import redact_keys
from daemon.stacks.decoding import decode_json, describe_body
from daemon.stacks.errors import (
    ApiError,
    AuthError,
    DashboardOnlyError,
    ForbiddenError,
    NoCapacityError,
    NotFoundError,
    RateLimitedError,
    RequestTimeout,
    ScopeError,
    ServerError,
    SpendingCapError,
    StacksError,
    TransportError,
    ValidationError,
)

MAX_DETAIL = 200


def safe_text(value: Any) -> str | None:
    """Server-provided text fit for a message: no key, one line, at most 200 characters."""
    if value is None:
        return None
    text = " ".join(redact_keys(str(value)).split())
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


def _number(value: Any) -> float | None:
    try:
        number = None if value is None or isinstance(value, bool) else float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number is not None and math.isfinite(number) else None


def _error_body(response: httpx.Response) -> tuple[Mapping[str, Any], str | None]:
    """The JSON error object (empty if none) and its `error` text, or a description of the body."""
    try:
        body = decode_json(response)
    except ValueError:
        return {}, f"body was not JSON: {describe_body(response)}"
    if not isinstance(body, Mapping):
        return {}, None
    return body, safe_text(body.get("error") or body.get("message"))


def error_from_response(
    response: httpx.Response, where: Mapping[str, str], retry_after: float
) -> ApiError:
    """The exception for a non-success `response` to the request described by `where`."""
    status = response.status_code
    body, detail = _error_body(response)
    request = f"{where['method']} {where['path']}"
    said = f"{status}: {detail}" if detail else str(status)
    common = {"detail": detail, "http_status": status, **where}
    if status == 400:
        field = safe_text(body.get("field"))
        about = f", field {field!r}" if field else ""
        return ValidationError(
            f"STACKS refused {request} as invalid ({said}{about}): fix the request "
            "(names: 3-32 letters, digits, single hyphens) and send it again",
            field=field,
            **common,
        )
    if status == 401:
        return AuthError(
            f"STACKS rejected the API key on {request} ({said}): check the key file, "
            "or revoke the key and create a new one in the STACKS dashboard",
            **common,
        )
    if status == 402:
        cap, spent = _number(body.get("spending_cap")), _number(body.get("amount_spent"))
        money = (
            f"; cap ${cap:.2f}, spent ${spent:.2f}" if cap is not None and spent is not None else ""
        )
        return SpendingCapError(
            f"STACKS refused {request}: payment required ({said}{money}): raise the key's "
            "monthly spending cap or add a payment method in the dashboard; the cap resets "
            "at the start of each month",
            spending_cap=cap,
            amount_spent=spent,
            **common,
        )
    if status == 403:
        return _forbidden(body, request, said, common)
    if status == 404:
        return NotFoundError(
            f"STACKS found nothing for {request} ({said}): it does not exist or does not "
            "belong to this key's account; check the id (`stacks-opsd` lists containers)",
            **common,
        )
    if status == 429:
        return RateLimitedError(
            f"STACKS rate-limited {request} ({said}); retry after {retry_after:.0f} s. "
            "If this repeats, lower api.rate_limit_per_minute to the key's real limit "
            "or stop other programs using the same key",
            retry_after=retry_after,
            **common,
        )
    if status == 503 and any(word in (detail or "").lower() for word in ("capacity", "waitlist")):
        return NoCapacityError(
            f"STACKS has no capacity for {request} ({said}): the account is on the "
            "waitlist; try again later",
            **common,
        )
    if status >= 500:
        return ServerError(
            f"STACKS failed on {request} ({said}): try again later; contact STACKS "
            "support if it persists",
            **common,
        )
    if 300 <= status < 400:
        location = safe_text(response.headers.get("location")) or "nowhere"
        return ApiError(
            f"STACKS redirected {request} to {location} ({status}): redirects are not "
            "followed so the key is never sent elsewhere; check api.base_url",
            **common,
        )
    return ApiError(f"STACKS refused {request} ({said}): check the request", **common)


def _forbidden(
    body: Mapping[str, Any], request: str, said: str, common: dict[str, Any]
) -> ForbiddenError:
    scope = safe_text(body.get("required_scope"))
    if scope:
        raw_scopes = body.get("key_scopes")
        scopes = (
            [safe_text(s) or "" for s in raw_scopes]
            if isinstance(raw_scopes, Sequence) and not isinstance(raw_scopes, str)
            else []
        )
        has = ", ".join(scopes) or "none"
        return ScopeError(
            f"the API key lacks scope {scope} for {request} (403; the key has: {has}): "
            f"create a key with {scope} in the STACKS dashboard and configure it",
            required_scope=scope,
            key_scopes=scopes,
            **common,
        )
    hint = safe_text(body.get("hint"))
    if hint or "dashboard" in (common["detail"] or "").lower():
        return DashboardOnlyError(
            f"{request} needs dashboard access, not an API key ({said}): "
            f"{hint or 'do it in the STACKS dashboard'}",
            hint=hint,
            **common,
        )
    return ForbiddenError(
        f"STACKS forbade {request} ({said}): check the key's scopes in the dashboard", **common
    )


NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def error_from_transport(
    exc: httpx.TransportError, where: Mapping[str, str], read: bool, timeout: float
) -> StacksError:
    """The exception for an httpx failure where no response arrived.

    `sent` is False only when the request cannot have left (no connection was made).
    """
    request = f"{where['method']} {where['path']}"
    kind = type(exc).__name__
    sent = not isinstance(exc, NOT_SENT)
    if isinstance(exc, httpx.TimeoutException):
        if read or not sent:
            advice = "STACKS or the network is slow; try again later"
        else:
            advice = "STACKS may still have processed it: check its state before repeating"
        return RequestTimeout(
            f"no answer from STACKS to {request} within {timeout:g} s ({kind}): {advice}",
            sent=sent,
            **where,
        )
    reason = safe_text(exc) or kind
    if isinstance(exc, httpx.ConnectError):
        host = exc.request.url.netloc.decode() if _has_request(exc) else "api.base_url"
        return TransportError(
            f"cannot connect to STACKS at {host} for {request} ({reason}): check api.base_url "
            "and network access to it",
            sent=False,
            **where,
        )
    return TransportError(
        f"could not talk to STACKS for {request} ({kind}: {reason}): check network access "
        "to api.base_url",
        sent=sent,
        **where,
    )


def _has_request(exc: httpx.TransportError) -> bool:
    try:
        exc.request  # noqa: B018 - httpx raises RuntimeError when no request is attached
    except RuntimeError:
        return False
    return True
