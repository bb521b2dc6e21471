"""Injected faults (faults.py): deterministic per seed, only under /api/v1, answered as a
client would see; lying X-RateLimit-* headers, each mode saying what it documents while the
real limit still holds (those tests run in-process and against a real simulator process over
HTTP). Answers after applying a mutation are in test_after_apply.py."""

import contextlib

import httpx
import pytest

from daemon.clock import ManualClock
from daemon.simulator import Faults, RateHeaderMode, Simulator
from tests.simulator.backends import InProcess
from tests.simulator.conftest import START, client_for


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


NAMES = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def answers(
    backend, mode: str, count: int = 3, rate_limit: int = 50, seed: int | None = None
) -> list:
    key = backend.new_key(rate_limit=rate_limit)
    backend.set_faults(rate_headers=mode, seed=seed)
    with backend.api(key) as api:
        return [api.get("/containers") for _ in range(count)]


def numbers(response) -> tuple[int, int, int]:
    return tuple(int(response.headers[name]) for name in NAMES)


def test_honest_headers_count_down_to_a_future_reset(backend):
    before = backend.now().timestamp()
    replies = answers(backend, "honest")
    after = backend.now().timestamp()
    assert [numbers(r)[:2] for r in replies] == [(50, 49), (50, 48), (50, 47)]
    assert all(before < numbers(r)[2] <= after + 60 for r in replies)


def test_reset_in_past(backend):
    replies = answers(backend, "reset_in_past")
    now = backend.now().timestamp()
    for response in replies:
        limit, remaining, reset = numbers(response)
        assert reset < now and 0 <= remaining <= limit == 50


def test_missing(backend):
    for response in answers(backend, "missing"):
        assert response.status_code == 200 and response.json()["success"] is True
        assert not any(name in response.headers for name in NAMES)


def test_remaining_above_limit(backend):
    for response in answers(backend, "remaining_above_limit"):
        limit, remaining, _ = numbers(response)
        assert limit == 50 and remaining > limit


def test_limit_changes_between_answers(backend):
    replies = answers(backend, "limit_changes", count=4)
    limits = [numbers(r)[0] for r in replies]
    assert limits == [50, 100, 25, 50]
    assert all(0 <= numbers(r)[1] <= numbers(r)[0] for r in replies)


def test_non_numeric(backend):
    for response in answers(backend, "non_numeric"):
        for name in NAMES:
            with pytest.raises(ValueError):
                int(response.headers[name])
        assert response.headers["X-RateLimit-Reset"].endswith(" GMT")


def test_zero_remaining_with_a_reset_already_past(backend):
    replies = answers(backend, "zero_remaining_reset_past")
    now = backend.now().timestamp()
    for response in replies:
        assert response.status_code == 200  # the lie: 0 left, yet the request was served
        _, remaining, reset = numbers(response)
        assert remaining == 0 and reset < now


def test_random_draws_several_lies_from_the_seed(backend):
    # The seed is given: the simulator process draws its own seed when started without one,
    # and 30 draws of six modes miss one of them now and then.
    replies = answers(backend, "random", count=30, seed=5)
    kinds = set()
    for response in replies:
        present = [response.headers.get(name) for name in NAMES]
        if present == [None, None, None]:
            kinds.add("missing")
        elif not all(value.isdigit() for value in present):
            kinds.add("non_numeric")
        else:
            limit, remaining, reset = map(int, present)
            kinds.add("honest-looking" if reset > backend.now().timestamp() else "reset past")
            if remaining > limit:
                kinds.add("remaining above limit")
    assert {"missing", "non_numeric", "reset past", "remaining above limit"} <= kinds


def test_random_is_the_same_for_the_same_seed():
    def header_sequence() -> list:
        clock = ManualClock(START)
        replies = answers(InProcess(Simulator(clock=clock, seed=4), clock), "random", count=12)
        return [tuple(r.headers.get(name) for name in NAMES) for r in replies]

    assert header_sequence() == header_sequence()


@pytest.mark.parametrize("mode", [m.value for m in RateHeaderMode])
def test_the_real_limit_is_still_enforced(backend, mode):
    replies = answers(backend, mode, count=4, rate_limit=3)
    assert [r.status_code for r in replies] == [200, 200, 200, 429]
    assert 1 <= int(replies[3].headers["Retry-After"]) <= 60
    assert backend.traffic()["rate_limited_over_limit"] >= 1


def test_a_forced_429_lies_too_but_keeps_retry_after(backend):
    key = backend.new_key()
    cid = backend.seed(key, "webapp")
    backend.set_faults(rate_headers="missing", reject_mutations_429=1, retry_after=4)
    with backend.api(key) as api:
        refused = api.put(f"/containers/{cid}/status", json={"status": "stopped"})
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "4"
    assert not any(name in refused.headers for name in NAMES)
