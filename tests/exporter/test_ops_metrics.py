"""The daemon's own metrics: present from the start, counted as events happen, pruned."""

from datetime import timedelta

from prometheus_client import CollectorRegistry

import daemon
from daemon.exporter import OpsMetrics
from tests.exporter.samples import T0, ids, labels, series


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
    ops.set_restart_state("usr-abc12345-app", "app", 40.0, False)
    ops.set_restart_state("usr-abc12345-db", "db", 300.0, True)
    ops.set_weekly_pin("usr-abc12345-db", "db", T0)

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
    ops.set_restart_state("usr-abc12345-app", "app", 10.0, False)
    ops.set_restart_state("usr-abc12345-db", "db", 10.0, False)
    ops.set_weekly_pin("usr-abc12345-db", "db", T0)

    ops.retain(["usr-abc12345-app"])

    assert series(registry, "stacks_opsd_restart_backoff_seconds") == {labels(**ids("app")): 10}
    assert series(registry, "stacks_opsd_restart_gave_up") == {labels(**ids("app")): 0}
    assert series(registry, "stacks_opsd_weekly_pin_last_timestamp_seconds") == {}

    ops.set_weekly_pin("usr-abc12345-db", "db", T0 + timedelta(days=7))
    assert series(registry, "stacks_opsd_weekly_pin_last_timestamp_seconds") == {
        labels(**ids("db")): (T0 + timedelta(days=7)).timestamp()
    }


def test_a_new_name_for_the_same_container_replaces_the_old_series():
    registry, ops = fresh()
    ops.set_restart_state("usr-abc12345-app", "app", 10.0, False)
    ops.set_restart_state("usr-abc12345-app", "app-renamed", 20.0, False)

    assert series(registry, "stacks_opsd_restart_backoff_seconds") == {
        labels(container_id="usr-abc12345-app", name="app-renamed"): 20
    }
