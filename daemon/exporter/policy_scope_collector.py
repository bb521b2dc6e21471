"""What the policies expect of each container, as the alert rules need it, at scrape time.

`StacksBackupStale` compares a container's backup age with its own
`backup_freshness.max_age`, and `StacksNoWeeklyPin` expects a weekly pin only of
the containers weekly_pin acts on. Both can differ per container (`[[overrides]]`,
weekly_pin's `match` and `exclude`), so the exporter publishes them per
container, resolved from the running config exactly as the policies resolve them
(a reload shows at the next scrape).
"""

from collections.abc import Callable, Mapping

from prometheus_client.core import GaugeMetricFamily

from daemon.exporter.fleet_collector import (
    CONTAINER_LABELS,
    Families,
    SnapshotCollector,
    container_label_values,
)
from daemon.snapshot import Snapshot
from policies import PolicyOptions, applies_to

FRESHNESS, WEEKLY_PIN = "backup_freshness", "weekly_pin"


class PolicyScopeCollector(SnapshotCollector):
    """Each container's backup `max_age` and whether weekly_pin pins its backups.

    Sample output:

        stacks_opsd_backup_max_age_seconds{container_id="usr-abc12345-db",name="db"} 93600.0
        stacks_opsd_weekly_pin_enabled{container_id="usr-abc12345-db",name="db"} 1.0
    """

    def __init__(
        self,
        snapshot_source: Callable[[], Snapshot],
        options_source: Callable[[], Mapping[str, PolicyOptions]],
    ) -> None:
        super().__init__(snapshot_source)
        self._options_source = options_source

    @staticmethod
    def families() -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily(
                "stacks_opsd_backup_max_age_seconds",
                "The container's backup_freshness.max_age in seconds (its overrides applied): "
                "how old its newest completed backup may be before StacksBackupStale.",
                labels=CONTAINER_LABELS,
            ),
            GaugeMetricFamily(
                "stacks_opsd_weekly_pin_enabled",
                "1 when weekly_pin pins the container's backups (enabled for it, and its name "
                "matched and not excluded), else 0.",
                labels=CONTAINER_LABELS,
            ),
        )

    def add_samples(self, families: Families, snapshot: Snapshot) -> None:
        options = self._options_source()
        freshness, weekly_pin = options[FRESHNESS], options[WEEKLY_PIN]
        max_age = families["stacks_opsd_backup_max_age_seconds"]
        pinned = families["stacks_opsd_weekly_pin_enabled"]
        for view in snapshot.containers.values():
            name, kind = view.container.name, view.container.type
            labels = container_label_values(view)
            max_age.add_metric(labels, freshness.of(name, kind).max_age.total_seconds())
            pinned.add_metric(labels, 1.0 if applies_to(weekly_pin.of(name, kind), name) else 0.0)
