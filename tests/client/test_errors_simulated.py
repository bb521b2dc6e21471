"""The guide's errors as the simulator produces them, in-process and over a real socket."""

import logging

import pytest

from daemon.simulator import Faults
from daemon.stacks import (
    AuthError,
    DashboardOnlyError,
    MalformedResponse,
    NotFoundError,
    Priority,
    RateBudget,
    RateLimitedError,
    RequestTimeout,
    Route,
    ScopeError,
    ServerError,
    SpendingCapError,
    UnconfirmedChange,
    ValidationError,
)
from tests.client.conftest import RecordingObserver
from tests.client.simulated import connect, sim  # noqa: F401  (fixtures)

UNKNOWN_KEY = "sk_stacks_" + "ab" * 32


def test_spending_cap(sim, connect):  # noqa: F811
    client = connect(sim.create_key(spending_cap=5.0))
    client.create_container("first", "nodejs")  # $4
    with pytest.raises(SpendingCapError) as caught:
        client.create_container("second", "nodejs")
    assert (caught.value.spending_cap, caught.value.amount_spent) == (5.0, 4.0)
    assert len(sim.mutations()) == 1


def test_missing_scope(sim, connect):  # noqa: F811
    key = sim.create_key(scopes=["containers:read"])
    app = sim.seed_container(key, "myapp")
    client = connect(key)
    with pytest.raises(ScopeError) as caught:
        client.restart(app)
    assert caught.value.required_scope == "containers:manage"
    assert caught.value.key_scopes == ("containers:read",)
    assert sim.mutations() == []


def test_dashboard_only_endpoint(sim, connect, clock):  # noqa: F811
    key = sim.create_key()
    app = sim.seed_container(key, "myapp")
    client = connect(key)
    resize = Route("PUT", "/containers/{container_id}/resize", Priority.ACTION)
    with pytest.raises(DashboardOnlyError) as caught:
        client._sender.send(resize, resize.path(container_id=app), lambda r, w: r)
    assert "human approval" in caught.value.hint


def test_unknown_key_and_other_accounts_containers(sim, connect):  # noqa: F811
    other = sim.seed_container(sim.create_key(), "theirs")
    with pytest.raises(AuthError):
        connect(UNKNOWN_KEY).list_containers()
    with pytest.raises(NotFoundError):
        connect(sim.create_key()).container_status(other)


def test_invalid_name_names_the_field(sim, connect):  # noqa: F811
    with pytest.raises(ValidationError) as caught:
        connect(sim.create_key()).create_container("a" * 33, "nodejs")
    assert caught.value.field == "name"


def test_the_budget_learns_the_keys_limit_and_never_runs_into_429(sim, connect, clock):  # noqa: F811
    client = connect(sim.create_key(rate_limit=5))
    started = clock.monotonic()
    for _ in range(12):
        client.list_containers()
    assert client.budget.limit == 5
    assert client.budget.throttled_total == 0
    assert clock.monotonic() - started >= 60  # waited for the next windows instead


def test_a_429_burst_is_waited_out_for_every_caller(sim, connect, clock):  # noqa: F811
    key = sim.create_key()
    app = sim.seed_container(key, "myapp")
    budget = RateBudget(clock=clock)
    client = connect(key, budget=budget)
    sim.set_faults(Faults(burst_429=2, retry_after=5))
    started = clock.monotonic()
    for _ in range(2):  # 429 = not processed; a change is not resent by the client itself
        with pytest.raises(RateLimitedError):
            client.trigger_backup(app)
    assert sim.mutations() == []
    assert client.trigger_backup(app).status == "in_progress"
    assert clock.monotonic() - started >= 10  # every send waited out the Retry-After before it
    assert budget.throttled_total == 2
    assert [m.method for m in sim.mutations()] == ["POST"]


def test_server_errors_retry_reads_but_not_backups(sim, connect):  # noqa: F811
    key = sim.create_key()
    app = sim.seed_container(key, "myapp")
    observer = RecordingObserver()
    client = connect(key, retries=8, observer=observer)
    sim.set_faults(Faults(error_rate=0.5, seed=3))
    for _ in range(5):
        assert [c.id for c in client.list_containers()] == [app]
    assert 500 in [status for *_, status in observer.requests]
    sim.set_faults(Faults(error_rate=1.0))
    with pytest.raises(UnconfirmedChange) as caught:
        client.trigger_backup(app)
    assert isinstance(caught.value.__cause__, ServerError)
    assert observer.requests[-1] == ("POST", "/containers/{container_id}/backup", 500)
    assert observer.requests[-2][0] == "GET"  # sent once
    assert sim.mutations() == []


def test_html_and_truncated_bodies_are_malformed(sim, connect):  # noqa: F811
    key = sim.create_key()
    client = connect(key, retries=0)
    sim.set_faults(Faults(malformed_rate=1.0, seed=1))
    kinds = set()
    for _ in range(8):
        with pytest.raises((MalformedResponse, ServerError)) as caught:
            client.list_containers()
        kinds.add(type(caught.value))
        assert "<html>" not in str(caught.value)
    assert kinds == {MalformedResponse, ServerError}  # truncated 200, HTML 500


def test_timeouts(sim, connect):  # noqa: F811
    key = sim.create_key()
    app = sim.seed_container(key, "myapp")
    client = connect(key, timeout=0.5)
    sim.set_faults(Faults(timeout_rate=1.0))
    with pytest.raises(UnconfirmedChange) as caught:
        client.trigger_backup(app)
    assert caught.value.http_status is None and "read its state back" in str(caught.value)
    assert isinstance(caught.value.__cause__, RequestTimeout)


def test_no_log_line_carries_the_key_even_from_httpx_internals(sim, connect, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    key = sim.create_key(scopes=["containers:read"])
    app = sim.seed_container(key, "myapp")
    client = connect(key)
    client.list_containers()
    with pytest.raises(ScopeError):
        client.restart(app)
    with pytest.raises(AuthError):
        connect(UNKNOWN_KEY).list_containers()
    assert caplog.records
    for secret in (key, UNKNOWN_KEY):
        assert secret not in caplog.text and secret[10:40] not in caplog.text
