"""The fleet as the last polls saw it: API up, each container's info, status, allocation, usage.

Every per-container series of the exporter is labelled `container_id` and `name`
(`CONTAINER_LABELS`), and every collector over the Snapshot is a
`SnapshotCollector`: it builds fresh metric families at each scrape from
whatever Snapshot the poller published last, and never calls the STACKS API.

Series come only from the current Snapshot, so a deleted container vanishes at
the next scrape after the poll that no longer lists it. A failed status poll
sets `stacks_up` to 0 and keeps the last known containers (fail-closed). A
container whose metrics were never fetched has no usage series; one whose
metrics response lacked a series (say, no network samples) lacks just that one.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable

from prometheus_client.core import GaugeMetricFamily, Metric

from daemon.snapshot import ContainerView, Snapshot
from daemon.stacks import KNOWN_CONTAINER_STATUSES, ContainerMetrics, latest

CONTAINER_LABELS = ("container_id", "name")
INFO_LABELS = (*CONTAINER_LABELS, "container_type", "plan", "version", "image_tag")
BYTES_PER_MB = 1024 * 1024

Families = dict[str, GaugeMetricFamily]


def container_label_values(view: ContainerView) -> list[str]:
    """The values of `CONTAINER_LABELS` for one container."""
    return [view.container.id, view.container.name]


class SnapshotCollector(ABC):
    """A collector whose series are all computed from the current Snapshot at scrape time.

    A subclass lists its (empty) families in `families()` and fills them in
    `add_samples()`. `describe()` returns the empty families, so registering
    a collector never reads the Snapshot.
    """

    def __init__(self, snapshot_source: Callable[[], Snapshot]) -> None:
        self._snapshot_source = snapshot_source

    @staticmethod
    @abstractmethod
    def families() -> tuple[GaugeMetricFamily, ...]:
        """The collector's families, empty."""

    @abstractmethod
    def add_samples(self, families: Families, snapshot: Snapshot) -> None:
        """Add this scrape's samples from `snapshot` to `families` (keyed by name)."""

    def describe(self) -> Iterable[Metric]:
        return self.families()

    def collect(self) -> Iterable[Metric]:
        families = {family.name: family for family in self.families()}
        self.add_samples(families, self._snapshot_source())
        return families.values()


class FleetCollector(SnapshotCollector):
    """Fleet metrics from the last status poll, and each container's latest usage samples.

    Sample output:

        stacks_up 1.0
        stacks_last_poll_timestamp_seconds 1.7678e+09
        stacks_container_info{container_id="usr-abc12345-app",name="app",
            container_type="nodejs",plan="basic",version="22",
            image_tag="stackshosting/nodejs:latest"} 1.0
        stacks_container_status{container_id="usr-abc12345-app",name="app",status="running"} 1.0
        stacks_container_status{container_id="usr-abc12345-app",name="app",status="error"} 0.0
        stacks_container_cpu_allocated_cores{container_id="usr-abc12345-app",name="app"} 1.0
        stacks_container_memory_allocated_bytes{container_id=...,name=...} 1.073741824e+09
        stacks_container_cpu_usage_ratio{container_id="usr-abc12345-app",name="app"} 0.125
        stacks_container_memory_usage_bytes{container_id=...,name=...} 2.68435456e+08
        stacks_container_network_receive_bytes_per_second{container_id=...,name=...} 1500.0
        stacks_container_metrics_timestamp_seconds{container_id=...,name=...} 1.7678e+09
    """

    @staticmethod
    def families() -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily("stacks_up", "1 if the last STACKS status poll succeeded, else 0."),
            GaugeMetricFamily(
                "stacks_last_poll_timestamp_seconds",
                "Unix time of the last successful STACKS status poll.",
            ),
            GaugeMetricFamily(
                "stacks_container_info",
                "Container metadata (always 1), as of the last poll.",
                labels=INFO_LABELS,
            ),
            GaugeMetricFamily(
                "stacks_container_status",
                "1 for the container's current status, 0 for the other known ones, "
                "as of the last poll.",
                labels=(*CONTAINER_LABELS, "status"),
            ),
            GaugeMetricFamily(
                "stacks_container_cpu_allocated_cores",
                "CPU cores allocated to the container, as of the last poll.",
                labels=CONTAINER_LABELS,
            ),
            GaugeMetricFamily(
                "stacks_container_memory_allocated_bytes",
                "Memory allocated to the container in bytes, as of the last poll.",
                labels=CONTAINER_LABELS,
            ),
            GaugeMetricFamily(
                "stacks_container_storage_allocated_bytes",
                "Storage allocated to the container in bytes, as of the last poll.",
                labels=CONTAINER_LABELS,
            ),
            GaugeMetricFamily(
                "stacks_container_created_timestamp_seconds",
                "Unix time the container was created, as of the last poll.",
                labels=CONTAINER_LABELS,
            ),
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

    def add_samples(self, families: Families, snapshot: Snapshot) -> None:
        families["stacks_up"].add_metric([], 1.0 if snapshot.status_ok else 0.0)
        if snapshot.taken_at is not None:
            families["stacks_last_poll_timestamp_seconds"].add_metric(
                [], snapshot.taken_at.timestamp()
            )
        for view in snapshot.containers.values():
            add_container_status(families, view)
            if view.metrics is not None:
                add_container_usage(families, container_label_values(view), view.metrics)


def add_container_status(families: Families, view: ContainerView) -> None:
    """Info, status 1/0 and allocations of one container, from the status poll."""
    container = view.container
    labels = container_label_values(view)
    families["stacks_container_info"].add_metric(
        [
            *labels,
            container.type or container.template or "",
            container.plan or "",
            container.version or "",
            container.image_tag or "",
        ],
        1.0,
    )
    statuses = dict.fromkeys(KNOWN_CONTAINER_STATUSES, 0.0)
    statuses[container.status] = 1.0
    for status, value in statuses.items():
        families["stacks_container_status"].add_metric([*labels, status], value)
    sizes = (
        ("stacks_container_cpu_allocated_cores", container.cpu_allocated, 1),
        ("stacks_container_memory_allocated_bytes", container.memory_allocated_mb, BYTES_PER_MB),
        ("stacks_container_storage_allocated_bytes", container.storage_allocated_mb, BYTES_PER_MB),
    )
    for name, value, scale in sizes:
        if value is not None:
            families[name].add_metric(labels, float(value) * scale)
    if container.created_at is not None:
        families["stacks_container_created_timestamp_seconds"].add_metric(
            labels, container.created_at.timestamp()
        )


def add_container_usage(families: Families, labels: list[str], metrics: ContainerMetrics) -> None:
    """The latest sample of each `GET /containers/{id}/metrics` series, in base units."""
    cpu, memory, disk = (
        latest(series) for series in (metrics.cpu_percent, metrics.memory_mb, metrics.disk_mb)
    )
    values = (
        ("stacks_container_cpu_usage_ratio", None if cpu is None else cpu / 100),
        ("stacks_container_memory_usage_bytes", None if memory is None else memory * BYTES_PER_MB),
        ("stacks_container_disk_usage_bytes", None if disk is None else disk * BYTES_PER_MB),
        ("stacks_container_network_receive_bytes_per_second", latest(metrics.network_in_bps)),
        ("stacks_container_network_transmit_bytes_per_second", latest(metrics.network_out_bps)),
    )
    for name, value in values:
        if value is not None:
            families[name].add_metric(labels, value)
    newest = metrics.latest_timestamp
    if newest is not None:
        families["stacks_container_metrics_timestamp_seconds"].add_metric(
            labels, newest.timestamp()
        )
