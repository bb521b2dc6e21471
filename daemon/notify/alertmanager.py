"""The `kind = "alertmanager"` sink: audit rows and backup lists into the AlertmanagerFeed.

    [[notify]]
    name = "alertmanager"
    kind = "alertmanager"
    url = "http://127.0.0.1:9093"            # the Alertmanager (or its /api/v2/alerts)
    generator_url = ""                        # "": this daemon's /status (daemon.listen, TLS)

The sink is the state the feed needs, kept on the sink's own delivery thread:

- `send` folds each audit row into the open conditions (daemon.alertmanager) and
  pushes at once when an alert opened or cleared; `tick` re-sends every minute
  while anything is listed, so Alertmanager's `endsAt` never runs out on a
  condition that still holds.
- `observe_backups` is called by the leader after each backup-list refresh: it
  only keeps the newest lists (a reference, under a lock); the sink folds them on
  its own thread at its next `send` or `tick`, so a slow Alertmanager never slows
  a refresh.
- `resume` runs each time this instance starts delivering (start, takeover): the
  conditions open at the cursor are rebuilt from the audit log, however old (the rows
  about each container name from its earliest open condition's first opening, through
  the cursor: daemon/audit/recall.py), so a container given up before a restart is
  still re-sent with its `startsAt`, not resolved by Alertmanager's timeout. The sink
  takes no row filter but `match` (settings.py), which keeps or drops whole containers,
  so the rows it recalls are those it was sent. Stale backups are not in the audit log,
  and the lists are no evidence until this process has read them (at a thousand
  containers, tens of minutes after a start), so `resume` also reads back from
  Alertmanager the stale-backup alerts it holds (`FIRING_STALE_QUERY`) and adopts
  those of the containers `match` takes: they are re-sent with their `startsAt`
  until the container's list is read (still stale: kept; fresh: resolved). One about a
  container the lists do not have, or have under another id (another account's
  daemon may share the Alertmanager), is dropped unresolved. If Alertmanager cannot
  be read, that is logged
  once per start of delivery and the sink goes on without them: such an alert then
  resolves at its `endsAt` and fires again when its list is read stale.
- The sink's `match` applies to the backup lists too: a container it does not match
  never gets a stale-backup alert from this sink.
- `passed_over` folds the rows the stream summarized instead of sending (Alertmanager
  was down longer than `summarize_after`) the same way, without pushing each: a
  container fixed during the outage is not pushed as firing afterwards, and one given
  up during it is.

Posting goes through the notification package's HttpPoster, so a failed push is a
SinkError: the worker retries the row, and the feed pushes again (observing a row
twice changes nothing). `notify test` (a row with id 0 marked `"test": true`)
pushes one `StacksOpsdNotifyTest` alert, so the route to a receiver can be seen.
"""

import logging
import threading
from collections.abc import Iterable

from daemon.alertmanager import (
    CONDITION_RULES,
    FIRING_STALE_QUERY,
    AlertmanagerFeed,
    alerts_url,
    firing_stale_conditions,
    test_alert,
)
from daemon.audit import AuditStore, is_sample, row_document
from daemon.notify.http_post import HttpPoster, headers_from_files
from daemon.notify.settings import NotifyConfig
from daemon.notify.sink import Notification, Receipt, Sink, SinkEnvironment, SinkError
from daemon.snapshot import ContainerView
from policies import MaxAge

log = logging.getLogger(__name__)


class AlertmanagerSink(Sink):
    kind = "alertmanager"

    def __init__(self, settings: NotifyConfig, environment: SinkEnvironment | None = None) -> None:
        super().__init__(settings, environment)
        headers = headers_from_files(settings.name, settings.headers_files)
        self._poster = HttpPoster(
            alerts_url(settings.url), settings.timeout.total_seconds(), headers
        )
        self._last_receipt: Receipt | None = None
        self.feed = AlertmanagerFeed(
            settings.url,
            settings.generator_url or self.environment.status_url,
            self.environment.clock,
            self._post,
            instance=self.environment.instance,
        )
        self._backups_lock = threading.Lock()
        self._backups: tuple[tuple[ContainerView, ...], MaxAge] | None = None

    def _post(self, _url: str, body: bytes) -> Receipt:
        self._last_receipt = self._poster.post(body)
        return self._last_receipt

    def send(self, notification: Notification) -> Receipt:
        if is_sample(notification.row):
            now = self.environment.clock.now()
            self._post(self.feed.url, test_alert(self.feed.generator_url, self.feed.instance, now))
            assert self._last_receipt is not None
            return self._last_receipt
        self._fold_backups()
        pushed = self.feed.on_row(dict(notification.row))
        return Receipt(status=None, answer=f"{pushed} alerts pushed" if pushed else "no change")

    def tick(self) -> None:
        self._fold_backups()
        self.feed.tick()

    def resume(self, audit: AuditStore, cursor: int) -> None:
        rows = audit.rows_of_open_conditions(CONDITION_RULES, through_id=cursor)
        self.feed.recall(row_document(row) for row in rows if self.settings.wants(row))
        self._adopt_stale_alerts()

    def _adopt_stale_alerts(self) -> None:
        """Adopt the stale-backup alerts Alertmanager holds for the containers `match` takes."""
        try:
            held = firing_stale_conditions(self._poster.get(FIRING_STALE_QUERY))
        except (SinkError, ValueError) as error:
            log.warning(
                "notification sink %s: the stale-backup alerts Alertmanager holds could not "
                "be read back (%s); each is re-sent only once its container's backup list "
                "is read, and may resolve meanwhile",
                self.name,
                error,
            )
            return
        self.feed.adopt(c for c in held if self.settings.wants_container(c.container))

    def passed_over(self, notifications: Iterable[Notification]) -> None:
        self.feed.recall(dict(notification.row) for notification in notifications)

    def observe_backups(self, views: Iterable[ContainerView], max_age: MaxAge) -> None:
        with self._backups_lock:
            self._backups = (tuple(views), max_age)

    def _fold_backups(self) -> None:
        with self._backups_lock:
            backups, self._backups = self._backups, None
        if backups is not None:
            views, max_age = backups
            wanted = [
                view
                for view in views
                if self.settings.wants_container(view.container.name or view.container.id)
            ]
            self.feed.on_backups(wanted, max_age)

    def close(self) -> None:
        self._poster.close()
