"""Sending one STACKS request: budget, send, translate, observe, retry.

`RequestSender.send` is the whole life of an API call. Before every attempt it
takes one unit of the shared `RateBudget` (waiting if needed); after every
attempt it corrects the budget from the `X-RateLimit-*` headers and tells the
observer. Failures become `StacksError`s (`error_mapping`), and `retry` decides
whether to try again: reads are retried, every change is sent at most once,
and a change STACKS may have applied ends in `UnconfirmedChange`. Nothing here
ever logs a header or a body.
"""

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx

from daemon.clock import Clock, StopRequested
from daemon.stacks.decoding import rate_limit_headers, retry_after_seconds
from daemon.stacks.error_mapping import error_from_response, error_from_transport, safe_text
from daemon.stacks.errors import (
    BudgetExhausted,
    MalformedResponse,
    RateLimitedError,
    RequestTimeout,
    StacksError,
    UnconfirmedChange,
)
from daemon.stacks.fields import MalformedData
from daemon.stacks.observer import ApiObserver
from daemon.stacks.ratebudget import Priority, RateBudget
from daemon.stacks.retry import Backoff, proves_not_applied, should_retry
from daemon.stacks.routes import Route

log = logging.getLogger(__name__)

SUCCESS = frozenset((200, 201, 202, 204))
DEFAULT_RETRY_AFTER = 60.0

T = TypeVar("T")
Parser = Callable[[httpx.Response, Mapping[str, str]], T]


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
        parse: Parser[T],
        *,
        priority: Priority | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> T:
        """`parse` of the success response to `route` at `path`, or the final StacksError.

        Parsing happens inside the retry loop: a truncated body on a read is asked
        for again. A change is sent once; one that STACKS may have applied ends in
        `UnconfirmedChange` (see `daemon.stacks.retry`).
        """
        where = {"method": route.method, "route": route.template, "path": path}
        priority = route.priority if priority is None else priority
        failures = throttles = 0
        while True:
            try:
                response = self._attempt(route, path, where, priority, params, json)
                return self._parse(parse, response, where)
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
        """Reads only: a change is sent at most once (its caller checks state first)."""
        return route.reads and should_retry(error)

    def _attempt(
        self,
        route: Route,
        path: str,
        where: dict[str, str],
        priority: Priority,
        params: Mapping[str, Any] | None,
        json: Any,
    ) -> httpx.Response:
        if getattr(self._clock, "stopping", False):
            raise StopRequested  # a stopping daemon starts no new request
        try:
            self._budget.acquire(priority)
        except BudgetExhausted as exc:
            message = f"{where['method']} {where['path']} not sent: {exc}"
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
                f"STACKS answered {where['method']} {where['path']} with a body that cannot "
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
            if retry_after is None:
                retry_after = self._budget.seconds_until_reset() or DEFAULT_RETRY_AFTER
            self._budget.on_retry_after(retry_after)
        raise error_from_response(response, where, retry_after)

    @staticmethod
    def _parse(parse: Parser[T], response: httpx.Response, where: Mapping[str, str]) -> T:
        try:
            return parse(response, where)
        except MalformedData as exc:
            raise MalformedResponse(
                f"STACKS answered {where['method']} {where['path']} with "
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


def _unconfirmed(error: StacksError, where: Mapping[str, str]) -> UnconfirmedChange:
    """The ambiguous end of a change: what STACKS answered, and that it must be read back."""
    status = error.http_status
    if status is not None and 200 <= status < 300:
        answer = f"{status} with a body that could not be read"
    elif status is not None:
        detail = getattr(error, "detail", None)
        answer = f"{status}: {detail}" if detail else str(status)
    elif isinstance(error, RequestTimeout):
        answer = "no answer within the timeout after the request was sent"
    else:
        answer = "the connection broke before an answer arrived"
    return UnconfirmedChange(
        f"STACKS may have applied {where['method']} {where['path']} (it answered {answer}); "
        "read its state back before repeating anything",
        answer=answer,
        http_status=status,
        **where,
    )
