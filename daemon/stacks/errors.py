"""Every way a STACKS call can fail, as one exception tree, and the mapping of failures into it.

    StacksError                  any failed call: method, route (template), path, http_status
    ├── ApiError                 STACKS answered with a non-success status
    │   ├── ValidationError      400  field
    │   ├── AuthError            401  key invalid, missing or revoked
    │   ├── SpendingCapError     402  spending_cap, amount_spent
    │   ├── ForbiddenError       403
    │   │   ├── ScopeError           required_scope, key_scopes
    │   │   └── DashboardOnlyError   hint (needs a human in the dashboard)
    │   ├── NotFoundError        404
    │   ├── RateLimitedError     429  retry_after (seconds, at most MAX_RETRY_AFTER)
    │   └── ServerError          5xx
    │       └── NoCapacityError  503
    ├── TransportError           no answer: connection refused/reset, DNS, TLS; `sent` says
    │   └── RequestTimeout       connect/read/write/pool timeout   whether the request left
    ├── MalformedResponse        an answer that is not the documented JSON
    ├── BudgetExhausted          the local rate budget granted no request in time
    │   └── RequestDeferred      a reserved request met a Retry-After that began after the
    │                            reservation: not sent, so the caller checks state again
    └── UnconfirmedChange        a change was sent, but its answer does not say whether
                                 STACKS applied it (unreadable or empty 2xx, 5xx, timeout
                                 after sending, dropped connection): read the state back

`RequestSender` (in `sender`) is the boundary: `error_from_response` turns an
error answer into its exception, reading the guide's documented fields
(`field`, `spending_cap`, `required_scope`, `hint`...), and
`error_from_transport` an httpx failure where no answer came. Lower-level
errors (httpx, JSON decoding, `fields.MalformedData`) are translated once, where
they happen, with `raise ... from exc`. Messages say what happened, to which
request (`describe_request`), and what to do; they never contain the API key or
secrets from response bodies: server text passes through `safe_text`
(key-scrubbed, one line, shortened). `http_status` is None when no response
was received.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from daemon.secrets import redact_keys
from daemon.stacks.fields import MalformedData, as_float, decode_json, describe_body

MAX_RETRY_AFTER = 3600.0  # the longest Retry-After honoured: a longer one counts as an hour
MAX_DETAIL = 200  # characters of server text a message may quote


class StacksError(Exception):
    """A STACKS API call failed; `retryable` says whether sending it again may succeed."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        route: str = "",
        path: str = "",
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.route = route
        self.path = path
        self.http_status = http_status


class ApiError(StacksError):
    """STACKS answered with an error status (`http_status`); `detail` is its `error` text."""

    def __init__(self, message: str, *, detail: str | None = None, **where) -> None:
        super().__init__(message, **where)
        self.detail = detail


