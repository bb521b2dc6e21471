"""The Alertmanager feed: conditions pushed to `POST /api/v2/alerts`, re-sent while they hold.

    feed = AlertmanagerFeed("http://127.0.0.1:9093", "http://opsd:9847/status", clock, post)
    feed.on_row(row)            # an audit row: push at once if an alert opened or cleared
    feed.on_backups(views, max_age)
    feed.tick()                 # after each delivery pass: re-send every RESEND_INTERVAL
    feed.recall(rows)           # fold rows not sent through on_row, push at the next call
    feed.adopt(firing_stale_conditions(answer))   # GET FIRING_STALE_QUERY's answer, at start

Alertmanager resolves an alert by itself at its `endsAt`. A firing alert is sent
with `endsAt` = now + 4 x RESEND_INTERVAL and re-sent every RESEND_INTERVAL (as
Prometheus does), so it holds while the daemon keeps sending it, and resolves
within 4 minutes of the daemon stopping for good (the StacksOpsdDown alert covers
that). A cleared condition is sent with `endsAt` = when it cleared, again on every
re-send for 15 minutes, so a lost push of the resolution is repeated.

Audit rows tell a new process (a restart, a takeover) which of their alerts are
still open; backup lists do not until it has read them, which at a thousand
containers takes tens of minutes. So when it starts delivering it asks
Alertmanager for the stale-backup alerts it still holds (`FIRING_STALE_QUERY`:
firing, silenced or inhibited, with exactly the labels this daemon sends) and
adopts them with their `startsAt` and annotations (`firing_stale_conditions`): they
are re-sent as before, not left to run out at their `endsAt`, until a list read
keeps or clears them (daemon/alertmanager/conditions.py).

`post(url, body)` sends the JSON bytes and raises on failure (the notification
sink's poster: its SinkError tells the delivery worker to retry); the feed only
records a push as done when `post` returns.
"""

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from daemon.alertmanager.conditions import BACKUP_STALE, SEVERITY, Condition, Conditions
from daemon.clock import Clock
from daemon.snapshot import ContainerView
from policies import MaxAge

RESEND_INTERVAL = timedelta(minutes=1)
FIRING_FOR = 4 * RESEND_INTERVAL
ALERTS_PATH = "/api/v2/alerts"
TEST_ALERT = "StacksOpsdNotifyTest"
TEST_FIRING_FOR = timedelta(minutes=5)

# The query of `GET /api/v2/alerts` that reads back the stale-backup alerts Alertmanager
# holds: all of them but resolved ones (a silenced or inhibited one runs out at its endsAt too).
FIRING_STALE_QUERY = (
    ("filter", f'alertname="{BACKUP_STALE}"'),
    ("filter", f'severity="{SEVERITY[BACKUP_STALE]}"'),
    ("active", "true"),
    ("silenced", "true"),
    ("inhibited", "true"),
    ("unprocessed", "true"),
)

Post = Callable[[str, bytes], Any]


def alerts_url(url: str) -> str:
    """The alerts endpoint of an Alertmanager given by its base URL (or the endpoint itself)."""
    url = url.rstrip("/")
    return url if url.endswith(ALERTS_PATH) else url + ALERTS_PATH


def alert_payload(condition: Condition, generator_url: str, instance: str, now: datetime) -> dict:
    """One alert as Alertmanager's API v2 takes it."""
    ends_at = condition.ended_at or now + FIRING_FOR
    annotations = {
        "summary": condition.summary,
        "description": condition.description,
        "instance": instance,
    }
    if condition.container_id:
        annotations["container_id"] = condition.container_id
    if condition.audit_id is not None:
        annotations["audit_id"] = str(condition.audit_id)
    return {
        "labels": condition.labels,
        "annotations": annotations,
        "startsAt": _iso(condition.started_at),
        "endsAt": _iso(ends_at),
        "generatorURL": generator_url,
    }


def firing_stale_conditions(answer: bytes) -> list[Condition]:
    """The stale-backup conditions in Alertmanager's answer to FIRING_STALE_QUERY, as they
    were pushed (`alert_payload` read backwards): alerts with other labels than this daemon
    sends, or without a start, are not its own and are left out. ValueError: the answer
    is not a JSON list."""
    try:
        alerts = json.loads(answer)
    except ValueError:  # not JSON, or not UTF-8
        alerts = None
    if not isinstance(alerts, list):
        raise ValueError("its answer is not a JSON list of alerts")
    conditions = (_stale_condition(alert) for alert in alerts if isinstance(alert, dict))
    return [condition for condition in conditions if condition is not None]


