"""STACKS API metrics: requests and errors as the client reports them, the rate budget when scraped.

`ApiMetrics` is the client's observer (`ApiObserver`). `on_request` is called
once per HTTP attempt with the route template (not the concrete path, so
container ids never multiply the series) and the status code, None for
transport failures (exported as code="error"). `on_error` sees every
StacksError; it is duck-typed (`http_status`, `required_scope`, class name) so
the exporter does not depend on the client's classes.

- `stacks_api_spending_cap_reached` turns 1 on a 402 and stays 1 until a create
  (`POST .../containers`) succeeds or the daemon restarts: nothing else tells
  whether the cap was raised.
- `stacks_api_scope_missing{scope}` turns 1 on a 403 naming `required_scope`
  and back to 0 once a request needing that scope succeeds (a 2xx): the scope
  the guide gives the route (`daemon.stacks.required_scope`), and any scope a
  403 to that same route named. So an operator who adds the scope to the key
  in the STACKS dashboard sees the alert end at the next such request, without
  a restart.

`RateBudgetCollector` reads the client's shared RateBudget (duck-typed, see
`Budget`) at scrape time. The budget is corrected from the `X-RateLimit-*`
headers of every response, so `stacks_api_ratelimit_remaining` is what is left
in the current window; `stacks_api_throttled_total` counts the 429 answers the
budget was told about (each makes every caller wait for `Retry-After`).
"""

import threading
from collections.abc import Iterable
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from daemon.stacks import required_scope

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SPENDING_CAP_STATUS = 402
SCOPE_STATUS = 403


class ApiMetrics:
    """Counts and times STACKS API requests; flags spending-cap and missing-scope errors.

    Sample output:

        stacks_api_requests_total{code="200",endpoint="/containers",method="GET"} 42.0
        stacks_api_requests_total{code="error",endpoint="/backups/stats",method="GET"} 1.0
        stacks_api_request_duration_seconds_bucket{endpoint="/containers",le="0.1",...} 40.0
        stacks_api_spending_cap_reached 0.0
        stacks_api_scope_missing{scope="containers:delete"} 1.0
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self._requests = Counter(
            "stacks_api_requests",
            "STACKS API requests by method, route template and HTTP status code "
            '("error" when no response arrived).',
            ("method", "endpoint", "code"),
            registry=registry,
        )
        self._duration = Histogram(
            "stacks_api_request_duration_seconds",
            "Duration of STACKS API requests in seconds, by method and route template.",
            ("method", "endpoint"),
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self._spending_cap = Gauge(
            "stacks_api_spending_cap_reached",
            "1 after a create was refused for the spending cap (402), until a create succeeds.",
            registry=registry,
        )
        self._scope_missing = Gauge(
            "stacks_api_scope_missing",
            "1 for each scope the API key lacks, as learned from a 403 response, "
            "until a request needing it succeeds.",
            ("scope",),
            registry=registry,
        )
        # Scopes flagged missing now, and the scopes each (method, route) was refused for.
        self._missing: set[str] = set()
        self._refused: dict[tuple[str, str], set[str]] = {}
        self._lock = threading.Lock()

    def on_request(
        self, method: str, route: str, status_code: int | None, duration_s: float
    ) -> None:
        method = method.upper()
        code = "error" if status_code is None else str(status_code)
        self._requests.labels(method, route, code).inc()
        self._duration.labels(method, route).observe(max(0.0, duration_s))
        succeeded = status_code is not None and 200 <= status_code < 300
        if succeeded and method == "POST" and route.rstrip("/").split("/")[-1] == "containers":
            self._spending_cap.set(0)
        if succeeded:
            self._scopes_held(method, route)

    def on_error(self, error: Exception) -> None:
        status = getattr(error, "http_status", None)
        if status == SPENDING_CAP_STATUS or type(error).__name__ == "SpendingCapError":
            self._spending_cap.set(1)
        scope = getattr(error, "required_scope", None)
        if status == SCOPE_STATUS and isinstance(scope, str) and scope:
            where = (str(getattr(error, "method", "")).upper(), str(getattr(error, "route", "")))
            with self._lock:
                self._missing.add(scope)
                self._refused.setdefault(where, set()).add(scope)
                self._scope_missing.labels(scope).set(1)

    def _scopes_held(self, method: str, route: str) -> None:
        """A request to `route` succeeded: the key holds every scope the route needs."""
        with self._lock:
            if not self._missing:
                return
            held = self._refused.pop((method, route), set())
            needed = required_scope(method, route)
            if needed is not None:
                held.add(needed)
            for scope in held & self._missing:
                self._missing.discard(scope)
                self._scope_missing.labels(scope).set(0)


class Budget(Protocol):
    """What `RateBudgetCollector` reads of the client's RateBudget."""

    @property
    def limit(self) -> int | None: ...

    @property
    def remaining(self) -> int | None: ...

    @property
    def throttled_total(self) -> int: ...


class RateBudgetCollector:
    """The shared rate budget, read when scraped; a value not known yet has no series.

    Sample output:

        stacks_api_ratelimit_limit 60.0
        stacks_api_ratelimit_remaining 47.0
        stacks_api_throttled_total 3.0
    """

    def __init__(self, budget: Budget) -> None:
        self._budget = budget

    @staticmethod
    def families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, CounterMetricFamily]:
        return (
            GaugeMetricFamily(
                "stacks_api_ratelimit_limit", "Requests per minute the STACKS API key may make."
            ),
            GaugeMetricFamily(
                "stacks_api_ratelimit_remaining",
                "Requests left in the current rate-limit window, as the API last reported.",
            ),
            CounterMetricFamily(
                "stacks_api_throttled",
                "429 Too Many Requests answers from the STACKS API "
                "(callers then wait Retry-After).",
            ),
        )

    def describe(self) -> Iterable[Metric]:
        return self.families()

    def collect(self) -> Iterable[Metric]:
        limit, remaining, throttled = self.families()
        values = (
            (limit, self._budget.limit),
            (remaining, self._budget.remaining),
            (throttled, self._budget.throttled_total),
        )
        for family, value in values:
            if value is not None:
                family.add_metric([], float(value))
        return (limit, remaining, throttled)
