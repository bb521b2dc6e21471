"""How often metrics and backups can be refreshed per container within the API budget.

The status of the whole fleet costs one request per status interval whatever
its size. What remains of the per-minute limit, after `reserve_for_actions`, is
shared by metrics and backup refreshes in proportion to what their configured
intervals ask for; when the fleet asks for more than the budget holds, both
intervals are stretched by the same factor so the daemon stays under the limit.
"""

from dataclasses import dataclass
from datetime import timedelta

MINUTE = 60.0


@dataclass(frozen=True)
class RefreshPlan:
    metrics_interval: timedelta
    backups_interval: timedelta
    stretch: float
    requests_per_minute: float

    @property
    def stretched(self) -> bool:
        return self.stretch > 1.0


def plan_refresh(
    containers: int,
    *,
    status_interval: timedelta,
    metrics_interval: timedelta,
    backups_interval: timedelta,
    limit_per_minute: int,
    reserve_for_actions: int,
) -> RefreshPlan:
    """The per-container refresh intervals that fit `limit_per_minute`."""
    status_per_minute = MINUTE / status_interval.total_seconds()
    # /backups/stats costs one request per backups interval on top of the per-container lists.
    stats_per_minute = MINUTE / backups_interval.total_seconds()
    capacity = max(limit_per_minute - reserve_for_actions - status_per_minute - stats_per_minute, 1)
    metrics_demand = containers * MINUTE / metrics_interval.total_seconds()
    backups_demand = containers * MINUTE / backups_interval.total_seconds()
    demand = metrics_demand + backups_demand
    stretch = max(1.0, demand / capacity)
    return RefreshPlan(
        metrics_interval=metrics_interval * stretch,
        backups_interval=backups_interval * stretch,
        stretch=stretch,
        requests_per_minute=status_per_minute + stats_per_minute + demand / stretch,
    )
