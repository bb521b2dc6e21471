"""Answers after applying a mutation, and 429s on mutations: the change is applied (or not) as
documented, the client sees exactly the documented answer, and the log says how it was answered.

Each test runs in-process and against a real simulator process over HTTP.
"""

import json
import threading
import time

import httpx
import pytest

from daemon.simulator import Faults, Simulator
from tests.simulator.backends import InProcess, parse_iso


@pytest.fixture
def world(backend):
    """(backend, key, a running nodejs container, a running postgresql container)."""
    key = backend.new_key()
    return (
        backend,
        key,
        backend.seed(key, "webapp"),
        backend.seed(key, "mydb", template="postgresql"),
    )


def status_of(backend, key, cid) -> dict:
    with backend.api(key) as api:
        return api.get(f"/containers/status/{cid}").json()


def backups_of(backend, key, cid) -> list[dict]:
    with backend.api(key) as api:
        return api.get(f"/containers/{cid}/backups").json()["data"]


def stop(api, cid) -> httpx.Response:
    return api.put(f"/containers/{cid}/status", json={"status": "stopped"})


def test_garbage_html_is_a_200_page_and_the_change_happened(world):
    backend, key, web, _ = world
    backend.set_faults(after_apply="garbage")
    with backend.api(key) as api:
        response = stop(api, web)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text.lstrip().lower().startswith("<!doctype html>")
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert status_of(backend, key, web)["status"] == "stopped"
    [logged] = backend.mutations(web)
    assert (logged["method"], logged["status_code"], logged["answer"]) == ("PUT", 200, "garbage")


def test_garbage_truncated_is_json_cut_short_with_the_real_status(world):
    backend, key, _, db = world
    backend.set_faults(after_apply="garbage", garbage_kind="truncated")
    with backend.api(key) as api:
        response = api.post(f"/containers/{db}/backup")
    assert response.status_code == 202
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.text.startswith('{"success":true')
    with pytest.raises(json.JSONDecodeError):
        response.json()
    [backup] = backups_of(backend, key, db)
    [logged] = backend.mutations(db)
    assert (logged["answer"], logged["status_code"], logged["backup_id"]) == (
        "garbage",
        202,
        backup["id"],
    )


def test_empty204_has_no_body_and_the_change_happened(world):
    backend, key, web, _ = world
    backend.set_faults(after_apply="empty204")
    with backend.api(key) as api:
        response = stop(api, web)
        assert response.status_code == 204 and response.content == b""
        assert "X-RateLimit-Limit" in response.headers
        assert api.get("/containers").status_code == 200  # the connection is still usable
    assert status_of(backend, key, web)["status"] == "stopped"
    assert [m["answer"] for m in backend.mutations(web)] == ["empty204"]


def test_drop_closes_the_connection_without_an_answer_after_applying(world):
    backend, key, web, _ = world
    backend.set_faults(after_apply="drop")
    with backend.api(key) as api, pytest.raises(httpx.RemoteProtocolError) as dropped:
        stop(api, web)
    assert str(dropped.value) == "Server disconnected without sending a response."
    assert status_of(backend, key, web)["status"] == "stopped"
    [logged] = backend.mutations(web)
    assert (logged["answer"], logged["status_code"]) == ("drop", 200)


def test_slow_answer_times_out_a_client_with_a_shorter_timeout(world):
    backend, key, web, _ = world
    backend.set_faults(after_apply="slow", slow_seconds=1.0)
    with backend.api(key, timeout=0.3) as api, pytest.raises(httpx.ReadTimeout):
        stop(api, web)
    assert status_of(backend, key, web)["status"] == "stopped"
    assert [m["answer"] for m in backend.mutations(web)] == ["slow"]


def test_slow_answer_in_process_lets_the_hold_pass_on_the_clock(sim, clock):
    backend = InProcess(sim, clock)
    key = backend.new_key()
    web = backend.seed(key, "webapp")
    sim.answer_after_apply("slow", slow_seconds=15)
    before = clock.now()
    with backend.api(key) as api, pytest.raises(httpx.ReadTimeout):
        stop(api, web)
    assert (clock.now() - before).total_seconds() == 15
    [logged] = sim.mutations()
    assert logged.at == before and logged.answer == "slow"
    assert parse_iso(status_of(backend, key, web)["updatedAt"]) == before


