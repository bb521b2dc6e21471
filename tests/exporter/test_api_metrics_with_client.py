"""ApiMetrics as the real StacksClient's observer: protocol and error shapes agree end to end."""

import httpx
import pytest
from prometheus_client import CollectorRegistry

from daemon.clock import ManualClock
from daemon.exporter import ApiMetrics, RateBudgetCollector
from daemon.stacks import ApiKey, ScopeError, SpendingCapError, StacksClient
from tests.exporter.samples import T0, labels, series

KEY = ApiKey("sk_stacks_" + "ab" * 32)
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
    client = StacksClient(
        KEY, transport=httpx.MockTransport(stacks_api), clock=ManualClock(T0), observer=api
    )
    registry.register(RateBudgetCollector(client.budget))

    with client:
        client.list_containers()
        with pytest.raises(SpendingCapError):
            client.create_container("newapp", "nodejs")
        with pytest.raises(ScopeError):
            client.delete_container("usr-abc12345-app")

    assert series(registry, "stacks_api_requests_total") == {
        labels(method="GET", endpoint="/containers", code="200"): 1,
        labels(method="POST", endpoint="/containers", code="402"): 1,
        labels(method="DELETE", endpoint="/containers/{container_id}", code="403"): 1,
    }
    assert series(registry, "stacks_api_spending_cap_reached") == {(): 1}
    assert series(registry, "stacks_api_scope_missing") == {labels(scope="containers:delete"): 1}
    assert series(registry, "stacks_api_ratelimit_limit") == {(): 60}
