"""Benchmark 3: rendering /metrics at 1,000 containers, against a bare prometheus-client registry.

The daemon's registry comes from `build_daemon_metrics` over a 1,000-container
snapshot as the poller keeps it (status, newest usage samples, a week of backups
with a weekly pin, account stats) plus the ops and API series a day of running
leaves. The baseline is a plain `CollectorRegistry` holding the same series in
ordinary `Gauge`/`Counter`/`Histogram` objects, built from the daemon's own output,
so both render the same text. Both are timed alternately in this process and the
medians compared.
"""

import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import Metric

from daemon.clock import ManualClock
from daemon.exporter import PolicySeries, build_daemon_metrics
from daemon.snapshot import ContainerView, Snapshot
from daemon.stacks import Backup, BackupStats, Container, ContainerMetrics, MetricSample, RateBudget
from policies import PoliciesConfig, policy_options

NOW = datetime(2026, 1, 11, 12, 0, tzinfo=UTC)
STATUSES = ("running", "running", "running", "stopped", "error")


@dataclass
class RenderResult:
    containers: int
    series: int
    daemon_seconds: float
    bare_seconds: float
    rounds: int

    @property
    def ratio(self) -> float:
        return self.daemon_seconds / self.bare_seconds


def fleet_snapshot(containers: int) -> Snapshot:
    views = {}
    backup_id = 0
    for i in range(containers):
        cid = f"usr-abc12345-app-{i:04d}"
        container = Container(
            id=cid, name=f"app-{i:04d}", status=STATUSES[i % len(STATUSES)], type="nodejs",
            plan="basic", cpu_allocated=1.0, memory_allocated_mb=1024,
            storage_allocated_mb=10240, created_at=NOW - timedelta(days=30 + i % 90),
            image_tag="stackshosting/nodejs:latest", version="22",
        )  # fmt: skip
        metrics = ContainerMetrics(
            *((MetricSample(NOW - timedelta(minutes=1), 10.0 + i % 50 + k),) for k in range(5))
        )
        backups = []
        for day in range(7):
            backup_id += 1
            made = NOW.replace(hour=2) - timedelta(days=day)
            backups.append(
                Backup(
                    id=backup_id, container_id=cid, status="completed", created_at=made,
                    completed_at=made + timedelta(minutes=3), size_bytes=1_000_000 + i,
                    pinned=day == 6,
                )
            )  # fmt: skip
        views[cid] = ContainerView(
            container,
            seen_at=NOW,
            metrics=metrics,
            metrics_at=NOW - timedelta(seconds=i % 300),
            backups=tuple(backups),
            backups_at=NOW - timedelta(seconds=i % 1800),
        )
    stats = BackupStats(7 * containers, 7 * containers, 0, 7_000_000 * containers, NOW)
    return Snapshot(
        taken_at=NOW,
        status_ok=True,
        containers=views,
        backup_stats=stats,
        backup_stats_at=NOW,
    )


def daemon_registry(containers: int) -> CollectorRegistry:
    snapshot = fleet_snapshot(containers)
    clock = ManualClock(NOW)
    options = policy_options(PoliciesConfig())
    metrics = build_daemon_metrics(
        lambda: snapshot, clock, RateBudget(clock=clock), lambda: options
    )
    routes = (
        "/containers",
        "/containers/{container_id}/metrics",
        "/containers/{container_id}/backups",
    )
    for route in routes:
        for _ in range(50):
            metrics.api.on_request("GET", route, 200, 0.08)
    metrics.api.on_request("PUT", "/containers/{container_id}/status", 200, 0.2)
    exported = PolicySeries()
    for view in snapshot.containers.values():
        name = view.container.name
        exported.set_weekly_pin(view.container.id, name, NOW - timedelta(days=6))
        if view.container.status == "error":
            exported.set_restart_state(view.container.id, name, 20.0, False)
    metrics.ops.set_policy_series(exported)
    metrics.ops.action("auto_restart", "container.restart", "succeeded")
    metrics.ops.action("weekly_pin", "backup.pin", "succeeded")
    return metrics.registry


def bare_registry(source: CollectorRegistry) -> CollectorRegistry:
    """Plain prometheus-client metrics holding the series `source` exports now."""
    registry = CollectorRegistry()
    for family in source.collect():
        copy_family(family, registry)
    return registry


def copy_family(family: Metric, registry: CollectorRegistry) -> None:
    samples = family.samples
    if family.type == "histogram":
        copy_histogram(family, registry)
        return
    if family.type == "counter":
        samples = [s for s in samples if s.name.endswith("_total")]
    # A labelled family with no series yet shows no sample either: give it a label.
    names = tuple(samples[0].labels) if samples else ("label",)
    kind, set_value = (Counter, "inc") if family.type == "counter" else (Gauge, "set")
    metric = kind(family.name, family.documentation, names, registry=registry)
    for sample in samples:
        series = metric.labels(**sample.labels) if names else metric
        getattr(series, set_value)(sample.value)


def copy_histogram(family: Metric, registry: CollectorRegistry) -> None:
    """Observations that land in the same buckets as the source's."""
    buckets = [s for s in family.samples if s.name.endswith("_bucket")]
    names = tuple(n for n in buckets[0].labels if n != "le")
    bounds = sorted({float(s.labels["le"]) for s in buckets})
    histogram = Histogram(
        family.name, family.documentation, names, buckets=bounds, registry=registry
    )
    previous: dict[tuple, float] = {}
    for sample in sorted(buckets, key=lambda s: float(s.labels["le"])):
        key = tuple(sample.labels[n] for n in names)
        bound = float(sample.labels["le"])
        child = histogram.labels(*key)
        for _ in range(int(sample.value - previous.get(key, 0.0))):
            child.observe(bound if bound != float("inf") else 1e9)
        previous[key] = sample.value


def run_render(containers: int = 1000, rounds: int = 15) -> RenderResult:
    daemon = daemon_registry(containers)
    bare = bare_registry(daemon)
    timings: dict[str, list[float]] = {"daemon": [], "bare": []}
    for _ in range(rounds):
        for name, registry in (("daemon", daemon), ("bare", bare)):
            started = time.perf_counter()
            generate_latest(registry)
            timings[name].append(time.perf_counter() - started)
    series = sum(len(family.samples) for family in daemon.collect())
    return RenderResult(
        containers=containers,
        series=series,
        daemon_seconds=statistics.median(timings["daemon"]),
        bare_seconds=statistics.median(timings["bare"]),
        rounds=rounds,
    )