def test_slow_answer_over_http_arrives_whole_after_the_hold(simulator_process):
    from tests.simulator.backends import OverHttp

    backend = OverHttp(simulator_process)
    backend.reset()
    try:
        key = backend.new_key()
        web = backend.seed(key, "webapp")
        backend.set_faults(after_apply="slow", slow_seconds=0.5)
        with backend.api(key, timeout=5) as api:
            started = time.monotonic()
            response = stop(api, web)
            held = time.monotonic() - started
        assert response.status_code == 200 and response.json()["data"]["status"] == "stopped"
        assert held >= 0.5
        assert [m["answer"] for m in backend.mutations(web)] == ["slow"]
    finally:
        backend.reset()
        backend.close()


def test_closing_the_server_ends_a_held_answer_at_once():
    sim = Simulator(seed=3)
    key = sim.create_key()
    web = sim.seed_container(key, "webapp")
    sim.answer_after_apply("slow", slow_seconds=60)
    server = sim.serve("127.0.0.1", 0)
    outcome: list[object] = []

    def request() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            try:
                outcome.append(
                    http.put(
                        f"/api/v1/containers/{web}/status",
                        headers={"Authorization": f"Bearer {key}"},
                        json={"status": "stopped"},
                    )
                )
            except httpx.TransportError as error:
                outcome.append(error)

    waiting = threading.Thread(target=request)
    waiting.start()
    for _ in range(100):  # until the simulator applied it and holds the answer
        if sim.mutations():
            break
        time.sleep(0.02)
    started = time.monotonic()
    server.close()
    waiting.join(timeout=10)
    assert time.monotonic() - started < 5 and not waiting.is_alive()
    assert isinstance(outcome[0], httpx.RemoteProtocolError)  # dropped, never answered
    assert sim.container_status(web) == "stopped"


def test_the_count_switches_the_fault_off_by_itself(world):
    backend, key, web, _ = world
    backend.set_faults(after_apply="empty204", after_apply_count=2)
    assert backend.remaining()["after_apply"] == 2
    with backend.api(key) as api:
        codes = [
            api.put(f"/containers/{web}/status", json={"status": wanted}).status_code
            for wanted in ("stopped", "running", "stopped")
        ]
    assert codes == [204, 204, 200]
    assert backend.remaining()["after_apply"] == 0
    assert [m["answer"] for m in backend.mutations(web)] == ["empty204", "empty204", "ok"]
    assert status_of(backend, key, web)["status"] == "stopped"


def test_the_match_picks_which_mutations_are_hit(world):
    backend, key, web, db = world
    backend.set_faults(
        after_apply="drop", after_apply_match=r"^POST /api/v1/containers/[^/]+/backup$"
    )
    with backend.api(key) as api:
        assert stop(api, web).status_code == 200  # not matched: answered, count kept
        assert backend.remaining()["after_apply"] == 1
        with pytest.raises(httpx.RemoteProtocolError):
            api.post(f"/containers/{db}/backup")
        assert api.post(f"/containers/{db}/backup").status_code == 202  # used up
    assert [m["answer"] for m in backend.mutations(web, db)] == ["ok", "drop", "ok"]
    assert len(backups_of(backend, key, db)) == 2


def test_reads_and_refused_mutations_never_use_the_count(world):
    backend, key, web, _ = world
    backend.set_faults(after_apply="garbage")
    with backend.api(key) as api:
        assert api.get("/containers").json()["count"] == 2
        refused = api.put(f"/containers/{web}/status", json={"status": "paused"})
        assert refused.status_code == 400 and refused.json()["field"] == "status"
        assert api.post("/backups/999999/pin").status_code == 404
    assert backend.remaining()["after_apply"] == 1
    assert backend.mutations(web) == []


