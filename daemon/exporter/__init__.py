"""The exporter: collectors over the current Snapshot, API and daemon metrics, HTTP endpoints.

Collectors read whatever Snapshot the poller published last and never call the
STACKS API at scrape time. `DaemonMetrics` wires them into one registry that
`MetricsServer` serves on `daemon.listen` with `/healthz`, `/readyz` and `/status`.
"""

from daemon.exporter.api_metrics import ApiMetrics
from daemon.exporter.backup_collector import BackupCollector
from daemon.exporter.catalog import SampleBudget, exported_metric_names, sample_snapshot
from daemon.exporter.daemon_metrics import build_daemon_metrics
from daemon.exporter.fleet_collector import FleetCollector
from daemon.exporter.health import DATABASE_CHECK_MAX_AGE, DATABASE_CHECK_TIMEOUT, Health
from daemon.exporter.lag_collector import RefreshLagCollector
from daemon.exporter.ops_metrics import OpsMetrics
from daemon.exporter.ratelimit_collector import RateBudgetCollector
from daemon.exporter.server import MetricsServer
from daemon.exporter.usage_collector import UsageCollector

__all__ = [
    "DATABASE_CHECK_MAX_AGE",
    "DATABASE_CHECK_TIMEOUT",
    "ApiMetrics",
    "BackupCollector",
    "FleetCollector",
    "Health",
    "MetricsServer",
    "OpsMetrics",
    "RateBudgetCollector",
    "RefreshLagCollector",
    "SampleBudget",
    "UsageCollector",
    "build_daemon_metrics",
    "exported_metric_names",
    "sample_snapshot",
]
