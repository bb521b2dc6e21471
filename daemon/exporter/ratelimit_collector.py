"""Rate-limit metrics read at scrape time from the client's shared RateBudget (duck-typed).

The budget is corrected from the `X-RateLimit-*` headers of every response, so
`stacks_api_ratelimit_remaining` is what is left in the current window;
`stacks_api_throttled_total` counts the 429 answers the budget was told about
(each makes every caller wait for `Retry-After`).
"""

from collections.abc import Iterable
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric


class Budget(Protocol):
    @property
    def limit(self) -> int | None: ...

    @property
    def remaining(self) -> int | None: ...

    @property
    def throttled_total(self) -> int: ...


def ratelimit_families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, CounterMetricFamily]:
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
            "429 Too Many Requests answers from the STACKS API (callers then wait Retry-After).",
        ),
    )


class RateBudgetCollector:
    """The shared rate budget, read when scraped.

    Sample output:

        stacks_api_ratelimit_limit 60.0
        stacks_api_ratelimit_remaining 47.0
        stacks_api_throttled_total 3.0
    """

    def __init__(self, budget: Budget) -> None:
        self._budget = budget

    def describe(self) -> Iterable[Metric]:
        return ratelimit_families()

    def collect(self) -> Iterable[Metric]:
        limit, remaining, throttled = ratelimit_families()
        values = (
            (limit, self._budget.limit),
            (remaining, self._budget.remaining),
            (throttled, self._budget.throttled_total),
        )
        for family, value in values:
            if value is not None:
                family.add_metric([], float(value))
        return (limit, remaining, throttled)
