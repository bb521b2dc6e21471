"""Fleet metrics from the last status poll: API up, which containers exist, status, size.

Series come only from the current Snapshot, so a deleted container vanishes at
the next scrape after the poll that no longer lists it. A failed status poll
sets `stacks_up` to 0 and keeps the last known containers (fail-closed).
"""

from collections.abc import Callable, Iterable

from prometheus_client.core import GaugeMetricFamily, Metric

from daemon.exporter.container_labels import (
    BYTES_PER_MB,
    CONTAINER_LABELS,
    container_label_values,
)
from daemon.snapshot import Snapshot
from daemon.stacks import KNOWN_CONTAINER_STATUSES

INFO_LABELS = (*CONTAINER_LABELS, "container_type", "plan", "version", "image_tag")


def fleet_families() -> dict[str, GaugeMetricFamily]:
    families = (
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
    )
    return {family.name: family for family in families}


class FleetCollector:
    """Fleet metrics from the last status poll.

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
    """

    def __init__(self, snapshot_source: Callable[[], Snapshot]) -> None:
        self._snapshot_source = snapshot_source

    def describe(self) -> Iterable[Metric]:
        return fleet_families().values()

    def collect(self) -> Iterable[Metric]:
        snapshot = self._snapshot_source()
        families = fleet_families()
        families["stacks_up"].add_metric([], 1.0 if snapshot.status_ok else 0.0)
        if snapshot.taken_at is not None:
            families["stacks_last_poll_timestamp_seconds"].add_metric(
                [], snapshot.taken_at.timestamp()
            )
        for view in snapshot.containers.values():
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
                (
                    "stacks_container_memory_allocated_bytes",
                    container.memory_allocated_mb,
                    BYTES_PER_MB,
                ),
                (
                    "stacks_container_storage_allocated_bytes",
                    container.storage_allocated_mb,
                    BYTES_PER_MB,
                ),
            )
            for name, value, scale in sizes:
                if value is not None:
                    families[name].add_metric(labels, float(value) * scale)
            if container.created_at is not None:
                families["stacks_container_created_timestamp_seconds"].add_metric(
                    labels, container.created_at.timestamp()
                )
        return families.values()
