"""stacks_opsd_refresh_lag_seconds{kind}: age of the oldest data of each kind, on the clock."""

from dataclasses import replace
from datetime import timedelta

from daemon.clock import ManualClock
from daemon.exporter import RefreshLagCollector
from daemon.snapshot import Snapshot
from daemon.stacks import BackupStats
from tests.exporter.samples import T0, labels, registry_with, series, snapshot, view

LAG = "stacks_opsd_refresh_lag_seconds"
MINUTE = timedelta(minutes=1)


def lag_of(current: list[Snapshot], clock: ManualClock):
    return registry_with(RefreshLagCollector(lambda: current[0], clock))


def test_each_kind_shows_the_age_of_its_oldest_data():
    clock = ManualClock(T0)
    stats = BackupStats(1, 1, 0, 10, T0)
    current = [
        snapshot(
            view("app", metrics_at=T0 - 2 * MINUTE, backups_at=T0 - 20 * MINUTE),
            view("db", metrics_at=T0 - 7 * MINUTE, backups_at=T0 - 10 * MINUTE),
            taken_at=T0 - timedelta(seconds=15),
            backup_stats=stats,
            backup_stats_at=T0 - 30 * MINUTE,
        )
    ]
    registry = lag_of(current, clock)

    assert series(registry, LAG) == {
        labels(kind="status"): 15,
        labels(kind="metrics"): 7 * 60,
        labels(kind="backups"): 30 * 60,
    }

    clock.advance(60)
    assert series(registry, LAG)[labels(kind="status")] == 75


def test_status_lag_keeps_growing_while_polls_fail():
    clock = ManualClock(T0)
    current = [snapshot(view("app"), taken_at=T0)]
    registry = lag_of(current, clock)

    clock.advance(300)
    current[0] = current[0].with_status_failure("GET /containers: timeout")

    assert series(registry, LAG)[labels(kind="status")] == 300


def test_never_fetched_container_counts_from_its_first_sighting():
    clock = ManualClock(T0)
    current = [snapshot(view("app", seen_at=T0), taken_at=T0)]
    registry = lag_of(current, clock)
    assert series(registry, LAG)[labels(kind="metrics")] == 0

    # The poller refreshes seen_at on every status poll; the lag must not reset with it.
    clock.advance(600)
    current[0] = snapshot(view("app", seen_at=clock.now()), taken_at=clock.now())

    assert series(registry, LAG)[labels(kind="metrics")] == 600
    assert series(registry, LAG)[labels(kind="backups")] == 600


def test_a_container_that_vanishes_and_returns_counts_afresh():
    clock = ManualClock(T0)
    app = view("app", seen_at=T0)
    current = [snapshot(app)]
    registry = lag_of(current, clock)
    series(registry, LAG)

    clock.advance(600)
    current[0] = snapshot(taken_at=clock.now())
    series(registry, LAG)
    current[0] = snapshot(replace(app, seen_at=clock.now()), taken_at=clock.now())

    assert series(registry, LAG)[labels(kind="metrics")] == 0


def test_nothing_to_age_means_no_series():
    clock = ManualClock(T0)

    assert series(lag_of([Snapshot()], clock), LAG) == {}
    assert series(lag_of([snapshot(taken_at=T0)], clock), LAG) == {labels(kind="status"): 0}
