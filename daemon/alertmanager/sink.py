"""The `kind = "alertmanager"` notification sink: audit rows into the AlertmanagerFeed.

It needs the notification package (daemon.notify, branch i13-delivery), so this
module is not imported by `daemon.alertmanager`'s face. After the merge, add it to
`SINK_CLASSES` in daemon/notify/sinks.py and import it there:

    from daemon.alertmanager.sink import AlertmanagerSink
    SINK_CLASSES = {cls.kind: cls for cls in (WebhookSink, SlackSink, JsonLinesSink,
                                              AlertmanagerSink)}

`send` folds each row into the conditions and pushes when an alert opened or
cleared; `idle` re-sends every minute while any alert is listed. Posting goes
through the notification package's HttpPoster, so a failed push is a SinkError:
the worker retries the row, and the feed pushes again (observing a row twice
changes nothing).
"""

from datetime import timedelta

from daemon.alertmanager.feed import AlertmanagerFeed, alerts_url
from daemon.clock import Clock, SystemClock
from daemon.notify import (
    HttpPoster,
    Notification,
    NotifyConfig,
    Receipt,
    Sink,
    headers_from_files,
)

DEFAULT_GENERATOR_URL = "http://127.0.0.1:9847/status"


class AlertmanagerSink(Sink):
    kind = "alertmanager"

    def __init__(
        self,
        settings: NotifyConfig,
        *,
        generator_url: str = DEFAULT_GENERATOR_URL,
        instance: str = "",
        clock: Clock | None = None,
    ) -> None:
        super().__init__(settings)
        headers = headers_from_files(settings.name, settings.headers_files)
        self._poster = HttpPoster(
            settings.name, alerts_url(settings.url), settings.timeout.total_seconds(), headers
        )
        self.feed = AlertmanagerFeed(
            settings.url,
            generator_url,
            clock or SystemClock(),
            lambda _url, body: self._poster.post(body),
            instance=instance,
        )

    def send(self, notification: Notification) -> Receipt:
        pushed = self.feed.on_row(dict(notification.row))
        return Receipt(status=None, answer=f"{pushed} alerts pushed" if pushed else "no change")

    def idle(self) -> None:
        self.feed.tick()

    def observe_backups(self, views, max_age: timedelta) -> None:
        """Stale backups come from the snapshot, not from rows: the daemon calls this after
        each backup-list refresh (wiring still to do, see the README)."""
        self.feed.on_backups(views, max_age)

    def close(self) -> None:
        self._poster.close()
