"""What a scrape shows of the fleet: up, containers, status 1/0, sizes, usage, deletions, staleness.

Usage series show the latest sample of each metric, converted to base units.
"""

from dataclasses import replace
from datetime import timedelta

from daemon.exporter import FleetCollector
from daemon.snapshot import Snapshot
from daemon.stacks import ContainerMetrics, MetricSample
from tests.exporter.samples import (
    MIB,
    T0,
    container,
    ids,
    labels,
    registry_with,
    series,
    snapshot,
    view,
)


def scrape_of(current: Snapshot):
    return registry_with(FleetCollector(lambda: current))


def test_running_container_shows_info_status_and_allocations():
    registry = scrape_of(snapshot(view("app")))

    assert series(registry, "stacks_up") == {(): 1.0}
    assert series(registry, "stacks_last_poll_timestamp_seconds") == {(): T0.timestamp()}
    assert series(registry, "stacks_container_info") == {
        labels(
            **ids("app"),
            container_type="nodejs",
            plan="basic",
            version="22",
            image_tag="stackshosting/nodejs:latest",
        ): 1.0
    }
    assert series(registry, "stacks_container_status") == {
        labels(**ids("app"), status="running"): 1.0,
        labels(**ids("app"), status="stopped"): 0.0,
        labels(**ids("app"), status="pending"): 0.0,
        labels(**ids("app"), status="error"): 0.0,
    }
    assert series(registry, "stacks_container_cpu_allocated_cores") == {labels(**ids("app")): 1.0}
    assert series(registry, "stacks_container_memory_allocated_bytes") == {
        labels(**ids("app")): 1024 * MIB
    }
    assert series(registry, "stacks_container_storage_allocated_bytes") == {
        labels(**ids("app")): 10240 * MIB
    }
    created = container("app").created_at.timestamp()
    assert series(registry, "stacks_container_created_timestamp_seconds") == {
        labels(**ids("app")): created
    }


def test_unknown_status_gets_its_own_series_and_known_ones_are_zero():
    registry = scrape_of(snapshot(view("app", status="restarting")))

    assert series(registry, "stacks_container_status") == {
        labels(**ids("app"), status="restarting"): 1.0,
        labels(**ids("app"), status="running"): 0.0,
        labels(**ids("app"), status="stopped"): 0.0,
        labels(**ids("app"), status="pending"): 0.0,
        labels(**ids("app"), status="error"): 0.0,
    }


def test_container_in_error_shows_error_1_running_0():
    registry = scrape_of(snapshot(view("app", status="error")))

    status = series(registry, "stacks_container_status")
    assert status[labels(**ids("app"), status="error")] == 1.0
    assert status[labels(**ids("app"), status="running")] == 0.0


def test_deleted_container_vanishes_at_the_next_scrape():
    current = [snapshot(view("app"), view("db"))]
    registry = registry_with(FleetCollector(lambda: current[0]))
    assert {dict(key)["name"] for key in series(registry, "stacks_container_info")} == {"app", "db"}

    current[0] = snapshot(view("app"))

    for name in (
        "stacks_container_info",
        "stacks_container_status",
        "stacks_container_cpu_allocated_cores",
    ):
        assert {dict(key)["name"] for key in series(registry, name)} == {"app"}


def test_failed_status_poll_sets_up_0_but_keeps_the_last_known_containers():
    stale = snapshot(view("app")).with_status_failure("GET /containers: 503")
    registry = scrape_of(stale)

    assert series(registry, "stacks_up") == {(): 0.0}
    assert series(registry, "stacks_last_poll_timestamp_seconds") == {(): T0.timestamp()}
    assert (
        series(registry, "stacks_container_status")[labels(**ids("app"), status="running")] == 1.0
    )


def test_before_the_first_poll_up_is_0_and_there_is_no_poll_time():
    registry = scrape_of(Snapshot())

    assert series(registry, "stacks_up") == {(): 0.0}
    assert series(registry, "stacks_last_poll_timestamp_seconds") == {}
    assert series(registry, "stacks_container_info") == {}


def test_missing_optional_fields_leave_empty_labels_and_no_allocation_series():
    bare = replace(
        view("app"),
        container=container(
            "app",
            type=None,
            plan=None,
            version=None,
            image_tag=None,
            cpu_allocated=None,
            memory_allocated_mb=None,
            storage_allocated_mb=None,
            created_at=None,
        ),
    )
    registry = scrape_of(snapshot(bare))

    assert series(registry, "stacks_container_info") == {
        labels(**ids("app"), container_type="", plan="", version="", image_tag=""): 1.0
    }
    assert series(registry, "stacks_container_memory_allocated_bytes") == {}
    assert series(registry, "stacks_container_created_timestamp_seconds") == {}


def test_registering_does_not_read_the_snapshot():
    def unreadable() -> Snapshot:
        raise AssertionError("registering a collector must not collect")

    registry_with(FleetCollector(unreadable))


EARLIER, LATER = T0 - timedelta(minutes=5), T0 - timedelta(minutes=1)


def two_samples(first: float, last: float) -> tuple[MetricSample, ...]:
    return (MetricSample(EARLIER, first), MetricSample(LATER, last))


def test_latest_samples_in_base_units():
    metrics = ContainerMetrics(
        cpu_percent=two_samples(90.0, 12.5),
        memory_mb=two_samples(100, 256),
        disk_mb=two_samples(1, 2048),
        network_in_bps=two_samples(1, 1500),
        network_out_bps=two_samples(1, 300),
    )
    registry = scrape_of(snapshot(view("app", metrics=metrics)))
    app = labels(**ids("app"))

    assert series(registry, "stacks_container_cpu_usage_ratio") == {app: 0.125}
    assert series(registry, "stacks_container_memory_usage_bytes") == {app: 256 * MIB}
    assert series(registry, "stacks_container_disk_usage_bytes") == {app: 2048 * MIB}
    assert series(registry, "stacks_container_network_receive_bytes_per_second") == {app: 1500}
    assert series(registry, "stacks_container_network_transmit_bytes_per_second") == {app: 300}
    assert series(registry, "stacks_container_metrics_timestamp_seconds") == {
        app: LATER.timestamp()
    }


def test_never_fetched_metrics_have_no_series_and_missing_series_stay_missing():
    partial = ContainerMetrics(two_samples(1, 50), two_samples(1, 10), (), (), ())
    registry = scrape_of(snapshot(view("app", metrics=partial), view("fresh")))

    assert series(registry, "stacks_container_cpu_usage_ratio") == {labels(**ids("app")): 0.5}
    assert series(registry, "stacks_container_disk_usage_bytes") == {}
    assert series(registry, "stacks_container_network_receive_bytes_per_second") == {}
    assert series(registry, "stacks_container_metrics_timestamp_seconds") == {
        labels(**ids("app")): LATER.timestamp()
    }
