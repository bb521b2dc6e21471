"""The daemon's own metrics: present from the start, counted as events happen, pruned; the
refresh lag, `stacks_opsd_refresh_lag_seconds{kind}`: the age of the oldest data of each kind."""

from dataclasses import replace
from datetime import timedelta

from prometheus_client import CollectorRegistry

import daemon
from daemon.clock import ManualClock
from daemon.exporter import OpsMetrics, PolicySeries, RefreshLagCollector
from daemon.snapshot import Snapshot
from daemon.stacks import BackupStats
from tests.exporter.samples import T0, ids, labels, registry_with, series, snapshot, view

APP, DB = "usr-abc12345-app", "usr-abc12345-db"


def publish(ops: OpsMetrics, restart=(), pins=()) -> None:
    """One evaluation's policy series, published whole: `restart` (id, name, backoff,
    gave_up) and `pins` (id, name, pinned at) tuples."""
    exported = PolicySeries()
    for state in restart:
        exported.set_restart_state(*state)
    for pin in pins:
        exported.set_weekly_pin(*pin)
    ops.set_policy_series(exported)


def fresh() -> tuple[CollectorRegistry, OpsMetrics]:
    registry = CollectorRegistry()
    return registry, OpsMetrics(registry)


def test_label_less_series_exist_before_any_event():
    registry, _ = fresh()

    assert series(registry, "stacks_opsd_leader") == {(): 0}
    assert series(registry, "stacks_opsd_audit_write_errors_total") == {(): 0}
    assert series(registry, "stacks_opsd_build_info") == {labels(version=daemon.__version__): 1}


def test_actions_leader_and_audit_errors_follow_events():
    registry, ops = fresh()
    ops.action("auto_restart", "container.restart", "succeeded")
    ops.action("auto_restart", "container.restart", "succeeded")
    ops.action("auto_restart", "container.restart", "skipped")
    ops.audit_write_error()
    ops.set_leader(True)

    assert series(registry, "stacks_opsd_actions_total") == {
        labels(policy="auto_restart", action="container.restart", outcome="succeeded"): 2,
        labels(policy="auto_restart", action="container.restart", outcome="skipped"): 1,
    }
    assert series(registry, "stacks_opsd_audit_write_errors_total") == {(): 1}
    assert series(registry, "stacks_opsd_leader") == {(): 1}

    ops.set_leader(False)
    assert series(registry, "stacks_opsd_leader") == {(): 0}


def test_restart_state_and_weekly_pins_per_container():
    registry, ops = fresh()
    publish(
        ops, restart=[(APP, "app", 40.0, False), (DB, "db", 300.0, True)], pins=[(DB, "db", T0)]
    )

    assert series(registry, "stacks_opsd_restart_backoff_seconds") == {
        labels(**ids("app")): 40,
        labels(**ids("db")): 300,
    }
    assert series(registry, "stacks_opsd_restart_gave_up") == {
        labels(**ids("app")): 0,
        labels(**ids("db")): 1,
    }
    assert series(registry, "stacks_opsd_weekly_pin_last_timestamp_seconds") == {
        labels(**ids("db")): T0.timestamp()
    }


def test_retain_drops_series_of_containers_that_no_longer_exist():
    registry, ops = fresh()
    publish(
        ops, restart=[(APP, "app", 10.0, False), (DB, "db", 10.0, False)], pins=[(DB, "db", T0)]
    )

    ops.retain([APP])

    assert series(registry, "stacks_opsd_restart_backoff_seconds") == {labels(**ids("app")): 10}
    assert series(registry, "stacks_opsd_restart_gave_up") == {labels(**ids("app")): 0}
    assert series(registry, "stacks_opsd_weekly_pin_last_timestamp_seconds") == {}

    publish(ops, pins=[(DB, "db", T0 + timedelta(days=7))])
    assert series(registry, "stacks_opsd_weekly_pin_last_timestamp_seconds") == {
        labels(**ids("db")): (T0 + timedelta(days=7)).timestamp()
    }


def test_a_new_name_for_the_same_container_replaces_the_old_series():
    registry, ops = fresh()
    publish(ops, restart=[(APP, "app", 10.0, False)])
    publish(ops, restart=[(APP, "app-renamed", 20.0, False)])

    assert series(registry, "stacks_opsd_restart_backoff_seconds") == {
        labels(container_id=APP, name="app-renamed"): 20
    }


def test_pushing_the_same_state_again_keeps_the_series_as_they_are():
    registry, ops = fresh()
    for _ in range(3):
        publish(ops, restart=[(APP, "app", 40.0, False)], pins=[(APP, "app", T0)])
    assert series(registry, "stacks_opsd_restart_backoff_seconds") == {labels(**ids("app")): 40}
    assert series(registry, "stacks_opsd_weekly_pin_last_timestamp_seconds") == {
        labels(**ids("app")): T0.timestamp()
    }

    publish(ops, restart=[(APP, "app", 0.0, True)])
    assert series(registry, "stacks_opsd_restart_backoff_seconds") == {labels(**ids("app")): 0}
    assert series(registry, "stacks_opsd_restart_gave_up") == {labels(**ids("app")): 1}


def test_a_dropped_series_comes_back_with_the_same_value_and_name():
    registry, ops = fresh()
    publish(ops, restart=[(APP, "app", 10.0, False)], pins=[(APP, "app", T0)])

    ops.retain(())  # stand-by: every per-container series goes
    assert series(registry, "stacks_opsd_restart_backoff_seconds") == {}
    assert series(registry, "stacks_opsd_weekly_pin_last_timestamp_seconds") == {}

    publish(ops, restart=[(APP, "app", 10.0, False)], pins=[(APP, "app", T0)])
    assert series(registry, "stacks_opsd_restart_backoff_seconds") == {labels(**ids("app")): 10}
    assert series(registry, "stacks_opsd_restart_gave_up") == {labels(**ids("app")): 0}
    assert series(registry, "stacks_opsd_weekly_pin_last_timestamp_seconds") == {
        labels(**ids("app")): T0.timestamp()
    }

    publish(ops, restart=[(APP, "app-renamed", 10.0, False)])
    publish(ops, restart=[(APP, "app", 10.0, False)])
    assert series(registry, "stacks_opsd_restart_backoff_seconds") == {labels(**ids("app")): 10}


def test_a_container_no_policy_exports_any_more_loses_its_series():
    """An evaluation's series are the whole set: a container auto_restart stopped covering
    (or every one, with the policy turned off) keeps no `gave_up` 1 behind."""
    registry, ops = fresh()
    publish(ops, restart=[(APP, "app", 0.0, True), (DB, "db", 0.0, False)], pins=[(DB, "db", T0)])

    publish(ops, restart=[(DB, "db", 0.0, False)])
    assert series(registry, "stacks_opsd_restart_gave_up") == {labels(**ids("db")): 0}
    assert series(registry, "stacks_opsd_weekly_pin_last_timestamp_seconds") == {}
    publish(ops)
    assert series(registry, "stacks_opsd_restart_gave_up") == {}


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