class ValidationError(ApiError):
    """400: the request body or parameters were refused; `field` names the culprit if known."""

    def __init__(self, message: str, *, field: str | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.field = field


class AuthError(ApiError):
    """401: the API key is invalid, missing or revoked."""


class SpendingCapError(ApiError):
    """402: creating this would exceed the key's monthly spending cap (or no payment method)."""

    def __init__(
        self,
        message: str,
        *,
        spending_cap: float | None = None,
        amount_spent: float | None = None,
        **kwargs,
    ) -> None:
        super().__init__(message, **kwargs)
        self.spending_cap = spending_cap
        self.amount_spent = amount_spent


class ForbiddenError(ApiError):
    """403 without a recognisable reason."""


class ScopeError(ForbiddenError):
    """403: the key lacks `required_scope`; `key_scopes` are the scopes it has."""

    def __init__(
        self,
        message: str,
        *,
        required_scope: str | None = None,
        key_scopes: Sequence[str] = (),
        **kwargs,
    ) -> None:
        super().__init__(message, **kwargs)
        self.required_scope = required_scope
        self.key_scopes = tuple(key_scopes)


class DashboardOnlyError(ForbiddenError):
    """403: the endpoint needs dashboard (JWT) access, never an API key; `hint` says why."""

    def __init__(self, message: str, *, hint: str | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.hint = hint


class NotFoundError(ApiError):
    """404: the container (or backup, connection...) does not exist in this key's account."""


class RateLimitedError(ApiError):
    """429: too many requests; nothing was processed; wait `retry_after` seconds."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float = 0.0, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx: STACKS failed; the request may or may not have been processed."""

    retryable = True


class NoCapacityError(ServerError):
    """503: STACKS has no capacity (a create puts the account on the waitlist)."""


class TransportError(StacksError):
    """No HTTP answer: the connection could not be made or broke.

    `sent` is False when the failure happened before any byte of the request
    left (connection refused, DNS, connect timeout): STACKS cannot have seen it.
    """

    retryable = True

    def __init__(self, message: str, *, sent: bool = True, **where) -> None:
        super().__init__(message, **where)
        self.sent = sent


class RequestTimeout(TransportError):
    """No answer within the timeout; a mutating request may still have been processed."""


class MalformedResponse(StacksError):
    """An answer the client cannot read: HTML instead of JSON, truncated JSON, wrong shape.

    `retryable` is True for undecodable bodies (a proxy page, a cut connection) and
    False for well-formed JSON of the wrong shape (asking again returns the same).
    """

    def __init__(
        self, message: str, *, retryable: bool = False, detail: str | None = None, **where
    ) -> None:
        super().__init__(message, **where)
        self.retryable = retryable
        self.detail = detail  # what the answer said that cannot be right, if it said anything


class BudgetExhausted(StacksError):
    """The client-side rate budget could not grant a request within the allowed wait."""


class RequestDeferred(BudgetExhausted):
    """A request reserved with `RateBudget.reserved()` was not sent: a Retry-After began.

    The reservation promised no wait between a state check and the change it
    authorises; waiting now would break that promise, so nothing is sent and the
    caller starts over (wait, check the state again, then send).
    """


class UnconfirmedChange(StacksError):
    """A change was sent, but the answer does not say whether STACKS applied it.

    Raised instead of the underlying error (kept as `__cause__`, described in
    `answer`) for requests that must not be repeated blindly: an unreadable or
    empty 2xx, a 5xx, a timeout after sending, a dropped connection. The change
    must never be resent on this answer; the caller reads the state back to
    learn what happened.
    """

    def __init__(self, message: str, *, answer: str, **where) -> None:
        super().__init__(message, **where)
        self.answer = answer


# -- mapping answers and httpx failures into the tree ---------------------------------


def describe_request(where: Mapping[str, str]) -> str:
    """The request as every message names it: `GET /containers/status/usr-...`."""
    return f"{where['method']} {where['path']}"


def safe_text(value: Any) -> str | None:
    """Server-provided text fit for a message: no key, one line, at most 200 characters."""
    if value is None:
        return None
    text = " ".join(redact_keys(str(value)).split())
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


def _number(value: Any) -> float | None:
    """A finite number, or None: an unusable field of an error body is left out, never fatal."""
    try:
        return as_float(value, "number")
    except MalformedData:
        return None


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
    request = describe_request(where)
    said = f"{status}: {detail}" if detail else str(status)
    common = {"detail": detail, "http_status": status, **where}
    if status == 400:
        field = safe_text(body.get("field"))
        about = f", field {field!r}" if field else ""
        # The guide's name rule is advice only where a name was sent; a refused backup of a
        # stopped container, say, is about the container's state, as STACKS' text says.
        rule = " (names: 3-32 letters, digits, single hyphens)" if field == "name" else ""
        return ValidationError(
            f"STACKS refused {request} as invalid ({said}{about}): fix the request{rule} "
            "and send it again",
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
    request = describe_request(where)
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
