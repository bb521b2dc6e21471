"""/healthz follows the scheduler heartbeat; /readyz needs a poll and a writable database."""

from datetime import timedelta

from daemon.clock import ManualClock
from daemon.exporter import Health


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
