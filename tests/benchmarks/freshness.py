"""Freshness: the best refresh interval the budget allows, and the worst age really reached.

The bound is the issue's arithmetic, computed here independently of the
daemon's own plan: what remains of the per-minute limit after
`reserve_for_actions`, one status poll per status interval and one
`/backups/stats` per backups interval is available to per-container refreshes;
metrics and backups share it in proportion to what their configured intervals
ask for. A kind's best interval is its configured interval, or N ÷ its share of
the available requests per minute when the fleet asks for more than that.

`FetchAges` watches the wire: the age of a kind's oldest data peaks just before
some item is fetched again, so the largest gap between two fetches of the same
item (or since its last fetch, at the end) is exactly the worst age reached.
"""

from datetime import datetime, timedelta

from daemon.config import Config
from daemon.refresh_plan import AUTO_CEILING

KINDS = ("metrics", "backups")
MINUTE = 60.0


def available_per_minute(config: Config) -> float:
    """Requests per minute left for metrics and backup lists (an "auto" status interval
    only takes what they leave, so they may count on its 15 s ceiling)."""
    interval = config.poll.fixed_status_interval or AUTO_CEILING
    status = MINUTE / interval.total_seconds()
    stats = MINUTE / config.poll.backups_interval.total_seconds()
    return config.api.rate_limit_per_minute - config.api.reserve_for_actions - status - stats


def best_intervals(containers: int, config: Config) -> dict[str, float]:
    """Per kind, the shortest refresh interval (seconds) the budget allows for every container."""
    configured = {
        "metrics": config.poll.metrics_interval.total_seconds(),
        "backups": config.poll.backups_interval.total_seconds(),
    }
    demand = {kind: containers * MINUTE / seconds for kind, seconds in configured.items()}
    available = available_per_minute(config)
    total = sum(demand.values())
    if total <= available:
        return configured
    return {kind: containers / (available * demand[kind] / total) * MINUTE for kind in KINDS}


def kind_of(method: str, path: str) -> tuple[str, str] | None:
    """(kind, item) of a refresh request, None for anything else."""
    if method != "GET":
        return None
    if path.endswith("/backups/stats"):
        return "backups", "stats"
    parts = path.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] != "status" and parts[-1] in KINDS:
        return parts[-1], parts[-2]
    return None


class FetchAges:
    """Worst age of each kind's data, counted from `since` (after a warm-up)."""

    def __init__(self, since: datetime) -> None:
        self._since = since
        self._last: dict[tuple[str, str], datetime] = {}
        self._worst = dict.fromkeys(KINDS, 0.0)

    def fetched(self, kind: str, item: str, at: datetime) -> None:
        """`item`'s data of `kind` is new as of `at` (also call it when an item first appears)."""
        previous = self._last.get((kind, item))
        self._last[(kind, item)] = at
        if previous is not None and at > self._since:
            self._note(kind, at - previous)

    def worst(self, now: datetime) -> dict[str, float]:
        """Worst age per kind in seconds, including data not fetched again by `now`."""
        for (kind, _), at in self._last.items():
            self._note(kind, now - at)
        return dict(self._worst)

    def _note(self, kind: str, age: timedelta) -> None:
        self._worst[kind] = max(self._worst[kind], age.total_seconds())
