"""Limits of an API key: who may call, what, how often and for how much; traffic counts.

The handler core (api.py) applies them in this order: the Bearer key (401), the
key's per-minute window (429), dashboard-only endpoints (403), and, once the
route is found, its scope (403). A create is charged against the key's monthly
spending cap (402). Every /api/v1 request is counted, and its 429s by cause.

- Keys are `sk_stacks_` + 64 lowercase hex digits, each for one account (8 hex
  digits); several keys may share an account.
- The rate limit is a fixed window of one minute aligned to the minute; its
  X-RateLimit-* headers go on every answer (the `rate_headers` fault in
  faults.py may rewrite them).
- Dashboard-only endpoints (billing, account, keys, DB browser, files, resize,
  SSH password) answer 403 with the guide's body to any authenticated key,
  whatever its scopes, before the container is even looked up.
- Spending is what a key's creations cost in a calendar month (UTC).
- A 429 is either *forced* (a `burst_429` or `reject_mutations_429` fault answered
  it whatever the key's window held) or *over the limit* (the key had used its
  requests of the minute). After any 429 the caller was told to wait
  `Retry-After` seconds; a request with the same key that arrives before then
  counts as sent too early.
"""

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from daemon.simulator.exchange import Refusal
from daemon.simulator.world import KeyRecord, World

READ, CREATE, MANAGE, DELETE = (
    "containers:read",
    "containers:create",
    "containers:manage",
    "containers:delete",
)
ALL_SCOPES = (READ, CREATE, MANAGE, DELETE)
KEY_PREFIX = "sk_stacks_"
KEY_PATTERN = re.compile(KEY_PREFIX + r"[0-9a-f]{64}")
ACCOUNT_PATTERN = re.compile(r"[0-9a-f]{8}")
DEFAULT_RATE_LIMIT = 60  # requests a minute: of a new key, and the headers without a valid key
WINDOW = 60  # seconds of one rate-limit window
LIMIT, REMAINING, RESET = "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"
RETRY_AFTER = "Retry-After"

DASHBOARD_ONLY = re.compile(
    r"/(billing|payments?|payment-methods|invoices|subscriptions?|api-keys|account|users?)(/.*)?"
    r"|/containers/[^/]+/(resize|database|db|files|file-manager|ssh-password|password)(/.*)?"
)
DASHBOARD_ONLY_BODY = {
    "error": "This endpoint requires dashboard access (JWT authentication)",
    "hint": "This operation requires human approval via the dashboard.",
}


# -- keys, authentication, scopes ------------------------------------------------------


def issue_key(
    world: World,
    scopes: Iterable[str] = ALL_SCOPES,
    spending_cap: float | None = None,
    rate_limit: int = DEFAULT_RATE_LIMIT,
    account: str | None = None,
) -> KeyRecord:
    """A new key for `account` (a new account when None)."""
    scopes = tuple(scopes)
    unknown = [scope for scope in scopes if scope not in ALL_SCOPES]
    if unknown:
        raise ValueError(f"unknown scope(s) {unknown}; valid scopes are {list(ALL_SCOPES)}")
    if spending_cap is not None and spending_cap < 0:
        raise ValueError(f"spending_cap must be >= 0 dollars, got {spending_cap}")
    if isinstance(rate_limit, bool) or not isinstance(rate_limit, int) or rate_limit < 1:
        raise ValueError(f"rate_limit must be a positive number of requests, got {rate_limit!r}")
    if account is None:
        account = world.new_account()
    elif not ACCOUNT_PATTERN.fullmatch(account):
        raise ValueError(f"account must be 8 lowercase hex digits, got {account!r}")
    world.accounts.add(account)
    secret = KEY_PREFIX + world.hex(64)
    record = KeyRecord(secret, account, scopes, spending_cap, rate_limit)
    world.keys[secret] = record
    return record


def bearer_key(world: World, headers: Mapping[str, str]) -> KeyRecord | None:
    """The key named by `Authorization: Bearer ...`, or None when missing, malformed or unknown."""
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not KEY_PATTERN.fullmatch(token):
        return None
    return world.keys.get(token)


def authenticate(world: World, headers: Mapping[str, str]) -> KeyRecord:
    key = bearer_key(world, headers)
    if key is None:
        raise Refusal(401, {"error": "Invalid API key"})
    return key


def require_scope(key: KeyRecord, scope: str) -> None:
    if scope not in key.scopes:
        raise Refusal(
            403,
            {
                "error": f"API key lacks required scope: {scope}",
                "required_scope": scope,
                "key_scopes": list(key.scopes),
            },
        )


