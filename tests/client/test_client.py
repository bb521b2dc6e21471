"""Each client method sends the documented request: method, path, query, body, headers."""

import json

import pytest

from daemon.stacks import ALL_ROUTES, Priority
from tests.client.conftest import SECRET, reply

C = "usr-abc12345-myapp"
D = "usr-abc12345-mydb"
V = "usr-abc12345-vpn"
PEM = "-----BEGIN OPENSSH PRIVATE KEY-----\n"

# (call, method, path after /api/v1, query, json body)
CALLS = [
    (lambda c: c.list_containers(), "GET", "/containers", {}, None),
    (lambda c: c.container_status(C), "GET", f"/containers/status/{C}", {}, None),
    (lambda c: c.credentials(C), "GET", f"/containers/{C}/credentials", {}, None),
    (lambda c: c.logs(C), "GET", f"/containers/{C}/logs", {"lines": "100"}, None),
    (lambda c: c.logs(C, lines=500), "GET", f"/containers/{C}/logs", {"lines": "500"}, None),
    (lambda c: c.metrics(C), "GET", f"/containers/{C}/metrics", {}, None),
    (
        lambda c: c.create_container("my-api", "nodejs"),
        "POST",
        "/containers",
        {},
        {"name": "my-api", "template": "nodejs"},  # no plan: STACKS's default (basic) applies
    ),
    (
        lambda c: c.create_container("my-web", "php-apache", "standard", "SAVE10", 3),
        "POST",
        "/containers",
        {},
        {
            "name": "my-web",
            "template": "php-apache",
            "plan": "standard",
            "discount_code": "SAVE10",
            "additional_storage_tier": 3,
        },
    ),
    (
        lambda c: c.set_status(C, "running"),
        "PUT",
        f"/containers/{C}/status",
        {},
        {"status": "running"},
    ),
    (lambda c: c.start(C), "PUT", f"/containers/{C}/status", {}, {"status": "running"}),
    (lambda c: c.stop(C), "PUT", f"/containers/{C}/status", {}, {"status": "stopped"}),
    (lambda c: c.restart(C), "PUT", f"/containers/{C}/status", {}, {"status": "restart"}),
    (lambda c: c.delete_container(C), "DELETE", f"/containers/{C}", {}, None),
    (lambda c: c.certificate(C), "GET", f"/containers/{C}/certificate", {}, None),
    (
        lambda c: c.regenerate_certificate(C),
        "POST",
        f"/containers/{C}/certificate/regenerate",
        {},
        None,
    ),
    (lambda c: c.templates(), "GET", "/containers/templates", {}, None),
    (
        lambda c: c.set_external_access(C, True),
        "PUT",
        f"/containers/{C}/external-access",
        {},
        {"enabled": True},
    ),
    (lambda c: c.allowed_ips(C), "GET", f"/containers/{C}/allowed-ips", {}, None),
    (
        lambda c: c.add_allowed_ip(C, "198.51.100.0/24", "Production servers", "both"),
        "POST",
        f"/containers/{C}/allowed-ips",
        {},
        {
            "ip_address": "198.51.100.0/24",
            "description": "Production servers",
            "service_type": "both",
        },
    ),
    (
        lambda c: c.add_allowed_ip(C, "2001:db8::1"),
        "POST",
        f"/containers/{C}/allowed-ips",
        {},
        {"ip_address": "2001:db8::1"},
    ),
    (
        lambda c: c.remove_allowed_ip(C, "ip-1"),
        "DELETE",
        f"/containers/{C}/allowed-ips/ip-1",
        {},
        None,
    ),
    (lambda c: c.available_targets(C), "GET", f"/containers/{C}/available-targets", {}, None),
    (
        lambda c: c.connect(C, D, "primary-db"),
        "POST",
        f"/containers/{C}/connect/{D}",
        {},
        {"connectionName": "primary-db"},
    ),
    (lambda c: c.connect(C, D), "POST", f"/containers/{C}/connect/{D}", {}, None),
    (lambda c: c.connections(C), "GET", f"/containers/{C}/connections", {}, None),
    (lambda c: c.delete_connection("conn-1"), "DELETE", "/containers/connections/conn-1", {}, None),
    (lambda c: c.backups(C), "GET", f"/containers/{C}/backups", {"limit": "50"}, None),
    (lambda c: c.backups(C, limit=100), "GET", f"/containers/{C}/backups", {"limit": "100"}, None),
    (lambda c: c.trigger_backup(C), "POST", f"/containers/{C}/backup", {}, None),
    (lambda c: c.backup_stats(), "GET", "/backups/stats", {}, None),
    (lambda c: c.restore_backup(178), "POST", "/backups/178/restore", {}, None),
    (lambda c: c.pin_backup(178), "POST", "/backups/178/pin", {}, None),
    (lambda c: c.unpin_backup(178), "POST", "/backups/178/unpin", {}, None),
    (lambda c: c.delete_backup(178), "DELETE", "/backups/178", {}, None),
    (lambda c: c.vpn_clients(V), "GET", f"/containers/{V}/vpn-clients", {}, None),
    (
        lambda c: c.add_vpn_client(V, "my-laptop"),
        "POST",
        f"/containers/{V}/vpn-clients",
        {},
        {"name": "my-laptop"},
    ),
    (lambda c: c.vpn_config(V), "GET", f"/containers/{V}/vpn-config", {"client": "default"}, None),
    (
        lambda c: c.remove_vpn_client(V, "my-laptop"),
        "DELETE",
        f"/containers/{V}/vpn-clients/my-laptop",
        {},
        None,
    ),
]


