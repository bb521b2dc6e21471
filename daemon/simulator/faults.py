"""Faults: random failures, forced 429s, answers after applying a mutation, lying rate headers.

Faults hit only `/api/v1` requests. Before authentication (as a proxy or an
overloaded backend would), a request may meet a `burst_429` 429, a
`reject_mutations_429` 429 (mutating requests only), or a random 500, 503,
timeout or malformed answer. Each request draws the same two numbers from a
generator seeded by `Faults.seed` (else the simulator's seed), so a run is
repeatable. A 500, 503, HTML page, timeout or 429 means the request was never
processed; a truncated JSON body is a real answer cut short (its change, if
any, happened). After processing, a mutating request the simulator accepted
(2xx) may be answered as `after_apply` says, and every answer's X-RateLimit-*
headers are rewritten as `rate_headers` says (both below).

Counted faults (`burst_429`, `reject_mutations_429`, `after_apply_count`) switch
themselves off once used up; `remaining()` tells how many are left.

Answers after applying a mutation (`MutationAnswer`): normally, unreadably
(`garbage`: HTML with 200, or JSON cut short), empty (`empty204`), not at all
(`drop`), or too late (`slow`). The change has happened in every case (the
mutation log records it with its `answer`); only what reaches the client
differs. The handler core shapes the answer here; the adapters (adapters.py)
carry out `drop` (a SimulatedDisconnect) and `slow` (a Response whose
`hold_seconds` is set).

Rate-limit headers that lie (`RateHeaderMode`); the limiter still counts and
enforces. Every /api/v1 answer (429s included) first gets the honest
X-RateLimit-* headers, then the mode rewrites them; `Retry-After` is never
touched. Modes:

- `honest`: as counted.
- `reset_in_past`: Reset is two windows earlier than the real one (always past).
- `missing`: none of the three headers.
- `remaining_above_limit`: Remaining = Limit + real remaining + 1.
- `limit_changes`: answers cycle through a Limit of the real one, twice it, half
  of it (at least 1), with Remaining consistent with each claimed Limit.
- `non_numeric`: Limit "60 per minute", Remaining "unknown", Reset an HTTP date.
- `zero_remaining_reset_past`: Remaining 0 and Reset in the past.
- `random`: each answer draws one of the six lying modes (seeded).
"""

import random
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from enum import StrEnum
from typing import Any

from daemon.simulator.exchange import Refusal, Response, SimulatedDisconnect, check_field_names
from daemon.simulator.limits import LIMIT, REMAINING, RESET, RETRY_AFTER, WINDOW

# -- answers after applying a mutation -------------------------------------------------

GARBAGE_KINDS = ("html", "truncated")

# What a misrouted proxy or CDN serves with 200: the dashboard's single-page app shell.
HTML_APP_SHELL = (
    b'<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>STACKS</title>'
    b'</head>\n<body><div id="root"></div><script src="/assets/index.js"></script></body>\n'
    b"</html>\n"
)


class MutationAnswer(StrEnum):
    """How a mutation the simulator applied was answered (the mutation log's `answer`)."""

    OK = "ok"  # the normal answer
    GARBAGE = "garbage"  # a 2xx the client cannot read: HTML with 200, or JSON cut short
    EMPTY_204 = "empty204"  # 204 No Content, empty body
    DROP = "drop"  # the connection closed without any answer
    SLOW = "slow"  # the normal answer, held back `slow_seconds`


AFTER_APPLY_ANSWERS = tuple(
    answer.value for answer in MutationAnswer if answer is not MutationAnswer.OK
)