def refuse_dashboard_only(route: str) -> None:
    """403 when `route` (the path below /api/v1) is reserved to the dashboard."""
    if DASHBOARD_ONLY.fullmatch(route):
        raise Refusal(403, dict(DASHBOARD_ONLY_BODY))


# -- the per-minute rate limit ---------------------------------------------------------


class RateLimiter:
    """Per-key fixed-window rate limit (requests per minute) and its X-RateLimit-* headers."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, int]] = {}  # key -> (window start, requests)

    @staticmethod
    def _window_start(now: datetime) -> int:
        return int(now.timestamp()) // WINDOW * WINDOW

    def _used(self, key: str, now: datetime) -> tuple[int, int]:
        start = self._window_start(now)
        window, used = self._windows.get(key, (start, 0))
        return (start, 0) if window != start else (start, used)

    def headers(self, key: str | None, limit: int, now: datetime) -> dict[str, str]:
        """The three headers as they stand, without spending a request."""
        start, used = self._used(key, now) if key else (self._window_start(now), 0)
        return {
            LIMIT: str(limit),
            REMAINING: str(max(0, limit - used)),
            RESET: str(start + WINDOW),
        }

    def spend(self, key: str, limit: int, now: datetime) -> dict[str, str]:
        """Count one request, or raise 429 with Retry-After when the window is used up."""
        start, used = self._used(key, now)
        if used >= limit:
            reset = start + WINDOW
            retry_after = max(1, math.ceil(reset - now.timestamp()))
            raise Refusal(
                429,
                {
                    "error": "Rate limit exceeded",
                    "message": f"This API key allows {limit} requests per minute. "
                    f"Retry after {retry_after} seconds.",
                    "retry_after": retry_after,
                },
                {RETRY_AFTER: str(retry_after), **self.headers(key, limit, now)},
            )
        self._windows[key] = (start, used + 1)
        return self.headers(key, limit, now)


# -- the monthly spending cap ----------------------------------------------------------


class SpendingLedger:
    """What each key's creations cost in a calendar month (UTC), against its cap."""

    def __init__(self) -> None:
        self._spent: dict[tuple[str, str], float] = {}  # (key, "YYYY-MM") -> USD

    @staticmethod
    def _month(key: str, now: datetime) -> tuple[str, str]:
        return key, now.strftime("%Y-%m")

    def spent(self, key: str, now: datetime) -> float:
        return self._spent.get(self._month(key, now), 0.0)

    def charge(self, key: KeyRecord, price: float, now: datetime) -> None:
        """Record a creation costing `price`, or 402 when it would pass the key's cap."""
        spent = self.spent(key.secret, now)
        cap = key.spending_cap
        if cap is not None and spent + price > cap + 1e-9:
            raise Refusal(
                402,
                {
                    "error": "Monthly spending cap reached",
                    "spending_cap": float(cap),
                    "amount_spent": round(spent, 2),
                    "message": f"Your API key spending cap of ${cap:.2f}/month has been reached.",
                },
            )
        self._spent[self._month(key.secret, now)] = spent + price


# -- traffic counts --------------------------------------------------------------------


@dataclass(frozen=True)
class Traffic:
    requests: int = 0  # every /api/v1 request, whatever its answer (timeouts included)
    rate_limited_forced: int = 0  # 429s of `burst_429` and `reject_mutations_429` faults
    rate_limited_over_limit: int = 0  # 429s because the key's window was used up
    before_retry_after: int = 0  # requests sent before their key's last Retry-After had passed


class TrafficCounter:
    def __init__(self) -> None:
        self._counts = Traffic()
        self._quiet_until: dict[str, datetime] = {}  # key -> end of its last Retry-After

    @property
    def counts(self) -> Traffic:
        return self._counts

    def request(self, key: str | None, now: datetime) -> None:
        early = key is not None and now < self._quiet_until.get(key, now)
        self._counts = replace(
            self._counts,
            requests=self._counts.requests + 1,
            before_retry_after=self._counts.before_retry_after + early,
        )

    def rate_limited(self, key: str | None, now: datetime, retry_after: int, forced: bool) -> None:
        if key is not None:
            until = now + timedelta(seconds=retry_after)
            self._quiet_until[key] = max(until, self._quiet_until.get(key, until))
        if forced:
            self._counts = replace(
                self._counts, rate_limited_forced=self._counts.rate_limited_forced + 1
            )
        else:
            self._counts = replace(
                self._counts, rate_limited_over_limit=self._counts.rate_limited_over_limit + 1
            )
