"""/healthz follows the scheduler heartbeat; /readyz needs a poll and a writable database.

/readyz also bounds a database check that does not finish, and /healthz ignores
the database: a hung database (a half-open connection, a server that stops
answering) leaves its check running: after DATABASE_CHECK_TIMEOUT the daemon is
unready, while a beating scheduler keeps it alive. Fake time throughout; the
Daemon-level test uses a store whose write probe blocks until released.
"""

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from daemon.clock import ManualClock
from daemon.exporter import DATABASE_CHECK_MAX_AGE, DATABASE_CHECK_TIMEOUT, Health
from tests.support.simulated_run import SimulatedRun

LIMIT = DATABASE_CHECK_TIMEOUT.total_seconds()
MAX_AGE = DATABASE_CHECK_MAX_AGE.total_seconds()


def test_healthy_while_the_heartbeat_is_fresh():
    clock = ManualClock()
    health = Health(clock, timedelta(seconds=30))
    assert health.liveness()[0]

    clock.advance(31)
    healthy, reason = health.liveness()
    assert not healthy
    assert "31s old" in reason

    health.beat()
    assert health.liveness()[0]
    clock.advance(30)
    assert health.liveness()[0]


def test_ready_after_the_first_poll_while_the_database_is_writable():
    health = Health(ManualClock(), timedelta(seconds=30))
    ready, reason = health.readiness()
    assert not ready
    assert "first successful" in reason

    health.mark_polled()
    assert health.readiness()[0]

    health.set_database_ok(False)
    ready, reason = health.readiness()
    assert not ready
    assert "audit database" in reason

    health.set_database_ok(True)
    assert health.readiness()[0]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def health(clock: ManualClock) -> Health:
    health = Health(clock, timedelta(seconds=30))
    health.mark_polled()
    return health


def test_the_bounds_are_ten_and_thirty_seconds():
    assert (LIMIT, MAX_AGE) == (10, 30)


def test_a_check_running_past_the_timeout_makes_the_daemon_unready_not_unhealthy(health, clock):
    with health.checking_database():
        clock.advance(LIMIT)
        health.beat()
        assert health.readiness() == (True, "ok")
        assert health.database_check_running()

        clock.advance(1)
        health.beat()
        ready, reason = health.readiness()
        assert not ready
        assert "has not answered a write check for 11s (limit 10s)" in reason
        assert health.liveness() == (True, "ok")

        clock.advance(600)  # however long it hangs, a beating scheduler is alive
        health.beat()
        assert not health.readiness()[0]
        assert health.liveness() == (True, "ok")
    health.set_database_ok(True)

    assert not health.database_check_running()
    assert health.readiness() == (True, "ok")


def test_a_hung_check_outranks_an_older_verdict_and_a_failed_one_stays_unready(health, clock):
    with health.checking_database():
        clock.advance(LIMIT + 1)
        assert "has not answered" in health.readiness()[1]
    health.set_database_ok(False)
    assert "not writable" in health.readiness()[1]


def test_the_oldest_of_overlapping_checks_counts(health, clock):
    with health.checking_database():
        clock.advance(6)
        with health.checking_database():
            clock.advance(5)
            assert not health.readiness()[0]  # the first one has run 11 s
        assert not health.readiness()[0]
    health.set_database_ok(True)
    assert health.readiness()[0]


def test_a_failing_check_ends_and_leaves_the_daemon_unready(health, clock):
    with pytest.raises(RuntimeError), health.checking_database():
        raise RuntimeError("probe crashed")
    assert not health.database_check_running()
    health.set_database_ok(False)
    assert not health.readiness()[0]


def test_checks_that_stop_coming_make_the_daemon_unready(health, clock):
    health.set_database_ok(True)
    clock.advance(MAX_AGE)
    assert health.readiness()[0]

    clock.advance(1)
    ready, reason = health.readiness()
    assert not ready
    assert "last found writable 31s ago (limit 30s)" in reason

    health.set_database_ok(True)
    assert health.readiness()[0]


def test_without_periodic_checks_readiness_keeps_its_old_meaning(health, clock):
    """`once` and simulated-time runs never check: no staleness before a first success."""
    clock.advance(7 * 24 * 3600)
    assert health.readiness() == (True, "ok")


def test_a_standby_is_ready_and_checks_still_bound_it(clock):
    standby = Health(clock, timedelta(seconds=30))
    standby.mark_polled()  # what leadership() does for a standby
    assert standby.readiness()[0]
    with standby.checking_database():
        clock.advance(LIMIT + 1)
        assert not standby.readiness()[0]


class BlockingProbe:
    """A store's write probe that waits until released, as over a half-open connection."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def __call__(self) -> bool:
        self.calls += 1
        self.entered.set()
        if not self.release.wait(30):
            raise AssertionError("the blocking probe was never released")
        return True


@pytest.fixture
def run(tmp_path) -> Iterator[SimulatedRun]:
    run = SimulatedRun(tmp_path)
    yield run
    run.close()


def test_a_daemon_whose_database_check_hangs_turns_unready_and_stays_alive(run, monkeypatch):
    daemon, clock = run.daemon, run.clock
    web = run.simulator.seed_container(run.key, "web")
    run.advance(timedelta(seconds=30))
    daemon.check_database()
    assert daemon.health.readiness() == (True, "ok")

    probe = BlockingProbe()
    monkeypatch.setattr(daemon.store, "healthy", probe)
    checker = threading.Thread(target=daemon.check_database, daemon=True)
    checker.start()
    try:
        assert probe.entered.wait(10)
        clock.advance(LIMIT + 1)
        daemon.heartbeat()
        ready, reason = daemon.health.readiness()
        assert not ready and "has not answered a write check" in reason
        assert daemon.health.liveness() == (True, "ok")

        # A crash seen meanwhile: the daemon does not queue a second probe behind the
        # hung one (the status cycle returns), and it decides nothing.
        run.simulator.crash(web)
        mutated = len(run.simulator.mutations())
        evaluation = daemon.status_cycle()
        assert evaluation.decisions == ()
        assert probe.calls == 1
        assert len(run.simulator.mutations()) == mutated
        assert daemon.health.liveness() == (True, "ok")
    finally:
        probe.release.set()
        checker.join(10)
    assert not checker.is_alive()
    assert daemon.health.readiness() == (True, "ok")

    monkeypatch.undo()
    run.advance(timedelta(seconds=30))  # back to normal: the crash is restarted
    restarts = [m for m in run.simulator.mutations() if m.path.endswith(f"/{web}/status")]
    assert len(restarts) == 1
