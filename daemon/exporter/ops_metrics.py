"""What the daemon reports about itself: every `stacks_opsd_*` series.

`OpsMetrics` holds what the executor, policies and leader election push as
things happen: actions, audit write errors, leadership, the build, whether the
last config (re)load succeeded, and per container the auto-restart backoff and
the newest weekly pin (the policies' `PolicySeries` of each evaluation, whole: a
container a policy stops covering loses them). Label-less series
exist from the start (`stacks_opsd_leader 0`, `stacks_opsd_audit_write_errors_total 0`,
build info) so alerts never wait for a first event. Per-container series are
dropped by `retain()` when a container no longer exists (and all of them on
stand-by), so deleted containers vanish here too.

`RefreshLagCollector` reads, at scrape time, how old the daemon's data is.
"""

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily

import daemon
from daemon.clock import Clock
from daemon.exporter.fleet_collector import CONTAINER_LABELS, Families, SnapshotCollector
from daemon.snapshot import Snapshot


@dataclass
class ContainerSeries:
    """The one series a per-container gauge has for a container: its name label, child, value."""

    name: str
    child: Gauge
    value: float


@dataclass
class PolicySeries:
    """The per-container gauges the policies export in one evaluation (`PolicyGauges`),
    for `OpsMetrics.set_policy_series`: container id -> (name, backoff seconds, gave up),
    and container id -> (name, newest weekly pin)."""

    restart: dict[str, tuple[str, float, bool]] = field(default_factory=dict)
    weekly_pin: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    def set_restart_state(
        self, container_id: str, name: str, backoff_seconds: float, gave_up: bool
    ) -> None:
        self.restart[container_id] = (name, backoff_seconds, gave_up)

    def set_weekly_pin(self, container_id: str, name: str, timestamp: datetime) -> None:
        self.weekly_pin[container_id] = (name, timestamp)


class OpsMetrics:
    """The daemon's own activity.

    Policies push every container's state at each evaluation, mostly unchanged:
    each container's gauge child is kept, and a value equal to the one shown is
    not set again.

    Sample output:

        stacks_opsd_actions_total{action="container.restart",outcome="succeeded",...} 2.0
        stacks_opsd_audit_write_errors_total 0.0
        stacks_opsd_leader 1.0
        stacks_opsd_build_info{version="0.1.0"} 1.0
        stacks_opsd_config_last_reload_successful 1.0
        stacks_opsd_config_last_reload_success_timestamp_seconds 1.7789868e+09
        stacks_opsd_restart_backoff_seconds{container_id="usr-abc12345-app",name="app"} 40.0
        stacks_opsd_restart_gave_up{container_id="usr-abc12345-app",name="app"} 0.0
        stacks_opsd_weekly_pin_last_timestamp_seconds{container_id=...,name=...} 1.7789868e+09
        stacks_opsd_hold_expiry_timestamp_seconds{container_id=...,name=...} 1.7789940e+09
        stacks_opsd_window_active{window="sunday-night"} 0.0
    """

    def __init__(self, registry: CollectorRegistry, version: str = daemon.__version__) -> None:
        self._actions = Counter(
            "stacks_opsd_actions",
            "Actions the daemon decided or performed, by policy, action and outcome.",
            ("policy", "action", "outcome"),
            registry=registry,
        )
        self._audit_write_errors = Counter(
            "stacks_opsd_audit_write_errors",
            "Audit rows that could not be written to the audit database.",
            registry=registry,
        )
        self._leader = Gauge(
            "stacks_opsd_leader",
            "1 while this instance holds the lock for its API key and does the work, else 0.",
            registry=registry,
        )
        build_info = Gauge(
            "stacks_opsd_build_info",
            "stacks-opsd build (always 1).",
            ("version",),
            registry=registry,
        )
        build_info.labels(version).set(1)
        self._reload_ok = Gauge(
            "stacks_opsd_config_last_reload_successful",
            "1 if the last attempt to (re)load the config file succeeded, 0 if it was refused "
            "(the daemon keeps running with the config it had).",
            registry=registry,
        )
        self._reload_ok.set(1)
        self._reload_at = Gauge(
            "stacks_opsd_config_last_reload_success_timestamp_seconds",
            "When the running config was last loaded successfully (start or reload).",
            registry=registry,
        )
        self._backoff = Gauge(
            "stacks_opsd_restart_backoff_seconds",
            "Current auto-restart backoff of the container in seconds (0 when not backing off).",
            CONTAINER_LABELS,
            registry=registry,
        )
        self._gave_up = Gauge(
            "stacks_opsd_restart_gave_up",
            "1 when auto-restart gave up on the container until an operator acts, else 0.",
            CONTAINER_LABELS,
            registry=registry,
        )
        self._weekly_pin = Gauge(
            "stacks_opsd_weekly_pin_last_timestamp_seconds",
            "Unix time of the newest weekly pin the daemon made for the container.",
            CONTAINER_LABELS,
            registry=registry,
        )
        self._hold_expiry = Gauge(
            "stacks_opsd_hold_expiry_timestamp_seconds",
            "Unix time the latest active hold on the container expires (no series: not held).",
            CONTAINER_LABELS,
            registry=registry,
        )
        self._window_active = Gauge(
            "stacks_opsd_window_active",
            "1 while the maintenance window is active (its paused actions wait), else 0.",
            ("window",),
            registry=registry,
        )
        self._windows: set[str] = set()  # the windows stacks_opsd_window_active has a series of
        self._lock = threading.Lock()
        # container_id -> the current series of each per-container gauge
        self._series: dict[Gauge, dict[str, ContainerSeries]] = {
            gauge: {}
            for gauge in (self._backoff, self._gave_up, self._weekly_pin, self._hold_expiry)
        }

    def action(self, policy: str, action: str, outcome: str) -> None:
        self._actions.labels(policy, action, outcome).inc()

    def audit_write_error(self) -> None:
        self._audit_write_errors.inc()

    def config_loaded(self, successful: bool, at: datetime) -> None:
        """A (re)load of the config file was applied (`at`) or refused."""
        self._reload_ok.set(1 if successful else 0)
        if successful:
            self._reload_at.set(at.timestamp())

    def set_leader(self, leader: bool) -> None:
        self._leader.set(1 if leader else 0)

    def set_policy_series(self, policy_series: "PolicySeries") -> None:
        """The policies' per-container gauges as one evaluation exported them: every other
        container's series of these gauges goes (a container a policy no longer covers,
        every container of a policy turned off)."""
        values = {
            self._backoff: {cid: (n, b) for cid, (n, b, _) in policy_series.restart.items()},
            self._gave_up: {cid: (n, int(g)) for cid, (n, _, g) in policy_series.restart.items()},
            self._weekly_pin: {
                cid: (n, at.timestamp()) for cid, (n, at) in policy_series.weekly_pin.items()
            },
        }
        with self._lock:
            for gauge, wanted in values.items():
                self._replace(gauge, wanted)

    def set_hold_expiries(self, expiries: Mapping[str, tuple[str, datetime]]) -> None:
        """The held containers (id -> (name, expiry)); every other container's series goes."""
        with self._lock:
            self._replace(
                self._hold_expiry,
                {cid: (name, expiry.timestamp()) for cid, (name, expiry) in expiries.items()},
            )

    def set_windows_active(self, windows: Mapping[str, bool]) -> None:
        """Each configured window (name -> active now); a window no longer configured (a
        reload removed or renamed it) loses its series."""
        with self._lock:
            for name in self._windows - set(windows):
                self._window_active.remove(name)
            for name, active in windows.items():
                self._window_active.labels(name).set(1 if active else 0)
            self._windows = set(windows)

    def retain(self, container_ids: Iterable[str]) -> None:
        """Drop the per-container series of every container not in `container_ids`."""
        keep = set(container_ids)
        with self._lock:
            for gauge, series in self._series.items():
                for container_id in [cid for cid in series if cid not in keep]:
                    gauge.remove(container_id, series.pop(container_id).name)

    def _replace(self, gauge: Gauge, wanted: Mapping[str, tuple[str, float]]) -> None:
        """The gauge's series become `wanted` (container id -> (name, value))."""
        series = self._series[gauge]
        for container_id in [cid for cid in series if cid not in wanted]:
            gauge.remove(container_id, series.pop(container_id).name)
        for container_id, (name, value) in wanted.items():
            self._set(gauge, container_id, name, value)

    def _set(self, gauge: Gauge, container_id: str, name: str, value: float) -> None:
        series = self._series[gauge]
        current = series.get(container_id)
        if current is not None and current.name == name:
            if current.value != value:
                current.child.set(value)
                current.value = value
            return
        if current is not None:
            gauge.remove(container_id, current.name)
        child = gauge.labels(container_id, name)
        child.set(value)
        series[container_id] = ContainerSeries(name, child, value)


