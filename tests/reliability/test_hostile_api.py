"""Hostile STACKS answers on every read the poller makes: nothing but StacksError, nothing lost.

A user notices two things when STACKS (or a proxy in front of it) answers
garbage: whether the daemon survives it, and whether what it shows stays true.
So for /containers, /containers/{id}/metrics, /containers/{id}/backups and
/backups/stats, under malformed, truncated, mistyped, oversized and random
answers (see `hostile_answers`):

- the client raises only StacksError subclasses (never KeyError, TypeError,
  OverflowError, RecursionError...), with a message naming the request;
- the Poller never raises; after a bad /containers answer its snapshot keeps the
  last good containers, marked stale; after a bad metrics or backups answer the
  container keeps its previous metrics or backups.
"""

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.clock import ManualClock
from daemon.poller import Poller
from daemon.stacks import ApiKey, RateBudget, StacksClient, StacksError
from tests.reliability.hostile_answers import (
    ENDPOINTS,
    START,
    Answer,
    HostileTransport,
    answers,
    valid_bodies,
)

SECRET = "sk_stacks_" + "5e" * 32
KEY = ApiKey(SECRET)
GOOD, CONTAINER_ID = valid_bodies()
EXAMPLES = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def client_for(transport: HostileTransport, clock: ManualClock) -> StacksClient:
    budget = RateBudget(limit_per_minute=600, reserve_for_actions=10, clock=clock)
    return StacksClient(
        KEY, "http://stacks.test/api/v1", transport=transport, budget=budget, clock=clock
    )


def read(client: StacksClient, endpoint: str) -> object:
    """The client call the poller makes for `endpoint`."""
    if endpoint == "containers":
        return client.list_containers()
    if endpoint == "metrics":
        return client.metrics(CONTAINER_ID)
    if endpoint == "backups":
        return client.backups(CONTAINER_ID, limit=100)
    return client.backup_stats()


def outcome(endpoint: str, answer: Answer) -> object:
    """What a fresh client makes of `answer`: its result, or the StacksError it raised."""
    transport = HostileTransport(GOOD)
    transport.bad[endpoint] = answer
    try:
        return read(client_for(transport, ManualClock(START)), endpoint)
    except StacksError as error:
        return error


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@EXAMPLES
@given(data=st.data())
def test_the_client_raises_only_stacks_errors_that_name_the_request(endpoint, data):
    answer = data.draw(answers(endpoint, GOOD))
    result = outcome(endpoint, answer)  # anything but a StacksError propagates and fails
    if isinstance(result, StacksError):
        assert result.method == "GET"
        assert f"GET {result.path}" in str(result)
        assert SECRET not in f"{result} {result!r}"


def fleet_poller() -> tuple[Poller, HostileTransport, ManualClock]:
    clock = ManualClock(START)
    transport = HostileTransport(GOOD)
    client = client_for(transport, clock)
    poller = Poller(
        client,
        clock,
        status_interval=timedelta(seconds=15),
        metrics_interval=timedelta(minutes=5),
        backups_interval=timedelta(minutes=30),
    )
    poller.poll_status()
    poller.refresh(everything=True)
    good = poller.snapshot
    assert good.status_ok and len(good.containers) == 2
    view = good.containers[CONTAINER_ID]
    assert view.metrics is not None and view.backups and good.backup_stats is not None
    clock.advance(60)
    return poller, transport, clock


@EXAMPLES
@given(data=st.data())
def test_a_bad_container_list_keeps_the_last_good_fleet_marked_stale(data):
    answer = data.draw(answers("containers", GOOD))
    poller, transport, _ = fleet_poller()
    before = poller.snapshot
    transport.bad["containers"] = answer
    after = poller.poll_status()
    result = outcome("containers", answer)
    if isinstance(result, StacksError):
        assert not after.status_ok
        assert after.containers == before.containers
        assert after.taken_at == before.taken_at
        assert after.last_error
    else:
        assert after.status_ok
        assert set(after.containers) == {container.id for container in result}


@pytest.mark.parametrize("endpoint", ["metrics", "backups", "stats"])
@EXAMPLES
@given(data=st.data())
def test_a_bad_metrics_or_backups_answer_keeps_what_was_known(endpoint, data):
    answer = data.draw(answers(endpoint, GOOD))
    poller, transport, _ = fleet_poller()
    before = poller.snapshot
    transport.bad[endpoint] = answer
    poller.refresh(everything=True)  # never raises
    after = poller.snapshot
    assert after.status_ok and set(after.containers) == set(before.containers)
    old, new = before.containers[CONTAINER_ID], after.containers[CONTAINER_ID]
    known = {
        "metrics": (old.metrics_at, new.metrics_at, old.metrics, new.metrics),
        "backups": (old.backups_at, new.backups_at, old.backups, new.backups),
        "stats": (
            before.backup_stats_at,
            after.backup_stats_at,
            before.backup_stats,
            after.backup_stats,
        ),
    }
    old_at, new_at, old_value, new_value = known[endpoint]
    if isinstance(outcome(endpoint, answer), StacksError):
        assert (new_at, new_value) == (old_at, old_value)
    else:
        assert new_at > old_at


def test_a_five_megabyte_answer_is_refused_cleanly():
    five_mb = b'{"success": true, "data": [' + b"1," * 2_500_000 + b"1]}"
    for endpoint in ENDPOINTS:
        result = outcome(endpoint, Answer(body=five_mb, headers={"Content-Type": "x/json"}))
        assert isinstance(result, StacksError), endpoint
        cut = outcome(endpoint, Answer(body=five_mb[:-3]))
        assert isinstance(cut, StacksError) and "unreadable body" in str(cut)


def test_a_fleet_of_100k_containers_is_polled_in_one_answer():
    item = b'{"id": "usr-0a1b2c3d-c%d", "name": "c%d", "status": "running"}'
    body = b'{"success": true, "data": [' + b",".join(item % (n, n) for n in range(100_000))
    poller, transport, _ = fleet_poller()
    transport.bad["containers"] = Answer(body=body + b"]}")
    snapshot = poller.poll_status()
    assert snapshot.status_ok and len(snapshot.containers) == 100_000
    transport.bad["containers"] = Answer(body=body + b', {"id": 7}]}')
    stale = poller.poll_status()
    assert not stale.status_ok and stale.containers == snapshot.containers


def test_the_valid_answers_are_accepted():
    # The hostile examples are measured against these: they must be what the client reads.
    for endpoint in ENDPOINTS:
        assert not isinstance(
            outcome(endpoint, replace(Answer(), body=GOOD[endpoint])), StacksError
        )
