"""Every way a STACKS API call can fail, as one exception tree.

    StacksError                  any failed call: method, route (template), path, http_status
    ├── ApiError                 STACKS answered with a non-success status
    │   ├── ValidationError      400  field
    │   ├── AuthError            401  key invalid, missing or revoked
    │   ├── SpendingCapError     402  spending_cap, amount_spent
    │   ├── ForbiddenError       403
    │   │   ├── ScopeError           required_scope, key_scopes
    │   │   └── DashboardOnlyError   hint (needs a human in the dashboard)
    │   ├── NotFoundError        404
    │   ├── RateLimitedError     429  retry_after (seconds)
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

Lower-level errors (httpx, JSON decoding, `models.MalformedData`) are translated
once, where they happen, with `raise ... from exc`. Messages say what happened,
to which request, and what to do; they never contain the API key or secrets
from response bodies (server-provided text is key-scrubbed and shortened).
`http_status` is None when no response was received.
"""

from collections.abc import Sequence


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

    def __init__(self, message: str, *, retryable: bool = False, **where) -> None:
        super().__init__(message, **where)
        self.retryable = retryable


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
