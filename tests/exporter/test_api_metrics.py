"""API metrics as the client reports requests and errors; the rate budget as read when scraped.

The last test puts ApiMetrics behind the real StacksClient, as its observer: the
protocol and the error shapes agree end to end.
"""

from dataclasses import dataclass

import httpx
import pytest
from prometheus_client import CollectorRegistry

from daemon import stacks
from daemon.clock import ManualClock
from daemon.exporter import ApiMetrics, RateBudgetCollector
from tests.exporter.samples import T0, labels, registry_with, series


class SpendingCapError(Exception):
    http_status = 402


class ScopeError(Exception):
    http_status = 403

    def __init__(self, required_scope: str, method: str = "", route: str = "") -> None:
        super().__init__(f"API key lacks required scope: {required_scope}")
        self.required_scope = required_scope
        self.method, self.route = method, route


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


def test_a_missing_scope_clears_once_a_request_needing_it_succeeds():
    # The operator added the scope to the key in the STACKS dashboard: no restart needed.
    registry, api = fresh()
    api.on_request("POST", "/backups/{backup_id}/pin", 403, 0.1)
    api.on_error(ScopeError("containers:manage", "POST", "/backups/{backup_id}/pin"))
    api.on_error(ScopeError("containers:delete", "DELETE", "/containers/{container_id}"))

    # Requests needing other scopes prove nothing about containers:manage.
    api.on_request("GET", "/containers", 200, 0.1)
    api.on_request("GET", "/containers/{container_id}/backups", 200, 0.1)
    api.on_request("POST", "/backups/{backup_id}/pin", 500, 0.1)
    assert series(registry, "stacks_api_scope_missing") == {
        labels(scope="containers:manage"): 1,
        labels(scope="containers:delete"): 1,
    }

    # A restart needs containers:manage too (the guide): it succeeding clears it.
    api.on_request("PUT", "/containers/{container_id}/status", 200, 0.1)
    assert series(registry, "stacks_api_scope_missing") == {
        labels(scope="containers:manage"): 0,
        labels(scope="containers:delete"): 1,
    }

    # Refused again later (the scope was taken away): flagged again.
    api.on_error(ScopeError("containers:manage", "POST", "/backups/{backup_id}/pin"))
    assert series(registry, "stacks_api_scope_missing")[labels(scope="containers:manage")] == 1


def test_a_route_the_guide_names_no_scope_for_clears_the_scope_its_403_named():
    registry, api = fresh()
    route = "/containers/{vpn_container_id}/vpn-clients"
    api.on_error(ScopeError("containers:manage", "POST", route))
    api.on_request("GET", route, 200, 0.1)  # another method: not the request refused
    assert series(registry, "stacks_api_scope_missing") == {labels(scope="containers:manage"): 1}

    api.on_request("POST", route, 201, 0.1)
    assert series(registry, "stacks_api_scope_missing") == {labels(scope="containers:manage"): 0}


def test_every_route_of_the_guide_says_which_scope_it_needs():
    scopes = {stacks.required_scope(r.method, r.template) for r in stacks.ALL_ROUTES}
    assert scopes == {
        "containers:read",
        "containers:create",
        "containers:manage",
        "containers:delete",
        None,  # the VPN routes: the guide names no scope for them
    }
    assert stacks.required_scope("get", "/containers/{container_id}/backups") == ("containers:read")
    assert stacks.required_scope("DELETE", "/backups/{backup_id}") == "containers:delete"
    assert stacks.required_scope("POST", "/containers") == "containers:create"
    assert stacks.required_scope("GET", "/no/such/route") is None


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


KEY = stacks.ApiKey("sk_stacks_" + "ab" * 32)
LIMIT_HEADERS = {
    "X-RateLimit-Limit": "60",
    "X-RateLimit-Remaining": "57",
    "X-RateLimit-Reset": "30",
}


def stacks_api(request: httpx.Request) -> httpx.Response:
    """Answers like the guide: list works, create hits the cap, delete lacks its scope."""
    if request.method == "GET":
        body = {"success": True, "count": 0, "data": []}
        return httpx.Response(200, json=body, headers=LIMIT_HEADERS)
    if request.method == "POST":
        body = {
            "success": False,
            "error": "Spending cap reached",
            "spending_cap": 10,
            "amount_spent": 9,
        }
        return httpx.Response(402, json=body, headers=LIMIT_HEADERS)
    body = {
        "success": False,
        "error": "API key lacks required scope: containers:delete",
        "required_scope": "containers:delete",
        "key_scopes": ["containers:read"],
    }
    return httpx.Response(403, json=body, headers=LIMIT_HEADERS)


def test_client_requests_and_errors_show_up_as_api_metrics():
    registry = CollectorRegistry()
    api = ApiMetrics(registry)
    client = stacks.StacksClient(
        KEY, transport=httpx.MockTransport(stacks_api), clock=ManualClock(T0), observer=api
    )
    registry.register(RateBudgetCollector(client.budget))

    with client:
        client.list_containers()
        with pytest.raises(stacks.SpendingCapError):
            client.create_container("newapp", "nodejs")
        with pytest.raises(stacks.ScopeError):
            client.delete_container("usr-abc12345-app")

    assert series(registry, "stacks_api_requests_total") == {
        labels(method="GET", endpoint="/containers", code="200"): 1,
        labels(method="POST", endpoint="/containers", code="402"): 1,
        labels(method="DELETE", endpoint="/containers/{container_id}", code="403"): 1,
    }
    assert series(registry, "stacks_api_spending_cap_reached") == {(): 1}
    assert series(registry, "stacks_api_scope_missing") == {labels(scope="containers:delete"): 1}
    assert series(registry, "stacks_api_ratelimit_limit") == {(): 60}


def test_a_scope_granted_later_clears_through_the_client():
    granted = {"containers:read"}

    def api_with_scopes(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE" and "containers:delete" not in granted:
            body = {
                "success": False,
                "error": "API key lacks required scope: containers:delete",
                "required_scope": "containers:delete",
                "key_scopes": sorted(granted),
            }
            return httpx.Response(403, json=body, headers=LIMIT_HEADERS)
        return httpx.Response(200, json={"success": True}, headers=LIMIT_HEADERS)

    registry = CollectorRegistry()
    api = ApiMetrics(registry)
    client = stacks.StacksClient(
        KEY, transport=httpx.MockTransport(api_with_scopes), clock=ManualClock(T0), observer=api
    )
    with client:
        with pytest.raises(stacks.ScopeError):
            client.delete_backup(7)
        assert series(registry, "stacks_api_scope_missing") == {
            labels(scope="containers:delete"): 1
        }
        granted.add("containers:delete")  # added to the key in the STACKS dashboard
        client.delete_backup(7)

    assert series(registry, "stacks_api_scope_missing") == {labels(scope="containers:delete"): 0}
