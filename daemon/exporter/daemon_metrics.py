"""One registry holding every metric the daemon exports, wired to its sources.

The run command builds it once and hands `api` to the STACKS client as its
observer, `ops` to the executor, policies and leader election, and `registry`
to the MetricsServer. `catalog.py` builds one too, so the list of exported
names cannot drift from what the daemon serves.
"""

from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

import daemon
from daemon.clock import Clock
from daemon.exporter.api_metrics import ApiMetrics
from daemon.exporter.backup_collector import BackupCollector
from daemon.exporter.fleet_collector import FleetCollector
from daemon.exporter.lag_collector import RefreshLagCollector
from daemon.exporter.ops_metrics import OpsMetrics
from daemon.exporter.ratelimit_collector import Budget, RateBudgetCollector
from daemon.exporter.usage_collector import UsageCollector
from daemon.snapshot import Snapshot


@dataclass(frozen=True)
class DaemonMetrics:
    registry: CollectorRegistry
    api: ApiMetrics
    ops: OpsMetrics


def build_daemon_metrics(
    snapshot_source: Callable[[], Snapshot],
    clock: Clock,
    budget: Budget,
    version: str = daemon.__version__,
) -> DaemonMetrics:
    """A fresh registry (not the global one) with every collector and the process metrics."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    for collector in (
        FleetCollector(snapshot_source),
        UsageCollector(snapshot_source),
        BackupCollector(snapshot_source),
        RefreshLagCollector(snapshot_source, clock),
        RateBudgetCollector(budget),
    ):
        registry.register(collector)
    return DaemonMetrics(
        registry=registry, api=ApiMetrics(registry), ops=OpsMetrics(registry, version)
    )
