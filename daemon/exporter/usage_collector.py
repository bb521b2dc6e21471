"""Resource usage per container: the latest sample of each `GET /containers/{id}/metrics` series.

A container whose metrics were never fetched has no usage series; one whose
metrics response lacked a series (say, no network samples) lacks just that one.
"""

from collections.abc import Callable, Iterable

from prometheus_client.core import GaugeMetricFamily, Metric

from daemon.exporter.container_labels import (
    BYTES_PER_MB,
    CONTAINER_LABELS,
    container_label_values,
)
from daemon.snapshot import Snapshot
from daemon.stacks import latest


def usage_families() -> dict[str, GaugeMetricFamily]:
    families = (
        GaugeMetricFamily(
            "stacks_container_cpu_usage_ratio",
            "CPU usage as a ratio of the allocation (0-1), latest sample as of the last poll.",
            labels=CONTAINER_LABELS,
        ),
        GaugeMetricFamily(
            "stacks_container_memory_usage_bytes",
            "Memory used in bytes, latest sample as of the last poll.",
            labels=CONTAINER_LABELS,
        ),
        GaugeMetricFamily(
            "stacks_container_disk_usage_bytes",
            "Disk used in bytes, latest sample as of the last poll.",
            labels=CONTAINER_LABELS,
        ),
        GaugeMetricFamily(
            "stacks_container_network_receive_bytes_per_second",
            "Network receive rate in bytes per second, latest sample as of the last poll.",
            labels=CONTAINER_LABELS,
        ),
        GaugeMetricFamily(
            "stacks_container_network_transmit_bytes_per_second",
            "Network transmit rate in bytes per second, latest sample as of the last poll.",
            labels=CONTAINER_LABELS,
        ),
        GaugeMetricFamily(
            "stacks_container_metrics_timestamp_seconds",
            "Unix time of the newest usage sample, as of the last poll.",
            labels=CONTAINER_LABELS,
        ),
    )
    return {family.name: family for family in families}


class UsageCollector:
    """Latest usage samples per container.

    Sample output:

        stacks_container_cpu_usage_ratio{container_id="usr-abc12345-app",name="app"} 0.125
        stacks_container_memory_usage_bytes{container_id=...,name=...} 2.68435456e+08
        stacks_container_network_receive_bytes_per_second{container_id=...,name=...} 1500.0
        stacks_container_metrics_timestamp_seconds{container_id=...,name=...} 1.7678e+09
    """

    def __init__(self, snapshot_source: Callable[[], Snapshot]) -> None:
        self._snapshot_source = snapshot_source

    def describe(self) -> Iterable[Metric]:
        return usage_families().values()

    def collect(self) -> Iterable[Metric]:
        families = usage_families()
        for view in self._snapshot_source().containers.values():
            metrics = view.metrics
            if metrics is None:
                continue
            labels = container_label_values(view)
            cpu, memory, disk = (
                latest(series)
                for series in (metrics.cpu_percent, metrics.memory_mb, metrics.disk_mb)
            )
            values = (
                ("stacks_container_cpu_usage_ratio", None if cpu is None else cpu / 100),
                (
                    "stacks_container_memory_usage_bytes",
                    None if memory is None else memory * BYTES_PER_MB,
                ),
                (
                    "stacks_container_disk_usage_bytes",
                    None if disk is None else disk * BYTES_PER_MB,
                ),
                (
                    "stacks_container_network_receive_bytes_per_second",
                    latest(metrics.network_in_bps),
                ),
                (
                    "stacks_container_network_transmit_bytes_per_second",
                    latest(metrics.network_out_bps),
                ),
            )
            for name, value in values:
                if value is not None:
                    families[name].add_metric(labels, value)
            newest = metrics.latest_timestamp
            if newest is not None:
                families["stacks_container_metrics_timestamp_seconds"].add_metric(
                    labels, newest.timestamp()
                )
        return families.values()
