"""The exporter: what the daemon shows Prometheus and probes, read from the current Snapshot.

Collectors read whatever Snapshot the poller published last and never call the
STACKS API at scrape time. The modules, in the order a scrape meets them:

- `metrics_server`: `MetricsServer`, the HTTP(S) listener on `daemon.listen`
  with basic auth, serving /metrics, /healthz, /readyz and /status, on a
  `Listener` checked and loaded before anything binds (`ListenerError` if not);
- `health`: `Health`, the liveness and readiness behind /healthz and /readyz;
- `metrics_registry`: `build_daemon_metrics`, the one registry with every
  collector, and `exported_metric_names`, the names it exports;
- `fleet_collector`: `FleetCollector` (API up, container info, status,
  allocation, usage) and what every per-container series shares;
- `backup_collector`: `BackupCollector` (backup freshness, counts, account totals);
- `policy_scope_collector`: `PolicyScopeCollector` (what the policies expect of
  each container: its backup `max_age`, whether weekly_pin pins it);
- `ops_metrics`: the daemon's own `stacks_opsd_*` series, `OpsMetrics` (pushed:
  actions, restart backoff, weekly pins, leader, build, audit write errors) and
  `RefreshLagCollector` (the age of its data);
- `notification_metrics`: `NotificationMetrics`, how delivery to each
  notification sink is doing (counts by result, lag, last success);
- `api_metrics`: `ApiMetrics` (the client's requests and errors) and
  `RateBudgetCollector` (the shared rate budget).
"""

from daemon.exporter.api_metrics import ApiMetrics, RateBudgetCollector
from daemon.exporter.backup_collector import BackupCollector
from daemon.exporter.fleet_collector import FleetCollector
from daemon.exporter.health import DATABASE_CHECK_MAX_AGE, DATABASE_CHECK_TIMEOUT, Health
from daemon.exporter.metrics_registry import (
    SampleBudget,
    build_daemon_metrics,
    exported_metric_names,
    sample_snapshot,
)
from daemon.exporter.metrics_server import Listener, ListenerError, MetricsServer
from daemon.exporter.notification_metrics import NotificationMetrics
from daemon.exporter.ops_metrics import OpsMetrics, PolicySeries, RefreshLagCollector
from daemon.exporter.policy_scope_collector import PolicyScopeCollector

__all__ = [
    "DATABASE_CHECK_MAX_AGE",
    "DATABASE_CHECK_TIMEOUT",
    "ApiMetrics",
    "BackupCollector",
    "FleetCollector",
    "Health",
    "Listener",
    "ListenerError",
    "MetricsServer",
    "NotificationMetrics",
    "OpsMetrics",
    "PolicyScopeCollector",
    "PolicySeries",
    "RateBudgetCollector",
    "RefreshLagCollector",
    "SampleBudget",
    "build_daemon_metrics",
    "exported_metric_names",
    "sample_snapshot",
]
