"""How old the daemon's data is: `stacks_opsd_refresh_lag_seconds{kind}` per kind of data.

Each value is the age, on the injected Clock, of the oldest data of that kind:
- status: now minus the last successful status poll (grows while polls fail);
- metrics / backups: now minus the oldest per-container fetch time; backups also
  include the account's `/backups/stats`.
A container whose metrics or backups were never fetched counts from when this
collector first saw it in a snapshot (its `seen_at` then): the Snapshot only
keeps when a container was last seen, so the first sighting is remembered here,
and forgotten when the container vanishes. A kind with no data to age (no
containers, never polled) has no series.
"""

import threading
from collections.abc import Callable, Iterable
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric

from daemon.clock import Clock
from daemon.snapshot import Snapshot

KINDS = ("status", "metrics", "backups")


def lag_family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "stacks_opsd_refresh_lag_seconds",
        "Age in seconds of the oldest status, metrics or backups data the daemon holds.",
        labels=("kind",),
    )


class RefreshLagCollector:
    """Age of the oldest data of each kind.

    Sample output:

        stacks_opsd_refresh_lag_seconds{kind="status"} 12.0
        stacks_opsd_refresh_lag_seconds{kind="metrics"} 287.0
        stacks_opsd_refresh_lag_seconds{kind="backups"} 1795.0
    """

    def __init__(self, snapshot_source: Callable[[], Snapshot], clock: Clock) -> None:
        self._snapshot_source = snapshot_source
        self._clock = clock
        self._first_seen: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def describe(self) -> Iterable[Metric]:
        return [lag_family()]

    def collect(self) -> Iterable[Metric]:
        snapshot = self._snapshot_source()
        now = self._clock.now()
        first_seen = self._remember_first_sightings(snapshot)
        oldest: dict[str, datetime | None] = dict.fromkeys(KINDS)
        oldest["status"] = snapshot.taken_at
        metrics_times = [
            view.metrics_at or first_seen[cid] for cid, view in snapshot.containers.items()
        ]
        backups_times = [
            view.backups_at or first_seen[cid] for cid, view in snapshot.containers.items()
        ]
        if snapshot.backup_stats_at is not None:
            backups_times.append(snapshot.backup_stats_at)
        oldest["metrics"] = min(metrics_times, default=None)
        oldest["backups"] = min(backups_times, default=None)
        family = lag_family()
        for kind, moment in oldest.items():
            if moment is not None:
                family.add_metric([kind], max(0.0, (now - moment).total_seconds()))
        return [family]

    def _remember_first_sightings(self, snapshot: Snapshot) -> dict[str, datetime]:
        with self._lock:
            self._first_seen = {
                cid: self._first_seen.get(cid, view.seen_at)
                for cid, view in snapshot.containers.items()
            }
            return self._first_seen
