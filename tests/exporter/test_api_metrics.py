"""API metrics as the client reports requests and errors; the rate budget as read when scraped."""

from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from daemon.exporter import ApiMetrics, RateBudgetCollector
from tests.exporter.samples import labels, registry_with, series


class SpendingCapError(Exception):
    http_status = 402


class ScopeError(Exception):
    http_status = 403

    def __init__(self, required_scope: str) -> None:
        super().__init__(f"API key lacks required scope: {required_scope}")
        self.required_scope = required_scope


class DashboardOnlyError(Exception):
    http_status = 403
    hint = "use the dashboard"


class ServerError(Exception):
    http_status = 500


def fresh() -> tuple[CollectorRegistry, ApiMetrics]:
    registry = CollectorRegistry()
    return registry, ApiMetrics(registry)


def test_requests_are_counted_by_method_route_and_code():
    registry, api = fresh()
    api.on_request("GET", "/containers", 200, 0.08)
    api.on_request("get", "/containers", 200, 0.2)
    api.on_request("GET", "/containers/{container_id}/metrics", None, 10.0)
    api.on_request("PUT", "/containers/{container_id}/status", 429, 0.05)

    assert series(registry, "stacks_api_requests_total") == {
        labels(method="GET", endpoint="/containers", code="200"): 2,
        labels(method="GET", endpoint="/containers/{container_id}/metrics", code="error"): 1,
        labels(method="PUT", endpoint="/containers/{container_id}/status", code="429"): 1,
    }
    counts = series(registry, "stacks_api_request_duration_seconds_count")
    assert counts[labels(method="GET", endpoint="/containers")] == 2
    buckets = series(registry, "stacks_api_request_duration_seconds_bucket")
    assert buckets[labels(method="GET", endpoint="/containers", le="0.1")] == 1
    assert buckets[labels(method="GET", endpoint="/containers", le="0.25")] == 2


def test_spending_cap_is_flagged_until_a_create_succeeds():
    registry, api = fresh()
    assert series(registry, "stacks_api_spending_cap_reached") == {(): 0}

    api.on_request("POST", "/containers", 402, 0.1)
    api.on_error(SpendingCapError("spending cap reached"))
    assert series(registry, "stacks_api_spending_cap_reached") == {(): 1}

    api.on_request("GET", "/containers", 200, 0.1)
    api.on_request("POST", "/containers/{container_id}/backup", 202, 0.1)
    assert series(registry, "stacks_api_spending_cap_reached") == {(): 1}

    api.on_request("POST", "/containers", 202, 0.1)
    assert series(registry, "stacks_api_spending_cap_reached") == {(): 0}


def test_spending_cap_error_is_recognised_by_class_name_alone():
    registry, api = fresh()
    error = type("SpendingCapError", (Exception,), {})()

    api.on_error(error)

    assert series(registry, "stacks_api_spending_cap_reached") == {(): 1}


def test_missing_scopes_are_flagged_per_scope():
    registry, api = fresh()
    api.on_error(ScopeError("containers:delete"))
    api.on_error(ScopeError("containers:delete"))
    api.on_error(ScopeError("containers:manage"))
    api.on_error(DashboardOnlyError())
    api.on_error(ServerError())

    assert series(registry, "stacks_api_scope_missing") == {
        labels(scope="containers:delete"): 1,
        labels(scope="containers:manage"): 1,
    }
    assert series(registry, "stacks_api_spending_cap_reached") == {(): 0}


@dataclass
class FakeBudget:
    limit: int | None = 60
    remaining: int | None = 60
    throttled_total: int = 0


def test_rate_budget_is_read_live_at_each_scrape():
    budget = FakeBudget()
    registry = registry_with(RateBudgetCollector(budget))
    assert series(registry, "stacks_api_ratelimit_remaining") == {(): 60}

    budget.remaining, budget.throttled_total = 3, 2

    assert series(registry, "stacks_api_ratelimit_limit") == {(): 60}
    assert series(registry, "stacks_api_ratelimit_remaining") == {(): 3}
    assert series(registry, "stacks_api_throttled_total") == {(): 2}


def test_unknown_remaining_before_the_first_response_has_no_series():
    registry = registry_with(RateBudgetCollector(FakeBudget(remaining=None)))

    assert series(registry, "stacks_api_ratelimit_remaining") == {}
    assert series(registry, "stacks_api_ratelimit_limit") == {(): 60}
