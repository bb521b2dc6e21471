"""The whole daemon in simulated time: restarts happen and are audited, weeks get pinned."""

from dataclasses import replace
from datetime import timedelta

from daemon.config import Config
from tests.policies.audit_truth import assert_audit_matches
from tests.support.simulated_run import SimulatedRun


def test_a_week_of_operation_restarts_crashes_and_pins_once_per_week(tmp_path):
    # A status poll a minute keeps a simulated week to a few seconds of real time.
    config = replace(Config(), poll=replace(Config().poll, status_interval=timedelta(minutes=1)))
    run = SimulatedRun(tmp_path, config)  # starts on a Monday, 00:00 UTC
    web = run.simulator.seed_container(run.key, "web")
    db = run.simulator.seed_container(run.key, "shop-db", "postgresql")
    run.advance(timedelta(minutes=1))
    names = {v.container.name for v in run.daemon.poller.snapshot.containers.values()}
    assert names == {"web", "shop-db"}

    run.simulator.crash(web)
    run.advance(timedelta(minutes=2))  # seen at the next poll, restarted, seen running
    restarts = [m for m in run.simulator.mutations() if m.path.endswith(f"/{web}/status")]
    assert len(restarts) == 1
    rows = run.daemon.store.query(container="web", action="container.restart")
    assert [r.outcome for r in rows] == ["started", "succeeded"]
    assert run.daemon.poller.snapshot.containers[web].container.status == "running"

    # Through Sunday 03:00 (the default weekly pin time) and a little beyond.
    run.advance(timedelta(days=6, hours=4))
    pins = run.daemon.store.query(action="backup.pin", outcome="succeeded")
    assert sorted(r.container_id for r in pins) == sorted([web, db])
    pinned = [m for m in run.simulator.mutations() if m.path.endswith("/pin")]
    assert len(pinned) == 2
    assert_audit_matches(run.daemon.store.query(), run.simulator.mutations())
    run.close()
