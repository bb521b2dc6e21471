"""The whole daemon in simulated time: restarts happen and are audited, pins are made."""

from datetime import timedelta

from daemon.snapshot import Snapshot
from tests.support.simulated_run import SimulatedRun


def test_a_day_of_operation_restarts_and_pins(tmp_path):
    run = SimulatedRun(tmp_path)
    web = run.simulator.seed_container(run.key, "web")
    run.simulator.seed_container(run.key, "shop-db", "postgresql")
    run.advance(timedelta(minutes=1))
    snapshot: Snapshot = run.daemon.poller.snapshot
    assert {v.container.name for v in snapshot.containers.values()} == {"web", "shop-db"}

    run.simulator.crash(web)
    run.advance(timedelta(seconds=30))
    restarts = [m for m in run.simulator.mutations() if m.path.endswith(f"/{web}/status")]
    assert len(restarts) == 1
    rows = run.daemon.store.query(container="web", action="container.restart")
    assert [r.outcome for r in rows] == ["started", "succeeded"]
    assert run.daemon.poller.snapshot.containers[web].container.status == "running"
    run.close()
