"""The conditions that need a human, as Alertmanager alerts: opened and cleared by audit rows
and by backup freshness.

    conditions = Conditions()
    conditions.observe(row)                     # an audit row as a JSON document
    conditions.observe_backups(views, max_age, now)
    conditions.adopt(held)                      # stale alerts an earlier leader left firing
    conditions.alerts(now)                      # what is firing, and what cleared lately

Each condition is one alert with stable labels, so Alertmanager's grouping,
silences and inhibitions apply to it across re-sends, daemon restarts and leader
changes (the daemon's instance is an annotation, never a label):

    alertname                  severity  labels             opened by         cleared by
    StacksOpsdRestartsGivenUp  critical  container          gave_up (***)     it runs again (*)
    StacksOpsdChangeAborted    warning   container, action  an aborted row    the same action
    StacksOpsdOutcomeUnknown   critical  container, action  an unknown row    succeeding on it
    StacksOpsdBackupStale      warning   container          a stale list (**) a fresh list read

(*) a restart or start of it that succeeded, or auto_restart seeing it run
(`skipped` with event "running"). (**) its newest completed backup was older than
`backup_freshness.max_age` when its list was read; a list not read yet is no evidence.
A stale alert an earlier leader left firing (read back from Alertmanager when this
process starts delivering) is adopted as it is, start included: until the
container's list is read it stays open, as it would have in the process that opened
it; that read keeps it (still stale) or clears it (fresh). One about a container this
fleet does not hold, or holds under another id (an Alertmanager shared with a daemon
of another account), is dropped unresolved: it ends at its own `endsAt`, or by the
daemon that sends it.
(***) a restart `gave_up` row, or a crash of a container still given up (`skipped`
with event "given_up": it ran less than `reset_after` since the alert cleared).

A deleted container (`container.delete` succeeded) clears all its conditions. A
cleared condition stays in `alerts()` for `RESOLVED_KEPT` with its `ended_at`, so
a lost push of the resolution is repeated. Observing a row twice changes nothing
(delivery is at least once).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from daemon.audit import AuditAction, ConditionRule, Outcome, RowKind, subject_of
from daemon.durations import format_duration
from daemon.snapshot import ContainerView
from policies import GIVEN_UP_EVENT, RUNNING_EVENT, MaxAge, newest_completed_backup_age

GAVE_UP = "StacksOpsdRestartsGivenUp"
ABORTED = "StacksOpsdChangeAborted"
UNKNOWN = "StacksOpsdOutcomeUnknown"
BACKUP_STALE = "StacksOpsdBackupStale"
SEVERITY = {GAVE_UP: "critical", ABORTED: "warning", UNKNOWN: "critical", BACKUP_STALE: "warning"}
ALERTNAMES = tuple(SEVERITY)

RESOLVED_KEPT = timedelta(minutes=15)  # as Prometheus keeps sending resolved alerts
RESTARTED = (AuditAction.CONTAINER_RESTART, AuditAction.CONTAINER_START)

# Which audit rows open and clear the conditions of audit rows (the table above), by any
# actor: the fold below and the sink's recall at start (daemon/audit/recall.py) both read
# these. In the per-action rules, a clearing kind naming no action clears its own action's.
DELETED = RowKind(None, AuditAction.CONTAINER_DELETE, Outcome.SUCCEEDED)
SUCCEEDED_AGAIN = RowKind(None, None, Outcome.SUCCEEDED)
CONDITION_RULES = (
    ConditionRule(
        GAVE_UP,
        opens=(
            RowKind(None, None, Outcome.GAVE_UP),
            RowKind(None, None, Outcome.SKIPPED, event=GIVEN_UP_EVENT),
        ),
        clears=(
            *(RowKind(None, action, Outcome.SUCCEEDED) for action in RESTARTED),
            RowKind(None, None, Outcome.SKIPPED, event=RUNNING_EVENT),
            DELETED,
        ),
    ),
    ConditionRule(
        ABORTED,
        opens=(RowKind(None, None, Outcome.ABORTED),),
        clears=(SUCCEEDED_AGAIN, DELETED),
        per_action=True,
    ),
    ConditionRule(
        UNKNOWN,
        opens=(RowKind(None, None, Outcome.UNKNOWN),),
        clears=(SUCCEEDED_AGAIN, DELETED),
        per_action=True,
    ),
)

Key = tuple[str, str, str]  # alertname, container, action ("" when not a label)


@dataclass(frozen=True)
class Condition:
    """One alert: its labels, when it began, what it says, and when it ended (None: firing)."""

    alertname: str
    container: str
    action: str
    started_at: datetime
    summary: str
    description: str
    container_id: str | None = None
    audit_id: int | None = None
    ended_at: datetime | None = None

    @property
    def key(self) -> Key:
        return (self.alertname, self.container, self.action)

    @property
    def labels(self) -> dict[str, str]:
        labels = {
            "alertname": self.alertname,
            "container": self.container,
            "severity": SEVERITY[self.alertname],
        }
        if self.action:
            labels["action"] = self.action
        return labels


class Conditions:
    """The open conditions and those cleared within `RESOLVED_KEPT`."""

    def __init__(self) -> None:
        self._open: dict[Key, Condition] = {}
        self._cleared: dict[Key, Condition] = {}
        self._adopted: set[Key] = set()  # adopted, and not yet confirmed this process's

    def observe(self, row: Mapping[str, Any]) -> bool:
        """Fold one audit row (a JSON document: columns, `details` parsed); True when an
        alert opened or cleared."""
        container = subject_of(row.get("container_name"), row.get("container_id"))
        if not container:
            return False
        action = str(row["action"])
        at = _moment(row["at"])
        for rule in CONDITION_RULES:
            if rule.opened_by(row):
                return self._open_one(rule, container, action, row, at)
        changed = False
        for rule in CONDITION_RULES:
            cleared = rule.cleared_actions(row)
            if cleared is not None:
                keys = [
                    key
                    for key in self._open
                    if key[:2] == (rule.name, container) and cleared in ("*", key[2])
                ]
                changed = self._clear(keys, at) or changed
        if DELETED.matches(str(row["actor"]), action, str(row["outcome"]), None):
            changed = self._clear([(BACKUP_STALE, container, "")], at) or changed
        return changed

    def observe_backups(
        self, views: Iterable[ContainerView], max_age_of: MaxAge, now: datetime
    ) -> bool:
        """Fold the backup lists as last read, each container's age against its own
        `max_age` (`max_age_of`); True when an alert opened or cleared."""
        changed = False
        present = set()
        for view in views:
            name = view.container.name or view.container.id
            key = (BACKUP_STALE, name, "")
            if key in self._adopted and self._open[key].container_id not in (
                None,
                view.container.id,
            ):
                self._forget_adopted([key])  # another account's container of that name
            present.add(name)
            age = newest_completed_backup_age(view, now)
            if view.backups_at is None or age is None:
                continue  # not read yet, or nothing completed: no evidence either way
            self._adopted.discard(key)  # this process's evidence decides from now on
            max_age = max_age_of(view)
            if age > max_age and key not in self._open:
                newest = view.newest_completed_backup
                assert newest is not None  # an age implies a completed backup
                self._open[key] = Condition(
                    BACKUP_STALE,
                    name,
                    "",
                    started_at=newest.created_at + max_age,
                    summary=(
                        f"the newest completed backup of {name} is older than "
                        f"{format_duration(max_age)} (backup_freshness.max_age)"
                    ),
                    description=(
                        f"newest completed backup {newest.id} was made at "
                        f"{newest.created_at.isoformat()}; the list was read at "
                        f"{view.backups_at.isoformat()}. Check the container's backups at STACKS."
                    ),
                    container_id=view.container.id,
                )
                self._cleared.pop(key, None)
                changed = True
            elif age <= max_age:
                changed = self._clear([key], view.backups_at) or changed
        gone = [key for key in self._open if key[0] == BACKUP_STALE and key[1] not in present]
        # An adopted alert of a container this fleet does not hold may be another daemon's
        # (an Alertmanager shared by two accounts): left to end at its own endsAt, or to
        # that daemon, never resolved from here.
        self._forget_adopted([key for key in gone if key in self._adopted])
        return self._clear([key for key in gone if key in self._open], now) or changed

    def _forget_adopted(self, keys: Iterable[Key]) -> None:
        for key in keys:
            self._open.pop(key, None)
            self._adopted.discard(key)

    def adopt(self, conditions: Iterable[Condition]) -> bool:
        """Open conditions another process opened and this one has no evidence of yet (the
        stale-backup alerts Alertmanager still holds); one open here already is kept as it
        is. `observe_backups` then keeps or clears each as if this process had opened it.
        True when one opened."""
        changed = False
        for condition in conditions:
            if condition.key not in self._open:
                self._open[condition.key] = condition
                self._cleared.pop(condition.key, None)
                self._adopted.add(condition.key)
                changed = True
        return changed

    def alerts(self, now: datetime) -> list[Condition]:
        """Firing conditions, then those cleared within RESOLVED_KEPT of `now`."""
        for key, condition in list(self._cleared.items()):
            if condition.ended_at is not None and now - condition.ended_at > RESOLVED_KEPT:
                del self._cleared[key]
        return [*self._open.values(), *self._cleared.values()]

    def firing(self) -> list[Condition]:
        return list(self._open.values())

    def _open_one(
        self, rule: ConditionRule, container: str, action: str, row: Mapping[str, Any], at: datetime
    ) -> bool:
        alertname, action = rule.name, action if rule.per_action else ""
        key = (alertname, container, action)
        if key in self._open:
            return False
        reason = row.get("reason") or row.get("error") or ""
        self._open[key] = Condition(
            alertname,
            container,
            action,
            started_at=at,
            summary=_summary(alertname, container, action),
            description=(
                f"audit row {row.get('id')} ({row.get('actor')}, action_id "
                f"{row.get('action_id')}): {reason}".rstrip(": ")
            ),
            container_id=row.get("container_id"),
            audit_id=row.get("id"),
        )
        self._cleared.pop(key, None)
        return True

    def _clear(self, keys: Iterable[Key], at: datetime) -> bool:
        changed = False
        for key in keys:
            condition = self._open.pop(key, None)
            self._adopted.discard(key)
            if condition is not None:
                self._cleared[key] = replace(condition, ended_at=max(at, condition.started_at))
                changed = True
        return changed


def _summary(alertname: str, container: str, action: str) -> str:
    if alertname == GAVE_UP:
        return f"stacks-opsd gave up restarting {container}; it needs a human"
    if alertname == ABORTED:
        return f"{action} of {container} was aborted; nothing was changed"
    return f"{action} of {container} has an unknown outcome; check the container at STACKS"


def _moment(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