class RefreshLagCollector(SnapshotCollector):
    """How old the daemon's data is: `stacks_opsd_refresh_lag_seconds{kind}` per kind of data.

    Each value is the age, on the injected Clock, of the oldest data of that kind:
    - status: now minus the last successful status poll (grows while polls fail);
    - metrics / backups: now minus the oldest per-container fetch time; backups
      also include the account's `/backups/stats`.
    A container whose metrics or backups were never fetched counts from when this
    collector first saw it in a snapshot (its `seen_at` then): the Snapshot only
    keeps when a container was last seen, so the first sighting is remembered
    here, and forgotten when the container vanishes. A kind with no data to age
    (no containers, never polled) has no series.

    Sample output:

        stacks_opsd_refresh_lag_seconds{kind="status"} 12.0
        stacks_opsd_refresh_lag_seconds{kind="metrics"} 287.0
        stacks_opsd_refresh_lag_seconds{kind="backups"} 1795.0
    """

    def __init__(self, snapshot_source: Callable[[], Snapshot], clock: Clock) -> None:
        super().__init__(snapshot_source)
        self._clock = clock
        self._first_seen: dict[str, datetime] = {}
        self._lock = threading.Lock()

    @staticmethod
    def families() -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily(
                "stacks_opsd_refresh_lag_seconds",
                "Age in seconds of the oldest status, metrics or backups data the daemon holds.",
                labels=("kind",),
            ),
        )

    def add_samples(self, families: Families, snapshot: Snapshot) -> None:
        now = self._clock.now()
        first_seen = self._remember_first_sightings(snapshot)
        metrics_times = [
            view.metrics_at or first_seen[cid] for cid, view in snapshot.containers.items()
        ]
        backups_times = [
            view.backups_at or first_seen[cid] for cid, view in snapshot.containers.items()
        ]
        if snapshot.backup_stats_at is not None:
            backups_times.append(snapshot.backup_stats_at)
        oldest = {
            "status": snapshot.taken_at,
            "metrics": min(metrics_times, default=None),
            "backups": min(backups_times, default=None),
        }
        for kind, moment in oldest.items():
            if moment is not None:
                families["stacks_opsd_refresh_lag_seconds"].add_metric(
                    [kind], max(0.0, (now - moment).total_seconds())
                )

    def _remember_first_sightings(self, snapshot: Snapshot) -> dict[str, datetime]:
        with self._lock:
            self._first_seen = {
                cid: self._first_seen.get(cid, view.seen_at)
                for cid, view in snapshot.containers.items()
            }
            return self._first_seen
