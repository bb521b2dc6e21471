"""Authentication, scopes, dashboard-only endpoints and account isolation, as the guide says."""

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
