"""Hand-built snapshots for the exporter tests, and a reader of what a scrape shows."""

from datetime import UTC, datetime, timedelta

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector, CollectorRegistry

from daemon.snapshot import ContainerView, Snapshot
from daemon.stacks import Backup, Container

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
MIB = 1024 * 1024


def container(name: str, status: str = "running", **fields) -> Container:
    defaults = dict(
        type="nodejs",
        plan="basic",
        cpu_allocated=1.0,
        memory_allocated_mb=1024,
        storage_allocated_mb=10240,
        created_at=T0 - timedelta(days=30),
        image_tag="stackshosting/nodejs:latest",
        version="22",
    )
    defaults.update(fields)
    return Container(id=f"usr-abc12345-{name}", name=name, status=status, **defaults)


def view(name: str, status: str = "running", *, seen_at: datetime = T0, **parts) -> ContainerView:
    return ContainerView(container=container(name, status), seen_at=seen_at, **parts)


def snapshot(*views: ContainerView, taken_at: datetime | None = T0, **fields) -> Snapshot:
    fields.setdefault("status_ok", True)
    return Snapshot(taken_at=taken_at, containers={v.container.id: v for v in views}, **fields)


def backup(
    backup_id: int,
    name: str,
    status: str,
    created_at: datetime,
    *,
    pinned: bool = False,
    size_bytes: int | None = None,
    completed_at: datetime | None = None,
) -> Backup:
    return Backup(
        id=backup_id,
        container_id=f"usr-abc12345-{name}",
        status=status,
        created_at=created_at,
        pinned=pinned,
        size_bytes=size_bytes,
        completed_at=completed_at,
    )


def registry_with(*collectors: Collector) -> CollectorRegistry:
    registry = CollectorRegistry()
    for collector in collectors:
        registry.register(collector)
    return registry


def series(registry: CollectorRegistry, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample called `name` in the rendered scrape, keyed by its sorted labels."""
    text = generate_latest(registry).decode()
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def labels(**pairs: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(pairs.items()))


def ids(name: str) -> dict[str, str]:
    """The container_id and name labels of container `name`."""
    return {"container_id": f"usr-abc12345-{name}", "name": name}
