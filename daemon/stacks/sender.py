"""Sending one STACKS request: budget, send, translate, observe, retry, rate-limit headers.

`RequestSender.send` is the whole life of an API call, below every endpoint
method of `StacksClient`. Before every attempt it takes one unit of the shared
`RateBudget` (waiting if needed); after every attempt it corrects the budget
from the `X-RateLimit-*` headers (`rate_limit_headers`) and tells the
`ApiObserver`. Failures become `StacksError`s (`errors`), and the rules below
decide whether to try again. Nothing here ever logs a header or a body.

Reads (GET) are retried on any failure that asking again may cure: 5xx,
timeouts, dropped connections, unreadable bodies, and 429 once `Retry-After`
has passed (the wait itself lives in the rate budget).

Changes are different: STACKS may have applied one whose answer went missing.
The client sends every change (`PUT .../status`, `POST .../backup`, restore,
pin, unpin, delete, create...) at most once. Its failure is raised as is when
the answer proves STACKS did not apply it (`proves_not_applied`), and as
`UnconfirmedChange` otherwise, so the caller reads the state back instead of
sending the change again. Only the caller may send one again, after an answer
that proves it was not applied and may pass (`worth_resending`), and a fresh
check of the state.

Answers that prove a request was **not applied**:

- 429 Too Many Requests (STACKS refused it before doing anything);
- any other 4xx (refused: not processed by STACKS);
- 503 with the guide's "no capacity, added to the waitlist" body (`NoCapacityError`);
- a connection that could not be made (refused, DNS, connect or pool timeout):
  nothing was sent;
- the local rate budget gave no request (`BudgetExhausted`, `RequestDeferred`):
  nothing was sent.

Everything else is **ambiguous**: a 2xx whose body is unreadable, empty (204) or
not the documented shape, a 3xx (redirects are not followed, and a `303 See
Other` is how many servers answer a change they made), a 5xx, a timeout after
the request went out, a connection dropped before the answer.

Waits between failure retries use "full jitter" exponential backoff: a uniform
random delay in [0, min(cap, base * 2**attempt)], so many daemons recovering
from the same outage do not hammer STACKS in lockstep.
"""

import email.utils
import logging
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import httpx

from daemon.clock import Clock, StopRequested
from daemon.stacks.errors import (
    MAX_RETRY_AFTER,
    ApiError,
    BudgetExhausted,
    MalformedResponse,
    NoCapacityError,
    RateLimitedError,
    RequestTimeout,
    StacksError,
    TransportError,
    UnconfirmedChange,
    describe_request,
    error_from_response,
    error_from_transport,
    safe_text,
)
from daemon.stacks.fields import MalformedData, decode_json
from daemon.stacks.ratebudget import WINDOW_SECONDS, Priority, RateBudget
from daemon.stacks.routes import Route

log = logging.getLogger(__name__)

SUCCESS = frozenset((200, 201, 202, 204))

T = TypeVar("T")
Where = Mapping[str, str]  # method, route and path of a request, as errors carry them
Reader = Callable[[httpx.Response, Where], T]  # a success answer -> the endpoint's result


class ApiObserver(Protocol):
    """What the client tells the outside (metrics) about each request.

    The exporter implements it to count `stacks_api_requests_total{method,endpoint,code}`
    and time requests; `route` is the route template (`/containers/{container_id}/logs`),
    never a concrete path, so label cardinality stays fixed.
    """

    def on_request(
        self, method: str, route: str, status_code: int | None, duration_s: float
    ) -> None:
        """After every attempt; `status_code` is None when no response arrived."""

    def on_error(self, error: StacksError) -> None:
        """Once per call that finally failed (after retries)."""


@dataclass
class Backoff:
    """Exponential backoff with jitter: the client's read retries, and the notification
    sinks' (daemon/notify) retries after a failed delivery."""

    base: float = 0.5
    cap: float = 8.0
    rng: random.Random = field(default_factory=random.Random)
    least: float = 0.0  # the share of the ceiling always waited (0: full jitter)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (0 for the first retry)."""
        ceiling = min(self.cap, self.base * 2 ** min(attempt, 40))
        return self.rng.uniform(ceiling * self.least, ceiling)