def test_429_on_mutations_applies_and_logs_nothing_and_reads_pass(world):
    backend, key, web, db = world
    forced_before = backend.traffic()["rate_limited_forced"]
    backend.set_faults(reject_mutations_429=2, retry_after=9)
    with backend.api(key) as api:
        assert api.get("/containers").status_code == 200
        first = stop(api, web)
        assert api.get(f"/containers/{web}/backups").status_code == 200
        second = api.post(f"/containers/{db}/backup")
        assert backend.mutations(web, db) == []
        assert status_of(backend, key, web)["status"] == "running"
        assert backups_of(backend, key, db) == []
        third = stop(api, web)
    for refused in (first, second):
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "9"
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        assert refused.headers["X-RateLimit-Limit"] == "10000"
        assert int(refused.headers["X-RateLimit-Reset"]) >= backend.now().timestamp() + 7
    assert third.status_code == 200
    assert backend.traffic()["rate_limited_forced"] - forced_before == 2
    assert backend.remaining()["reject_mutations_429"] == 0
    assert [(m["method"], m["answer"]) for m in backend.mutations(web, db)] == [("PUT", "ok")]


def test_amending_one_fault_keeps_the_counts_of_the_others(world):
    backend, key, web, _ = world
    backend.set_faults(after_apply="empty204", after_apply_count=3)
    with backend.api(key) as api:
        assert stop(api, web).status_code == 204
        backend.amend_faults(reject_mutations_429=1)
        assert backend.remaining() == {
            "burst_429": 0,
            "reject_mutations_429": 1,
            "after_apply": 2,
        }
        assert api.put(f"/containers/{web}/status", json={"status": "running"}).status_code == 429
        assert api.put(f"/containers/{web}/status", json={"status": "running"}).status_code == 204
    assert backend.remaining()["after_apply"] == 1


def test_in_process_shortcuts_arm_the_same_faults(sim, api, key):
    web = sim.seed_container(key, "webapp")
    sim.reject_mutations_429(1, retry_after=3)
    sim.answer_after_apply("empty204", count=2, match=r"/status$")
    sim.skew_rate_headers("missing")
    assert sim.faults_remaining() == {"burst_429": 0, "reject_mutations_429": 1, "after_apply": 2}
    refused = stop(api, web)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "3"
    emptied = stop(api, web)
    assert emptied.status_code == 204 and "X-RateLimit-Limit" not in emptied.headers
    assert sim.faults_remaining() == {"burst_429": 0, "reject_mutations_429": 0, "after_apply": 1}
    assert [m.answer for m in sim.mutations()] == ["empty204"]


def test_a_random_truncated_answer_is_logged_as_garbage(sim, api, key):
    web = sim.seed_container(key, "webapp")
    sim.set_faults(Faults(malformed_rate=1.0, seed=5))
    for _ in range(20):  # bounded: until the draw gives truncated JSON instead of an HTML 500
        response = stop(api, web)
        if response.status_code == 200:
            break
    assert response.status_code == 200
    assert [m.answer for m in sim.mutations()] == ["garbage"]


@pytest.mark.parametrize(
    "fields",
    [
        {"after_apply": "explode"},
        {"after_apply": "ok"},
        {"after_apply": "drop", "after_apply_count": 0},
        {"after_apply_match": "(unclosed"},
        {"garbage_kind": "xml"},
        {"slow_seconds": 0},
        {"reject_mutations_429": -1},
        {"rate_headers": "sometimes"},
    ],
)
def test_invalid_values_are_refused_in_process_and_over_http(sim, simulator_process, fields):
    with pytest.raises(ValueError):
        Faults(**fields)
    with pytest.raises(ValueError):
        sim.amend_faults(**fields)
    refused = httpx.post(f"{simulator_process.root}/_sim/faults", json=fields, timeout=5)
    assert refused.status_code == 400 and refused.json()["error"]
    patched = httpx.patch(f"{simulator_process.root}/_sim/faults", json=fields, timeout=5)
    assert patched.status_code == 400
