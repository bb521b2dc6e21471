"""Lying X-RateLimit-* headers: each mode says what it documents, and the real limit still holds.

Each test runs in-process and against a real simulator process over HTTP.
"""

import pytest

from daemon.clock import ManualClock
from daemon.simulator import RateHeaderMode, Simulator
from tests.simulator.backends import InProcess
from tests.simulator.conftest import START

NAMES = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def answers(backend, mode: str, count: int = 3, rate_limit: int = 50) -> list:
    key = backend.new_key(rate_limit=rate_limit)
    backend.set_faults(rate_headers=mode)
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
    replies = answers(backend, "random", count=30)
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
