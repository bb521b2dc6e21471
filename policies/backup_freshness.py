"""backup_freshness: how old each container's newest completed backup is; no action.

```toml
[policies.backup_freshness]
max_age = "26h"              # exported for alerting; no action
```

The exporter publishes each container's `max_age` (its overrides applied) beside
the backup timestamps, for the alert rules; the Alertmanager sink opens its stale
alert with the same `max_age`; weekly_pin unpins nothing while a container's
newest completed backup is older than `max_age`. Both judge the age
as of the moment the backup list was read: a list not read again since is not
evidence of a stale backup (a large fleet reads each list every few hours).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from daemon.snapshot import ContainerView
from policies.base import OptionRule, PolicySpec, positive_duration
from policies.overrides import PolicyOptions

MaxAge = Callable[[ContainerView], timedelta]  # a container's max_age, its overrides applied


@dataclass(frozen=True)
class BackupFreshnessOptions:
    max_age: timedelta = timedelta(hours=26)

    RULES: ClassVar[tuple[OptionRule, ...]] = (positive_duration("max_age"),)


def newest_completed_backup_age(view: ContainerView, now: datetime) -> timedelta | None:
    """Age of the newest completed backup when the list was read (at most `now`);
    None when backups are unknown or none completed."""
    newest = view.newest_completed_backup
    if newest is None or view.backups_at is None:
        return None
    return min(view.backups_at, now) - newest.created_at


def max_age_of(freshness: PolicyOptions) -> MaxAge:
    """Each container's `max_age` from the policy's options, its `[[overrides]]` applied."""
    return lambda view: freshness.of(view.container.name, view.container.type).max_age


# Not a deciding policy: its options reach weekly_pin (see WEEKLY_PIN) and the exporter.
BACKUP_FRESHNESS = PolicySpec(name="backup_freshness", options=BackupFreshnessOptions)
