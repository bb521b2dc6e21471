"""Limits of a key (limits.py): key format, auth, scopes, dashboard-only endpoints, account
isolation, the per-key rate limit (headers on every answer, 429 + Retry-After), monthly
spending caps (402)."""

from datetime import UTC, datetime

import pytest

from daemon.simulator import ALL_SCOPES
from tests.simulator.conftest import client_for

DASHBOARD_BODY = {
    "error": "This endpoint requires dashboard access (JWT authentication)",
    "hint": "This operation requires human approval via the dashboard.",
}


def test_key_format_is_sk_stacks_and_64_lowercase_hex(sim):
    key = sim.create_key()
    assert key.startswith("sk_stacks_")
    suffix = key.removeprefix("sk_stacks_")
    assert len(suffix) == 64 and suffix == suffix.lower() and int(suffix, 16) >= 0


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer sk_stacks_" + "0" * 64,  # well formed but unknown
        "Bearer sk_stacks_short",
        "Basic dXNlcjpwYXNz",
    ],
)
def test_missing_malformed_or_unknown_key_is_401(sim, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    with client_for(sim, None) as client:
        response = client.get("/containers", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid API key"}
    assert response.headers["X-RateLimit-Limit"] == "60"


def test_uppercase_hex_key_is_rejected(sim, key):
    with client_for(sim, key.upper().replace("SK_STACKS_", "sk_stacks_")) as client:
        assert client.get("/containers").status_code == 401


def test_missing_scope_is_403_with_required_and_key_scopes(sim):
    key = sim.create_key(scopes=["containers:read", "containers:create"])
    cid = sim.seed_container(key, "myapp")
    with client_for(sim, key) as client:
        response = client.delete(f"/containers/{cid}")
        assert client.get("/containers").status_code == 200
    assert response.status_code == 403
    assert response.json() == {
        "error": "API key lacks required scope: containers:delete",
        "required_scope": "containers:delete",
        "key_scopes": ["containers:read", "containers:create"],
    }
    assert sim.mutations() == []


@pytest.mark.parametrize(
    ("method", "route", "scope"),
    [
        ("GET", "/containers", "containers:read"),
        ("POST", "/containers", "containers:create"),
        ("PUT", "/containers/{id}/status", "containers:manage"),
        ("POST", "/containers/{id}/backup", "containers:manage"),
        ("POST", "/backups/1/pin", "containers:manage"),
        ("DELETE", "/backups/1", "containers:delete"),
        ("GET", "/backups/stats", "containers:read"),
    ],
)
def test_each_endpoint_requires_its_scope(sim, method, route, scope):
    others = [s for s in ALL_SCOPES if s != scope]
    key = sim.create_key(scopes=others)
    cid = sim.seed_container(key, "myapp")
    with client_for(sim, key) as client:
        response = client.request(method, route.replace("{id}", cid), json={})
    assert response.status_code == 403
    assert response.json()["required_scope"] == scope


@pytest.mark.parametrize(
    ("method", "route"),
    [
        ("PUT", "/containers/{id}/resize"),
        ("GET", "/billing"),
        ("GET", "/api-keys"),
        ("POST", "/api-keys"),
        ("GET", "/account"),
        ("GET", "/containers/{id}/database/tables"),
        ("GET", "/containers/{id}/files"),
        ("PUT", "/containers/{id}/ssh-password"),
    ],
)
def test_dashboard_only_endpoints_are_403_even_with_every_scope(sim, api, key, method, route):
    cid = sim.seed_container(key, "myapp")
    response = api.request(method, route.replace("{id}", cid), json={"plan": "premium"})
    assert response.status_code == 403
    assert response.json() == DASHBOARD_BODY


def test_dashboard_only_needs_a_valid_key_first(sim):
    with client_for(sim, None) as client:
        assert client.put("/containers/usr-00000000-x/resize").status_code == 401


def test_other_accounts_containers_and_backups_are_404(sim, api, key, clock):
    other = sim.create_key()
    theirs = sim.seed_container(other, "theirs", template="postgresql")
    with client_for(sim, other) as them:
        assert them.post(f"/containers/{theirs}/backup").status_code == 202
        clock.advance(30)
        backup_id = them.get(f"/containers/{theirs}/backups").json()["data"][0]["id"]
    assert api.get(f"/containers/status/{theirs}").status_code == 404
    assert api.put(f"/containers/{theirs}/status", json={"status": "stopped"}).status_code == 404
    assert api.delete(f"/containers/{theirs}").status_code == 404
    assert api.post(f"/backups/{backup_id}/pin").status_code == 404
    assert api.delete(f"/backups/{backup_id}").status_code == 404
    assert "error" in api.get(f"/containers/{theirs}/backups").json()
    assert api.get("/containers").json() == {"success": True, "count": 0, "data": []}


def test_unknown_endpoint_is_404_after_auth(api):
    response = api.get("/containers/usr-00000000-x/nonsense")
    assert response.status_code == 404
    assert "error" in response.json()


def test_keys_of_the_same_account_share_containers(sim):
    first = sim.create_key()
    second = sim.create_key(account=sim.account_of(first), scopes=["containers:read"])
    cid = sim.seed_container(first, "shared")
    with client_for(sim, second) as client:
        assert [c["id"] for c in client.get("/containers").json()["data"]] == [cid]
    assert cid == f"usr-{sim.account_of(first)}-shared"


def test_rate_limit_headers_count_down_and_429_carries_retry_after(sim, clock):
    key = sim.create_key(rate_limit=3)
    with client_for(sim, key) as client:
        answers = [client.get("/containers") for _ in range(4)]
    remaining = [r.headers["X-RateLimit-Remaining"] for r in answers]
    assert remaining == ["2", "1", "0", "0"]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    limited = answers[3]
    reset = int(limited.headers["X-RateLimit-Reset"])
    assert reset > clock.now().timestamp()
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert all(r.headers["X-RateLimit-Limit"] == "3" for r in answers)


def test_rate_limit_window_resets_after_retry_after(sim, clock):
    key = sim.create_key(rate_limit=1)
    with client_for(sim, key) as client:
        assert client.get("/containers").status_code == 200
        limited = client.get("/containers")
        assert limited.status_code == 429
        clock.advance(int(limited.headers["Retry-After"]))
        assert client.get("/containers").status_code == 200


def test_rate_limit_is_per_key(sim):
    first, second = sim.create_key(rate_limit=1), sim.create_key(rate_limit=1)
    with client_for(sim, first) as one, client_for(sim, second) as two:
        assert one.get("/containers").status_code == 200
        assert one.get("/containers").status_code == 429
        assert two.get("/containers").status_code == 200


def test_error_answers_carry_rate_limit_headers_too(sim, api):
    response = api.get("/containers/status/usr-00000000-missing")
    assert response.status_code == 404
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert response.headers[name].isdigit()


def create(client, name, template="nodejs", plan="basic", **extra):
    return client.post(
        "/containers", json={"name": name, "template": template, "plan": plan, **extra}
    )


def test_spending_cap_refuses_the_create_that_would_pass_it(sim):
    key = sim.create_key(spending_cap=10)
    with client_for(sim, key) as client:
        assert create(client, "one").status_code == 202  # $4
        assert create(client, "two").status_code == 202  # $8
        refused = create(client, "three")  # would be $12
        assert create(client, "tiny", template="ubuntu-micro", plan="micro").status_code == 202
        assert create(client, "tiny2", template="ubuntu-micro", plan="micro").status_code == 202
        full = create(client, "tiny3", template="ubuntu-micro", plan="micro")
    assert refused.status_code == 402
    assert refused.json() == {
        "error": "Monthly spending cap reached",
        "spending_cap": 10.0,
        "amount_spent": 8.0,
        "message": "Your API key spending cap of $10.00/month has been reached.",
    }
    assert full.status_code == 402
    assert full.json()["amount_spent"] == 10.0
    assert [m.path for m in sim.mutations()].count("/api/v1/containers") == 4


def test_storage_tier_and_vpn_prices_count(sim):
    key = sim.create_key(spending_cap=14)
    with client_for(sim, key) as client:
        assert create(client, "big", plan="premium", additional_storage_tier=3).status_code == 202
        assert create(client, "vpn", template="stacks-vpn").status_code == 402  # 13 + 5
        assert create(client, "last", template="nginx-micro", plan="micro").status_code == 202


def test_spending_resets_each_calendar_month(sim, clock):
    key = sim.create_key(spending_cap=4)
    with client_for(sim, key) as client:
        assert create(client, "march").status_code == 202
        assert create(client, "march2").status_code == 402
        clock.set(datetime(2026, 4, 1, 0, 0, tzinfo=UTC))
        assert create(client, "april").status_code == 202


def test_spending_cap_is_per_key(sim):
    capped = sim.create_key(spending_cap=4)
    free = sim.create_key(account=sim.account_of(capped))
    with client_for(sim, capped) as one, client_for(sim, free) as two:
        assert create(one, "first").status_code == 202
        assert create(one, "second").status_code == 402
        assert create(two, "second").status_code == 202
