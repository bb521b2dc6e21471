"""The daemon's one metrics registry: every collector wired to its source, and the names it exports.

The run command builds it once with `build_daemon_metrics` and hands `api` to
the STACKS client as its observer, `ops` to the executor, policies and leader
election, and `registry` to the MetricsServer.

Dashboards and alert rules may only name metrics in `exported_metric_names()`;
deploy tests check that. The set is built by wiring the same registry to a
sample snapshot in which every kind of data is present, feeding one event of
each kind, and walking the samples that come out (so it includes suffixes such
as `_total`, `_bucket`, `_count`, `_sum` and `_created` exactly as emitted), so
the list cannot drift from what the daemon serves.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

import daemon
from daemon.audit import AuditAction, Outcome
from daemon.clock import Clock, ManualClock
from daemon.exporter.api_metrics import SCOPE_STATUS, ApiMetrics, Budget, RateBudgetCollector
from daemon.exporter.backup_collector import BackupCollector
from daemon.exporter.fleet_collector import FleetCollector
from daemon.exporter.notification_metrics import NotificationMetrics
from daemon.exporter.ops_metrics import OpsMetrics, PolicySeries, RefreshLagCollector
from daemon.exporter.policy_scope_collector import PolicyScopeCollector
from daemon.snapshot import ContainerView, Snapshot
from daemon.stacks import Backup, BackupStats, Container, ContainerMetrics, MetricSample
from policies import PoliciesConfig, PolicyOptions, policy_options


@dataclass(frozen=True)
class DaemonMetrics:
    """The registry to serve, and what the daemon pushes events into."""

    registry: CollectorRegistry
    api: ApiMetrics
    ops: OpsMetrics
    notifications: NotificationMetrics


def build_daemon_metrics(
    snapshot_source: Callable[[], Snapshot],
    clock: Clock,
    budget: Budget,
    options_source: Callable[[], Mapping[str, PolicyOptions]],
    version: str = daemon.__version__,
) -> DaemonMetrics:
    """A fresh registry (not the global one) with every collector and the process metrics.
    `options_source`: the running config's options of every policy, per container."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    for collector in (
        FleetCollector(snapshot_source),
        BackupCollector(snapshot_source),
        PolicyScopeCollector(snapshot_source, options_source),
        RefreshLagCollector(snapshot_source, clock),
        RateBudgetCollector(budget),
    ):
        registry.register(collector)
    return DaemonMetrics(
        registry=registry,
        api=ApiMetrics(registry),
        ops=OpsMetrics(registry, version),
        notifications=NotificationMetrics(registry),
    )


SAMPLE_TIME = datetime(2026, 1, 4, 3, 0, tzinfo=UTC)


@dataclass(frozen=True)
class SampleBudget:
    """A rate budget that has seen responses and one 429."""

    limit: int = 60
    remaining: int = 42
    throttled_total: int = 1


class SampleScopeError(Exception):
    """Shaped like the client's ScopeError, enough for ApiMetrics to flag a missing scope."""

    http_status = SCOPE_STATUS
    required_scope = "containers:delete"


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
    """Every sample name the daemon's registry emits once each kind of data and event is present."""
    snapshot = sample_snapshot()
    options = policy_options(PoliciesConfig())
    metrics = build_daemon_metrics(
        lambda: snapshot, ManualClock(SAMPLE_TIME), SampleBudget(), lambda: options
    )
    metrics.api.on_request("GET", "/containers", 200, 0.1)
    metrics.api.on_error(SampleScopeError())
    metrics.ops.action("auto_restart", AuditAction.CONTAINER_RESTART, Outcome.SUCCEEDED)
    exported = PolicySeries()
    for view in snapshot.containers.values():
        container_id, name = view.container.id, view.container.name
        exported.set_restart_state(container_id, name, 10.0, False)
        exported.set_weekly_pin(container_id, name, SAMPLE_TIME)
        metrics.ops.set_hold_expiries({container_id: (name, SAMPLE_TIME)})
    metrics.ops.set_policy_series(exported)
    metrics.ops.set_windows_active({"sunday-night": False})
    metrics.notifications.delivered("ops-webhook", SAMPLE_TIME)
    metrics.notifications.set_lag("ops-webhook", 0)
    return {sample.name for family in metrics.registry.collect() for sample in family.samples}