def _shape_free_answer(request):
    """An answer every parser accepts, so this test checks only what was sent."""
    path = request.url.path
    if (path.endswith("/containers") and request.method == "GET") or path.endswith("/backups"):
        return reply(200, {"success": True, "data": []})
    if request.method == "POST" and path.endswith("/containers"):
        return reply(202, {"success": True, "data": {"id": "x", "name": "x", "status": "pending"}})
    if "/status/" in path:
        return reply(200, {"success": True, "id": C, "name": "myapp", "status": "running"})
    if path.endswith(f"/connect/{D}"):
        return reply(200, {"success": True, "data": {"id": "conn-1"}})
    if path.endswith("/templates") or (path.endswith("/vpn-clients") and request.method == "GET"):
        return reply(200, {"success": True, "data": []})
    if path.endswith("/backups/stats"):
        counts = ("total_backups", "completed_backups", "failed_backups", "total_size_bytes")
        return reply(200, {"success": True, "data": dict.fromkeys(counts, 0)})
    if path.endswith("/vpn-config"):
        return reply(200, text="[Interface]\n", headers={"content-type": "text/plain"})
    if path.endswith("/certificate"):
        return reply(
            200,
            text=PEM,
            headers={"content-type": "text/plain"},
        )
    return reply(200, {"success": True, "data": {}})


@pytest.mark.parametrize(("call", "method", "path", "query", "body"), CALLS)
def test_each_method_sends_the_documented_request(make_client, call, method, path, query, body):
    client, fake = make_client(_shape_free_answer)
    call(client)
    [request] = fake.requests
    assert request.method == method
    assert request.url.path == "/api/v1" + path
    assert dict(request.url.params) == query
    assert fake.body() == body
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert SECRET not in str(request.url)


def test_every_route_of_the_guide_has_a_method():
    sent = {(m, p) for _, m, p, _, _ in CALLS}
    for route in ALL_ROUTES:
        assert any(m == route.method and _matches(route.template, p) for m, p in sent), route
    assert len(ALL_ROUTES) == 30


def _matches(template: str, path: str) -> bool:
    parts, concrete = template.split("/"), path.split("/")
    return len(parts) == len(concrete) and all(
        t.startswith("{") or t == c for t, c in zip(parts, concrete, strict=True)
    )


def _spend_down_to(budget, floor: int) -> None:
    while budget.remaining > floor:
        assert budget.try_acquire(Priority.ACTION)


@pytest.mark.parametrize(
    ("call", "priority"),
    [
        (lambda c, p: c.list_containers(priority=p), Priority.STATUS),
        (lambda c, p: c.container_status(C, priority=p), Priority.STATUS),
        (lambda c, p: c.backups(C, priority=p), Priority.BACKUPS),
        (lambda c, p: c.backup_stats(priority=p), Priority.BACKUPS),
        (lambda c, p: c.metrics(C, priority=p), Priority.METRICS),
    ],
)
def test_reads_leave_the_reserve_unless_raised_to_action(make_client, clock, call, priority):
    client, fake = make_client(_shape_free_answer)
    _spend_down_to(client.budget, client.budget.floor(priority))
    started = clock.monotonic()
    call(client, Priority.ACTION)  # an override may dip into the reserve at once
    assert clock.monotonic() == started
    call(client, None)  # the default priority waits for the next window
    assert clock.monotonic() - started >= 59.0
    assert len(fake.requests) == 2


def test_changes_default_to_action_priority(make_client, clock):
    client, _ = make_client(_shape_free_answer)
    _spend_down_to(client.budget, 1)
    started = clock.monotonic()
    client.restart(C)
    assert clock.monotonic() == started
    assert client.budget.remaining == 0


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.logs(C, lines=501),
        lambda c: c.logs(C, lines=0),
        lambda c: c.backups(C, limit=101),
        lambda c: c.set_status(C, "paused"),
        lambda c: c.container_status("../backups/stats"),
        lambda c: c.container_status(""),
        lambda c: c.pin_backup(".."),
    ],
)
def test_bad_arguments_are_refused_before_sending(make_client, call):
    client, fake = make_client(_shape_free_answer)
    with pytest.raises(ValueError):
        call(client)
    assert fake.requests == []


def test_path_values_are_quoted(make_client):
    client, fake = make_client(_shape_free_answer)
    client.remove_vpn_client(V, "my laptop?x=1")
    assert fake.requests[0].url.raw_path.endswith(b"/vpn-clients/my%20laptop%3Fx%3D1")
    assert json.loads(fake.requests[0].content or b"null") is None
