"""Injected faults: deterministic per seed, only under /api/v1, answered as a client would see."""

import contextlib

import httpx
import pytest

from daemon.simulator import Faults
from tests.simulator.conftest import client_for


def outcomes(sim, key, count=40):
    results = []
    with client_for(sim, key) as client:
        for _ in range(count):
            try:
                response = client.get("/containers")
            except httpx.ReadTimeout:
                results.append("timeout")
                continue
            try:
                response.json()
                results.append(response.status_code)
            except ValueError:
                results.append(f"malformed {response.status_code}")
    return results


MIXED = Faults(error_rate=0.2, unavailable_rate=0.1, timeout_rate=0.1, malformed_rate=0.2, seed=3)


def test_faults_are_deterministic_for_a_seed(sim, key):
    from daemon.clock import ManualClock
    from daemon.simulator import Simulator

    twin = Simulator(clock=ManualClock(sim.now()), seed=7)
    twin_key = twin.create_key(rate_limit=10_000)
    sim.set_faults(MIXED)
    twin.set_faults(MIXED)
    first, second = outcomes(sim, key), outcomes(twin, twin_key)
    assert first == second
    assert {200, 500, 503, "timeout"} <= set(first)
    assert any(str(o).startswith("malformed") for o in first)


def test_each_fault_kind_answers_as_documented(sim, key):
    with client_for(sim, key) as client:
        sim.set_faults(Faults(error_rate=1.0))
        response = client.get("/containers")
        assert response.status_code == 500 and "X-RateLimit-Limit" in response.headers
        sim.set_faults(Faults(unavailable_rate=1.0))
        assert client.get("/containers").status_code == 503
        sim.set_faults(Faults(timeout_rate=1.0))
        with pytest.raises(httpx.ReadTimeout):
            client.get("/containers")
        sim.set_faults(Faults(malformed_rate=1.0, seed=1))
        bodies = [client.get("/containers") for _ in range(8)]
        for response in bodies:
            with pytest.raises(ValueError):
                response.json()
        kinds = {(r.status_code, r.headers["Content-Type"].split(";")[0]) for r in bodies}
        assert kinds == {(500, "text/html"), (200, "application/json")}


def test_unprocessed_faults_change_nothing_but_truncated_answers_did(sim, key):
    cid = sim.seed_container(key, "myapp")
    with client_for(sim, key) as client:
        for faults in (
            Faults(error_rate=1.0),
            Faults(unavailable_rate=1.0),
            Faults(timeout_rate=1.0),
        ):
            sim.set_faults(faults)
            with contextlib.suppress(httpx.ReadTimeout):
                client.put(f"/containers/{cid}/status", json={"status": "stopped"})
        assert sim.mutations() == []
        sim.set_faults(Faults(malformed_rate=1.0, seed=5))
        while True:
            response = client.put(f"/containers/{cid}/status", json={"status": "stopped"})
            if response.status_code == 200:
                break
        sim.set_faults(Faults())
        assert client.get(f"/containers/status/{cid}").json()["status"] == "stopped"
        assert [m.status_code for m in sim.mutations()] == [200]


def test_burst_of_429_then_normal(sim, key):
    sim.set_faults(Faults(burst_429=2, retry_after=7))
    with client_for(sim, key) as client:
        answers = [client.get("/containers") for _ in range(3)]
    assert [r.status_code for r in answers] == [429, 429, 200]
    assert answers[0].headers["Retry-After"] == "7"
    assert answers[0].headers["X-RateLimit-Remaining"] == "0"


def test_latency_sleeps_on_the_simulator_clock(sim, key, clock):
    sim.set_faults(Faults(latency=2.5))
    before = clock.now()
    with client_for(sim, key) as client:
        client.get("/containers")
    assert (clock.now() - before).total_seconds() == 2.5


def test_faults_never_touch_test_controls(sim):
    sim.set_faults(Faults(error_rate=1.0))
    with httpx.Client(transport=sim.transport(), base_url="http://sim") as client:
        assert client.get("/_sim/clock").status_code == 200


def test_invalid_faults_are_refused():
    with pytest.raises(ValueError):
        Faults(error_rate=0.7, timeout_rate=0.5)
    with pytest.raises(ValueError):
        Faults.from_json({"error_rat": 0.1})
