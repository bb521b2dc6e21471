"""Usage series show the latest sample of each metric, converted to base units."""

from datetime import timedelta

from daemon.exporter import UsageCollector
from daemon.stacks import ContainerMetrics, MetricSample
from tests.exporter.samples import MIB, T0, ids, labels, registry_with, series, snapshot, view

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
    registry = registry_with(UsageCollector(lambda: snapshot(view("app", metrics=metrics))))
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
    registry = registry_with(
        UsageCollector(lambda: snapshot(view("app", metrics=partial), view("fresh")))
    )

    assert series(registry, "stacks_container_cpu_usage_ratio") == {labels(**ids("app")): 0.5}
    assert series(registry, "stacks_container_disk_usage_bytes") == {}
    assert series(registry, "stacks_container_network_receive_bytes_per_second") == {}
    assert series(registry, "stacks_container_metrics_timestamp_seconds") == {
        labels(**ids("app")): LATER.timestamp()
    }
