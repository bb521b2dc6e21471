"""Credentials by type, logs (lines max 500), metrics shape and determinism, SSH certificates."""

import pytest


@pytest.mark.parametrize(
    ("template", "port"),
    [("postgresql", 5432), ("redis", 6379), ("mysql", 3306), ("mongodb", 27017)],
)
def test_database_credentials_carry_service_port_and_internal_host(sim, api, key, template, port):
    cid = sim.seed_container(key, "mydb", template=template)
    body = api.get(f"/containers/{cid}/credentials").json()
    assert isinstance(body["credentials"], list) and body["credentials"]
    data = body["data"]
    assert data["containerName"] == "mydb" and data["type"] == template
    assert data["connectionInfo"]["port"] == port
    assert data["connectionInfo"]["internalHost"] == cid
    assert data["mainCredentials"]["username"] and data["mainCredentials"]["password"]


def test_compute_credentials_are_ssh(sim, api, key):
    cid = sim.seed_container(key, "myapp")
    body = api.get(f"/containers/{cid}/credentials").json()
    assert body["credentials"][0]["type"] == "ssh"
    assert body["data"]["ssh"]["user"] == f"usr-{sim.account_of(key)}"


def test_logs_default_100_max_500(sim, api, key, clock):
    cid = sim.seed_container(key, "myapp")
    clock.advance(3600 * 3)
    assert len(api.get(f"/containers/{cid}/logs").json()["data"]["logs"]) == 100
    assert (
        len(api.get(f"/containers/{cid}/logs", params={"lines": 500}).json()["data"]["logs"]) == 500
    )
    for bad in ("0", "many", "-3"):
        response = api.get(f"/containers/{cid}/logs", params={"lines": bad})
        assert response.status_code == 400 and response.json()["field"] == "lines"


def test_metrics_shape_and_bounds(sim, api, key, clock):
    cid = sim.seed_container(key, "myapp")
    clock.advance(2 * 3600)
    data = api.get(f"/containers/{cid}/metrics").json()["data"]
    assert set(data) == {"cpu", "memory", "disk", "network_in", "network_out"}
    assert len(data["cpu"]) == 60
    assert all(0 <= s["value"] <= 100 for s in data["cpu"])
    assert all(0 < s["value"] <= 1024 for s in data["memory"])
    assert data["cpu"][-1]["timestamp"] == "2026-03-02T12:00:00.000Z"
    timestamps = [s["timestamp"] for s in data["cpu"]]
    assert timestamps == sorted(timestamps)


def test_metrics_are_deterministic_per_container_and_time(sim, api, key, clock):
    first = sim.seed_container(key, "one")
    second = sim.seed_container(key, "two")
    clock.advance(600)
    a = api.get(f"/containers/{first}/metrics").json()
    assert api.get(f"/containers/{first}/metrics").json() == a
    assert api.get(f"/containers/{second}/metrics").json() != a


def test_stopped_container_uses_no_cpu(sim, api, key, clock):
    cid = sim.seed_container(key, "myapp", status="stopped")
    clock.advance(600)
    data = api.get(f"/containers/{cid}/metrics").json()["data"]
    assert {s["value"] for s in data["cpu"]} == {0}
    assert all(s["value"] > 0 for s in data["disk"])


def test_certificate_only_for_compute_containers(sim, api, key):
    app = sim.seed_container(key, "myapp", template="python")
    db = sim.seed_container(key, "mydb", template="postgresql")
    first = api.get(f"/containers/{app}/certificate").json()["data"]["privateKey"]
    assert first.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert api.post(f"/containers/{app}/certificate/regenerate").status_code == 200
    assert api.get(f"/containers/{app}/certificate").json()["data"]["privateKey"] != first
    assert api.get(f"/containers/{db}/certificate").status_code == 400
    assert api.post(f"/containers/{db}/certificate/regenerate").status_code == 400