def _stale_condition(alert: dict[str, Any]) -> Condition | None:
    labels, annotations = alert.get("labels"), alert.get("annotations") or {}
    if not isinstance(labels, dict) or not isinstance(annotations, dict):
        return None
    try:
        started_at = datetime.fromisoformat(str(alert.get("startsAt")))
    except ValueError:
        return None
    if started_at.tzinfo is None:
        return None
    condition = Condition(
        BACKUP_STALE,
        str(labels.get("container", "")),
        "",
        started_at=started_at,
        summary=str(annotations.get("summary", "")),
        description=str(annotations.get("description", "")),
        container_id=str(annotations.get("container_id", "")) or None,
    )
    return condition if condition.container and condition.labels == labels else None


class AlertmanagerFeed:
    """Keeps Alertmanager's view of the conditions current (one thread calls it)."""

    def __init__(
        self,
        url: str,
        generator_url: str,
        clock: Clock,
        post: Post,
        *,
        instance: str = "",
        conditions: Conditions | None = None,
    ) -> None:
        self.url = alerts_url(url)
        self.generator_url = generator_url
        self._clock = clock
        self._post = post
        self.instance = instance
        self.conditions = conditions or Conditions()
        self._last_push: datetime | None = None
        self._dirty = False  # a change not yet pushed (a failed push)

    def on_row(self, row: dict[str, Any]) -> int:
        """Fold one audit row; push when an alert opened or cleared (or an earlier push
        failed). Returns the number of alerts pushed (0: nothing to say)."""
        if self.conditions.observe(row) or self._dirty:
            return self.push()
        return 0

    def recall(self, rows: Iterable[dict[str, Any]]) -> int:
        """Fold rows without pushing: rows delivered before this feed existed (a restart, a
        takeover), or rows the stream summarized instead of sending; the next `on_row`,
        `on_backups` or `tick` pushes what is listed. Returns how many alerts are firing."""
        for row in rows:
            self.conditions.observe(row)
        if self.conditions.alerts(self._clock.now()):
            self._dirty = True
        return len(self.conditions.firing())

    def adopt(self, conditions: Iterable[Condition]) -> int:
        """Open conditions an earlier process left firing in Alertmanager, without pushing;
        the next `on_row`, `on_backups` or `tick` re-sends them. Returns how many are firing."""
        if self.conditions.adopt(conditions):
            self._dirty = True
        return len(self.conditions.firing())

    def on_backups(self, views: Iterable[ContainerView], max_age: MaxAge) -> int:
        """Fold the backup lists as last read; push when an alert opened or cleared."""
        if self.conditions.observe_backups(views, max_age, self._clock.now()) or self._dirty:
            return self.push()
        return 0

    def tick(self) -> int:
        """Re-send when RESEND_INTERVAL has passed since the last push and anything is listed."""
        now = self._clock.now()
        due = self._last_push is None or now - self._last_push >= RESEND_INTERVAL
        if (due or self._dirty) and self.conditions.alerts(now):
            return self.push()
        return 0

    def push(self) -> int:
        """Send every listed alert now; raises what `post` raises (then retried later)."""
        now = self._clock.now()
        alerts = [
            alert_payload(condition, self.generator_url, self.instance, now)
            for condition in self.conditions.alerts(now)
        ]
        if not alerts:
            self._dirty = False
            return 0
        self._dirty = True
        self._post(self.url, json.dumps(alerts).encode())
        self._dirty = False
        self._last_push = now
        return len(alerts)


def test_alert(generator_url: str, instance: str, now: datetime) -> bytes:
    """The body `notify test` pushes: one TEST_ALERT, firing for TEST_FIRING_FOR."""
    alert = {
        "labels": {"alertname": TEST_ALERT, "container": "example", "severity": "none"},
        "annotations": {
            "summary": "a test alert from `stacks-opsd notify test`; it ends by itself",
            "instance": instance,
        },
        "startsAt": _iso(now),
        "endsAt": _iso(now + TEST_FIRING_FOR),
        "generatorURL": generator_url,
    }
    return json.dumps([alert]).encode()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
