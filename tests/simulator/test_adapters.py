"""Adapters (adapters.py): test controls under /_sim/ over real HTTP, the served API, the
in-process transport, the mutation log as ground truth."""

from datetime import UTC, datetime

import httpx
import pytest

from daemon.simulator import Simulator


@pytest.fixture
def served():
    sim = Simulator(seed=11)  # OffsetClock: wall time that /_sim/clock/advance moves
    server = sim.serve("127.0.0.1", 0)
    try:
        yield sim, server
    finally:
        server.close()


def test_controls_drive_the_api_over_http(served):
    sim, server = served
    with httpx.Client(base_url=server.url, timeout=5) as http:
        made = http.post("/_sim/keys", json={"scopes": ["containers:read", "containers:manage"],
                                              "rate_limit": 100}).json()  # fmt: skip
        assert made["account"] == sim.account_of(made["key"])
        auth = {"Authorization": f"Bearer {made['key']}"}
        cid = http.post(
            "/_sim/containers", json={"key": made["key"], "name": "mydb", "template": "postgresql"}
        ).json()["id"]
        assert http.post(f"/_sim/containers/{cid}/crash").status_code == 200
        status = http.get(f"/api/v1/containers/status/{cid}", headers=auth).json()
        assert status["status"] == "error"
        assert (
            http.put(
                f"/api/v1/containers/{cid}/status", headers=auth, json={"status": "restart"}
            ).status_code
            == 200
        )
        assert (
            http.post("/_sim/backups/fail", json={"container_id": cid, "enabled": True}).status_code
            == 200
        )
        assert http.post(f"/api/v1/containers/{cid}/backup", headers=auth).status_code == 202
        before = datetime.fromisoformat(
            http.get("/_sim/clock").json()["now"].replace("Z", "+00:00")
        )
        after = http.post("/_sim/clock/advance", json={"seconds": 3600}).json()["now"]
        assert datetime.fromisoformat(after.replace("Z", "+00:00")) > before.replace(tzinfo=UTC)
        listed = http.get(f"/api/v1/containers/{cid}/backups", headers=auth).json()["data"]
        log = http.get("/_sim/mutations").json()["mutations"]
        assert [(m["method"], m["status_code"]) for m in log] == [("PUT", 200), ("POST", 202)]
        # The requested backup failed. The hour may also have passed 02:00 (the clock is wall
        # time), so the scheduled backup can be listed too.
        requested = [backup for backup in listed if backup["id"] == log[1]["backup_id"]]
        assert [backup["status"] for backup in requested] == ["failed"]
        assert log[0]["container_id"] == cid
        assert http.post("/_sim/faults", json={"error_rate": 1.0}).status_code == 200
        assert http.get("/api/v1/containers", headers=auth).status_code == 500
        assert http.post("/_sim/faults", json={}).json()["faults"]["error_rate"] == 0.0
        assert http.post("/_sim/faults", json={"nonsense": 1}).status_code == 400
        assert http.get("/_sim/nothing").status_code == 404
        assert http.get("/elsewhere").status_code == 404


def test_timeout_fault_over_http_is_a_read_timeout(served):
    sim, server = served
    from daemon.simulator import Faults

    key = sim.create_key()
    sim.set_faults(Faults(timeout_rate=1.0))
    with httpx.Client(base_url=server.url, timeout=0.3) as http, pytest.raises(httpx.ReadTimeout):
        http.get("/api/v1/containers", headers={"Authorization": f"Bearer {key}"})


def test_mutation_bodies_are_redacted(sim, api, key):
    cid = sim.seed_container(key, "myapp")
    api.put(
        f"/containers/{cid}/status", json={"status": "stopped", "password": "hunter2", "token": key}
    )
    [entry] = sim.mutations()
    assert entry.body == {"status": "stopped", "password": "****", "token": "****"}
    assert key not in repr(sim.mutations())


def test_reads_and_refusals_are_not_mutations(sim, api, key):
    cid = sim.seed_container(key, "myapp")
    api.get("/containers")
    api.put(f"/containers/{cid}/status", json={"status": "bogus"})
    api.delete("/containers/usr-00000000-none")
    assert sim.mutations() == []


def test_seeded_containers_are_not_mutations_and_validate(sim, key):
    sim.seed_container(key, "myapp")
    with pytest.raises(ValueError, match="already exists"):
        sim.seed_container(key, "myapp")
    with pytest.raises(ValueError):
        sim.seed_container(key, "bad", status="exploded")
    with pytest.raises(ValueError, match="8-hex-digit account"):
        sim.seed_container("not-an-account", "orphan")
    assert sim.seed_container(key, "tiny", template="redis-micro").endswith("-tiny")
    assert sim.mutations() == []


def test_advance_needs_an_advancing_clock():
    from daemon.clock import SystemClock

    with pytest.raises(TypeError):
        Simulator(clock=SystemClock()).advance(5)
