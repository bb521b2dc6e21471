"""The names of every series the daemon can export, derived by exercising the real collectors.

Dashboards and alert rules may only name metrics in `exported_metric_names()`;
deploy tests check that. The set is built by wiring `build_daemon_metrics` to a
sample snapshot in which every kind of data is present, feeding one event of
each kind, and walking the samples that come out (so it includes suffixes such
as `_total`, `_bucket`, `_count`, `_sum` and `_created` exactly as emitted).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from daemon.clock import ManualClock
from daemon.exporter.daemon_metrics import build_daemon_metrics
from daemon.snapshot import ContainerView, Snapshot
from daemon.stacks import Backup, BackupStats, Container, ContainerMetrics, MetricSample

SAMPLE_TIME = datetime(2026, 1, 4, 3, 0, tzinfo=UTC)


@dataclass(frozen=True)
class SampleBudget:
    limit: int = 60
    remaining: int = 42
    throttled_total: int = 1


def sample_snapshot() -> Snapshot:
    """One container with status, metrics, a pinned completed backup, plus account stats."""
    at = SAMPLE_TIME
    container = Container(
        id="usr-abc12345-myapp", name="myapp", status="running", type="nodejs", plan="basic",
        cpu_allocated=1.0, memory_allocated_mb=1024, storage_allocated_mb=10240,
        created_at=at - timedelta(days=30), image_tag="stackshosting/nodejs:latest", version="22",
    )  # fmt: skip
    sample = (MetricSample(at, 1.0),)
    metrics = ContainerMetrics(sample, sample, sample, sample, sample)
    backup = Backup(
        id=1, container_id=container.id, status="completed", created_at=at,
        completed_at=at, size_bytes=1024, pinned=True,
    )  # fmt: skip
    view = ContainerView(
        container, seen_at=at, metrics=metrics, metrics_at=at, backups=(backup,), backups_at=at
    )
    stats = BackupStats(1, 1, 0, 1024, at)
    return Snapshot(
        taken_at=at,
        status_ok=True,
        containers={container.id: view},
        backup_stats=stats,
        backup_stats_at=at,
    )


def exported_metric_names() -> set[str]:
    snapshot = sample_snapshot()
    metrics = build_daemon_metrics(lambda: snapshot, ManualClock(SAMPLE_TIME), SampleBudget())
    metrics.api.on_request("GET", "/containers", 200, 0.1)
    metrics.api.on_error(SampleScopeError())
    metrics.ops.action("auto_restart", "container.restart", "succeeded")
    metrics.ops.set_restart_state("usr-abc12345-myapp", "myapp", 10.0, False)
    metrics.ops.set_weekly_pin("usr-abc12345-myapp", "myapp", SAMPLE_TIME)
    return {sample.name for family in metrics.registry.collect() for sample in family.samples}


class SampleScopeError(Exception):
    """Shaped like the client's ScopeError, enough for ApiMetrics to flag a missing scope."""

    http_status = 403
    required_scope = "containers:delete"