def proves_not_applied(error: StacksError) -> bool:
    """Whether the answer behind `error` proves STACKS did not apply the request."""
    if isinstance(error, BudgetExhausted | NoCapacityError):
        return True
    if isinstance(error, TransportError):
        return not error.sent
    if isinstance(error, ApiError):
        return error.http_status is not None and 400 <= error.http_status < 500
    return False


def worth_resending(error: StacksError) -> bool:
    """A change refused for a passing reason (429, no connection, no budget yet).

    The caller may send it again, after the wait and a fresh check of the state;
    a 4xx refusal other than 429 would be refused again.
    """
    if isinstance(error, RateLimitedError | BudgetExhausted):
        return True
    return isinstance(error, TransportError) and not error.sent


class RequestSender:
    def __init__(
        self,
        http: httpx.Client,
        budget: RateBudget,
        clock: Clock,
        backoff: Backoff,
        retries: int,
        timeout: float,
        observer: ApiObserver | None = None,
    ) -> None:
        self._http = http
        self._budget = budget
        self._clock = clock
        self._backoff = backoff
        self._retries = retries
        self._timeout = timeout
        self._observer = observer

    def send(
        self,
        route: Route,
        path: str,
        read: Reader[T],
        *,
        priority: Priority | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> T:
        """`read` of the success response to `route` at `path`, or the final StacksError.

        Reading happens inside the retry loop: a truncated body on a read is asked
        for again. A change is sent once; one that STACKS may have applied ends in
        `UnconfirmedChange`.
        """
        where = {"method": route.method, "route": route.template, "path": path}
        priority = route.priority if priority is None else priority
        failures = throttles = 0
        while True:
            try:
                response = self._attempt(route, path, where, priority, params, json)
                return self._read(read, response, where)
            except StacksError as error:
                failed = error
            throttled = isinstance(failed, RateLimitedError)
            used = throttles if throttled else failures
            if used >= self._retries or not self._may_resend(route, failed):
                break
            if throttled:
                throttles += 1  # the budget already holds every caller until Retry-After
                delay = 0.0
            else:
                failures += 1
                delay = self._backoff.delay(failures - 1)
            log.warning(
                "retrying %s %s after %s (retry %d of %d) in %.1f s",
                route.method,
                route.template,
                failed.http_status or type(failed).__name__,
                throttles if throttled else failures,
                self._retries,
                delay,
            )
            self._clock.sleep(delay)
        if not route.reads and not proves_not_applied(failed):
            unconfirmed = _unconfirmed(failed, where)
            self._notify_error(unconfirmed)
            raise unconfirmed from failed
        self._notify_error(failed)
        raise failed

    @staticmethod
    def _may_resend(route: Route, error: StacksError) -> bool:
        """Reads only, on a failure asking again may cure: a change is sent at most once."""
        return route.reads and (isinstance(error, RateLimitedError) or error.retryable)

    def _attempt(
        self,
        route: Route,
        path: str,
        where: Where,
        priority: Priority,
        params: Mapping[str, Any] | None,
        json: Any,
    ) -> httpx.Response:
        if getattr(self._clock, "stopping", False):
            raise StopRequested  # a stopping daemon starts no new request
        try:
            self._budget.acquire(priority)
        except BudgetExhausted as exc:
            message = f"{describe_request(where)} not sent: {exc}"
            raise type(exc)(message, **where) from None  # BudgetExhausted or RequestDeferred
        started = self._clock.monotonic()
        try:
            response = self._http.request(route.method, path, params=params, json=json)
        except httpx.TransportError as exc:
            self._notify_request(route, None, started)
            raise error_from_transport(exc, where, route.reads, self._timeout) from exc
        except httpx.DecodingError as exc:  # e.g. `Content-Encoding: gzip` over a plain body
            self._notify_request(route, None, started)
            raise MalformedResponse(
                f"STACKS answered {describe_request(where)} with a body that cannot "
                f"be decoded ({safe_text(exc)}); retry, and check any proxy in front of it",
                retryable=True,
                **where,
            ) from exc
        self._notify_request(route, response.status_code, started)
        self._budget.update_from_headers(*rate_limit_headers(response.headers))
        log.debug(
            "%s %s -> %d in %.3f s",
            route.method,
            route.template,
            response.status_code,
            self._clock.monotonic() - started,
        )
        if response.status_code in SUCCESS:
            return response
        retry_after = 0.0
        if response.status_code == 429:
            retry_after = retry_after_seconds(response.headers, self._clock.now())
            if retry_after is None:  # no usable header: the rest of the window, or a whole one
                retry_after = self._budget.seconds_until_reset() or WINDOW_SECONDS
            self._budget.on_retry_after(retry_after)
        raise error_from_response(response, where, retry_after)

    @staticmethod
    def _read(read: Reader[T], response: httpx.Response, where: Where) -> T:
        try:
            return read(response, where)
        except MalformedData as exc:
            raise MalformedResponse(
                f"STACKS answered {describe_request(where)} with "
                f"{response.status_code} but not in the documented shape ({exc}): the API "
                "may have changed; report it with this message",
                http_status=response.status_code,
                **where,
            ) from exc

    def _notify_request(self, route: Route, status: int | None, started: float) -> None:
        if self._observer is None:
            return
        duration = self._clock.monotonic() - started
        try:
            self._observer.on_request(route.method, route.template, status, duration)
        except Exception:
            log.exception("the API observer failed on_request; continuing")

    def _notify_error(self, error: StacksError) -> None:
        if self._observer is None:
            return
        try:
            self._observer.on_error(error)
        except Exception:
            log.exception("the API observer failed on_error; continuing")


def _unconfirmed(error: StacksError, where: Where) -> UnconfirmedChange:
    """The ambiguous end of a change: what STACKS answered, and that it must be read back."""
    status = error.http_status
    if status is not None and 200 <= status < 300:
        detail = getattr(error, "detail", None)
        answer = (
            f"{status} but {detail}" if detail else f"{status} with a body that could not be read"
        )
    elif status is not None:
        detail = getattr(error, "detail", None)
        answer = f"{status}: {detail}" if detail else str(status)
    elif isinstance(error, RequestTimeout):
        answer = "no answer within the timeout after the request was sent"
    else:
        answer = "the connection broke before an answer arrived"
    return UnconfirmedChange(
        f"STACKS may have applied {describe_request(where)} (it answered {answer}); "
        "read its state back before repeating anything",
        answer=answer,
        http_status=status,
        **where,
    )


# -- reading answers: the JSON object of a success, the rate-limit headers of any ---------


def _json_object(response: httpx.Response, where: Where) -> Mapping[str, Any]:
    """The JSON object of a success response, or MalformedResponse."""
    try:
        body = decode_json(response)
    except ValueError as exc:
        raise MalformedResponse(
            f"STACKS answered {describe_request(where)} with {response.status_code} "
            f"but an unreadable body: {exc}; retry, and check api.base_url points at the "
            "STACKS API if it persists",
            retryable=True,
            http_status=response.status_code,
            **where,
        ) from exc
    if not isinstance(body, Mapping):
        raise MalformedResponse(
            f"STACKS answered {describe_request(where)} with JSON "
            f"{type(body).__name__} where an object was documented",
            http_status=response.status_code,
            **where,
        )
    if "success" in body and body["success"] is not True:
        # The guide's envelope says `"success": false` only with an error status; a 2xx
        # that says it contradicts itself. For a change that is no proof either way.
        said = safe_text(body.get("error") or body.get("message")) or "no reason given"
        detail = f'"success": {safe_text(repr(body["success"]).lower())} ({said})'
        raise MalformedResponse(
            f"STACKS answered {describe_request(where)} with {response.status_code} but "
            f"{detail}: the answer contradicts itself",
            detail=detail,
            http_status=response.status_code,
            **where,
        )
    return body


def body_reader(
    parse: Callable[[Mapping[str, Any]], T], parse_text: Callable[[str], T] | None = None
) -> Reader[T]:
    """A reader handing the JSON object of an answer to `parse`.

    With `parse_text`, an answer whose content type is not JSON is a plain file
    (certificate, VPN config, logs) handed to it instead. An empty body (a bare
    204) is no JSON object: it does not say what STACKS did, so the change it
    answers ends in `UnconfirmedChange` and is read back.
    """

    def read(response: httpx.Response, where: Where) -> T:
        if parse_text is not None and "json" not in response.headers.get("content-type", ""):
            return parse_text(response.text)
        return parse(_json_object(response, where))

    return read


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
    """`Retry-After` as seconds (delta-seconds or an HTTP date), capped at MAX_RETRY_AFTER."""
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