def truncated(response: Response) -> Response:
    """The same answer with its body cut in half."""
    return Response(response.status, response.headers, response.body[: len(response.body) // 2])


def shape_answer(
    response: Response,
    answer: MutationAnswer,
    garbage_kind: str,
    slow_seconds: float,
    what: str,
) -> Response:
    """The answer the client gets for `response` (of an applied mutation `what`)."""
    if answer is MutationAnswer.GARBAGE:
        if garbage_kind == "truncated":
            return truncated(response)
        headers = {**response.headers, "Content-Type": "text/html; charset=utf-8"}
        return Response(200, headers, HTML_APP_SHELL)
    if answer is MutationAnswer.EMPTY_204:
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
        return Response(204, headers, b"")
    if answer is MutationAnswer.DROP:
        raise SimulatedDisconnect(f"{what} applied, then the connection was dropped (drop fault)")
    if answer is MutationAnswer.SLOW:
        return Response(response.status, response.headers, response.body, slow_seconds)
    return response


# -- rate-limit headers that lie -------------------------------------------------------

LIMIT_FACTORS = (1.0, 2.0, 0.5)


class RateHeaderMode(StrEnum):
    HONEST = "honest"
    RESET_IN_PAST = "reset_in_past"
    MISSING = "missing"
    REMAINING_ABOVE_LIMIT = "remaining_above_limit"
    LIMIT_CHANGES = "limit_changes"
    NON_NUMERIC = "non_numeric"
    ZERO_REMAINING_RESET_PAST = "zero_remaining_reset_past"
    RANDOM = "random"


RATE_HEADER_MODES = tuple(mode.value for mode in RateHeaderMode)
LYING_MODES = tuple(
    mode for mode in RateHeaderMode if mode not in (RateHeaderMode.HONEST, RateHeaderMode.RANDOM)
)


class RateHeaderSkew:
    """Rewrites the honest headers of each answer as its mode says."""

    def __init__(self, mode: str, seed: int) -> None:
        self.mode = RateHeaderMode(mode)
        self._rng = random.Random(seed)
        self._answers = 0

    def apply(self, headers: dict[str, str]) -> None:
        if self.mode is RateHeaderMode.HONEST or LIMIT not in headers:
            return
        mode = self._rng.choice(LYING_MODES) if self.mode is RateHeaderMode.RANDOM else self.mode
        limit, remaining, reset = int(headers[LIMIT]), int(headers[REMAINING]), int(headers[RESET])
        past = str(reset - 2 * WINDOW)
        if mode is RateHeaderMode.RESET_IN_PAST:
            headers[RESET] = past
        elif mode is RateHeaderMode.MISSING:
            for name in (LIMIT, REMAINING, RESET):
                del headers[name]
        elif mode is RateHeaderMode.REMAINING_ABOVE_LIMIT:
            headers[REMAINING] = str(limit + remaining + 1)
        elif mode is RateHeaderMode.LIMIT_CHANGES:
            claimed = max(1, round(limit * LIMIT_FACTORS[self._answers % len(LIMIT_FACTORS)]))
            self._answers += 1
            used = limit - remaining
            headers[LIMIT], headers[REMAINING] = str(claimed), str(max(0, claimed - used))
        elif mode is RateHeaderMode.NON_NUMERIC:
            headers[LIMIT] = f"{limit} per minute"
            headers[REMAINING] = "unknown"
            headers[RESET] = format_datetime(datetime.fromtimestamp(reset, UTC), usegmt=True)
        elif mode is RateHeaderMode.ZERO_REMAINING_RESET_PAST:
            headers[REMAINING], headers[RESET] = "0", past


# -- the faults and who draws them -----------------------------------------------------

HTML_ERROR_PAGE = (
    b"<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n"
    b"<center><h1>500 Internal Server Error</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
AFTER_APPLY_FIELDS = frozenset(
    {"after_apply", "after_apply_count", "after_apply_match", "garbage_kind", "slow_seconds"}
)


@dataclass(frozen=True)
class Faults:
    error_rate: float = 0.0  # share of requests answered 500
    unavailable_rate: float = 0.0  # share answered 503 (no capacity)
    timeout_rate: float = 0.0  # share dropped unanswered
    malformed_rate: float = 0.0  # share answered with an HTML page or truncated JSON
    latency: float = 0.0  # seconds added to every request (clock.sleep)
    burst_429: int = 0  # the next N requests answer 429
    retry_after: int = 5  # Retry-After of forced 429s (burst_429, reject_mutations_429), seconds
    seed: int | None = None
    # -- answers after applying a mutation (MutationAnswer above) ----------------------
    after_apply: str | None = None  # "garbage" | "empty204" | "drop" | "slow"; None = off
    after_apply_count: int = 1  # how many matching applied mutations get it, then off
    after_apply_match: str | None = None  # regex searched in "PUT /api/v1/containers/x/status"
    garbage_kind: str = "html"  # "html" (200 text/html page) | "truncated" (JSON cut in half)
    slow_seconds: float = 15.0  # how long a "slow" answer is held back
    # -- 429s on mutating requests -----------------------------------------------------
    reject_mutations_429: int = 0  # the next N mutating requests: 429, not applied, not logged
    # -- rate-limit headers (RateHeaderMode above) -------------------------------------
    rate_headers: str = RateHeaderMode.HONEST.value

    def __post_init__(self) -> None:
        rates = (self.error_rate, self.unavailable_rate, self.timeout_rate, self.malformed_rate)
        if any(not 0 <= rate <= 1 for rate in rates) or sum(rates) > 1:
            raise ValueError(f"fault rates must be within 0..1 and sum to at most 1, got {rates}")
        if self.latency < 0 or self.burst_429 < 0 or self.retry_after < 1:
            raise ValueError("latency and burst_429 must be >= 0 and retry_after >= 1")
        if self.after_apply is not None and self.after_apply not in AFTER_APPLY_ANSWERS:
            raise ValueError(
                f"after_apply must be one of {list(AFTER_APPLY_ANSWERS)} or null, "
                f"got {self.after_apply!r}"
            )
        if isinstance(self.after_apply_count, bool) or not isinstance(self.after_apply_count, int):
            raise ValueError(
                f"after_apply_count must be a whole number, got {self.after_apply_count!r}"
            )
        if self.after_apply_count < 1:
            raise ValueError(f"after_apply_count must be >= 1, got {self.after_apply_count}")
        if self.after_apply_match is not None:
            try:
                re.compile(self.after_apply_match)
            except (re.error, TypeError) as error:
                raise ValueError(
                    f"after_apply_match must be a regular expression, got "
                    f"{self.after_apply_match!r}: {error}"
                ) from None
        if self.garbage_kind not in GARBAGE_KINDS:
            raise ValueError(
                f"garbage_kind must be one of {list(GARBAGE_KINDS)}, got {self.garbage_kind!r}"
            )
        if isinstance(self.slow_seconds, bool) or not self.slow_seconds > 0:
            raise ValueError(f"slow_seconds must be > 0, got {self.slow_seconds!r}")
        if isinstance(self.reject_mutations_429, bool) or self.reject_mutations_429 < 0:
            raise ValueError(
                f"reject_mutations_429 must be >= 0, got {self.reject_mutations_429!r}"
            )
        if self.rate_headers not in RATE_HEADER_MODES:
            raise ValueError(
                f"rate_headers must be one of {list(RATE_HEADER_MODES)}, got {self.rate_headers!r}"
            )

    @classmethod
    def from_json(cls, data: dict[str, Any], base: "Faults | None" = None) -> "Faults":
        """Faults from JSON; unnamed fields keep `base`'s value (the defaults when None)."""
        check_field_names(cls, data, "fault field(s)")
        return replace(base, **data) if base is not None else cls(**data)


class FaultInjector:
    """Decides, request by request, which fault (if any) hits it."""

    def __init__(self, seed: int) -> None:
        self._default_seed = seed
        self.configure(Faults())

    def configure(self, faults: Faults) -> None:
        """Replace every fault; every count and generator starts afresh."""
        self.faults = faults
        self._burst_left = faults.burst_429
        self._reject_left = faults.reject_mutations_429
        self._after_apply_left = self._after_apply_count()
        self._rng = random.Random(self._seed())
        self._skew = RateHeaderSkew(faults.rate_headers, self._seed())

    def amend(self, changes: dict[str, Any]) -> None:
        """Change the named fields only; counts and generators of the others carry on."""
        faults = Faults.from_json(changes, base=self.faults)
        self.faults = faults
        if "burst_429" in changes:
            self._burst_left = faults.burst_429
        if "reject_mutations_429" in changes:
            self._reject_left = faults.reject_mutations_429
        if AFTER_APPLY_FIELDS & set(changes):
            self._after_apply_left = self._after_apply_count()
        if "seed" in changes:
            self._rng = random.Random(self._seed())
        if {"seed", "rate_headers"} & set(changes):
            self._skew = RateHeaderSkew(faults.rate_headers, self._seed())

    def _after_apply_count(self) -> int:
        return self.faults.after_apply_count if self.faults.after_apply else 0

    def _seed(self) -> int:
        return self._default_seed if self.faults.seed is None else self.faults.seed

    def remaining(self) -> dict[str, int]:
        """How many answers each counted fault still has to give."""
        return {
            "burst_429": self._burst_left,
            "reject_mutations_429": self._reject_left,
            "after_apply": self._after_apply_left,
        }

    def draw(self, mutating: bool = False) -> str | None:
        """`"500"`, `"503"`, `"timeout"`, `"html"`, `"truncated"`, `"429"` or None."""
        roll, variant = self._rng.random(), self._rng.random()
        if self._burst_left > 0:
            self._burst_left -= 1
            return "429"
        if mutating and self._reject_left > 0:
            self._reject_left -= 1
            return "429"
        f = self.faults
        for name, rate in (
            ("500", f.error_rate),
            ("503", f.unavailable_rate),
            ("timeout", f.timeout_rate),
            ("malformed", f.malformed_rate),
        ):
            if roll < rate:
                return ("html" if variant < 0.5 else "truncated") if name == "malformed" else name
            roll -= rate
        return None

    def after_apply(self, method: str, path: str) -> MutationAnswer | None:
        """The `after_apply` answer for this applied mutation, or None (counts it down)."""
        f = self.faults
        if f.after_apply is None or self._after_apply_left <= 0:
            return None
        if f.after_apply_match is not None and not re.search(
            f.after_apply_match, f"{method} {path}"
        ):
            return None
        self._after_apply_left -= 1
        return MutationAnswer(f.after_apply)

    def skew_rate_headers(self, headers: dict[str, str]) -> None:
        self._skew.apply(headers)

    def error_for(self, fault: str) -> Refusal:
        """The answer of a fault that stops the request before it is processed."""
        if fault == "429":
            seconds = self.faults.retry_after
            return Refusal(
                429,
                {"error": "Too many requests", "retry_after": seconds},
                {RETRY_AFTER: str(seconds)},
            )
        if fault == "503":
            return Refusal(
                503,
                {
                    "success": False,
                    "error": "No capacity available. You've been added to the waitlist.",
                },
            )
        return Refusal(500, {"success": False, "error": "Internal server error"})
