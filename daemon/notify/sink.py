"""The Sink interface: what every notification receiver (webhook, Slack, file) implements.

The audit table is the outbox. A delivery worker (delivery.py) reads the audit
rows after its sink's cursor, in id order, and hands each row that passes the
sink's filters to `Sink.send` as a `Notification`. When `send` returns, the row
counts as delivered and the cursor moves past it; when it raises a `SinkError`,
the same row is sent again after a backoff, unless the receiver refused that row
for good (`SinkDeadLetter`): then it is logged, counted and passed over. So a sink
sees every row at least once and in audit order, and must tolerate repeats
(receivers drop duplicates by `row["id"]` or `row["action_id"]`).

A sink kind is one class:

    class WebhookSink(Sink):
        kind = "webhook"

        def __init__(self, settings: NotifyConfig) -> None: ...   # read secret files here
        def send(self, notification: Notification) -> Receipt: ...
        def tick(self) -> None: ...        # optional: called after every pass
        def close(self) -> None: ...       # optional: release connections and files

        # optional, for a sink that keeps state (Alertmanager's open alerts):
        def resume(self, audit: AuditStore, cursor: int) -> None: ...
        def passed_over(self, notifications: Iterable[Notification]) -> None: ...
        def observe_backups(self, views, max_age: MaxAge) -> None: ...

and one line in `SINK_CLASSES` (sinks.py). `send` is called from the sink's own
worker thread only, never concurrently, and never on an action's path: a slow
or dead receiver delays nothing but its own stream. It must bound its own waits
(`settings.timeout`) and report failures as a `SinkError` subclass, translated
once from the transport (`raise SinkTimeout(...) from exc`):

    SinkError            the receiver did not take the notification; retried with backoff
    ├── SinkTimeout      no answer within the sink's timeout          result "timeout"
    ├── SinkUnreachable  no connection (refused, DNS, unwritable file) result "unreachable"
    ├── SinkRejected     an answer that says no (HTTP 5xx, 4xx, 3xx)  result "rejected"
    │   └── SinkDeadLetter  a refusal of this notification itself     result "rejected"
    │                    (HTTP 400, 413, 415, 422): not retried; the worker logs it
    │                    and goes on with the next row
    └── SinkBadAnswer    an answer that is not HTTP or not readable   result "bad_answer"

Each error's `result` is the `result` label of `stacks_opsd_notifications_total`.
Messages say what failed and what to check, never a secret (the store's redaction
applies to them too, as they may end up in logs and audit rows); they do not name
the sink: the worker's log lines and `notify test` put its name before them, once.

`tick()` lets a sink act on time rather than rows (Alertmanager re-sends firing
alerts); it runs on the same thread, after every pass that ended without a failure,
whether it sent rows or not.
`resume(audit, cursor)` runs on that thread too, each time this instance starts
delivering (at start and after a takeover), before the first row after `cursor`:
a sink whose state depends on rows it was sent before (alerts still open) rebuilds
it from the audit log there; an AuditError it raises is retried like a failed pass.
`passed_over(notifications)` runs on that thread too, with the rows the stream summarized
instead of sending (older than `summarize_after`; the ones the sink's filters want,
oldest first, a batch at a time, just before the summary moves the cursor past them):
a sink whose state depends on the rows folds them in as it would sent rows, without
sending each (no I/O; it may see a row again, as `send` may).
`observe_backups(views, max_age)` is called by the leader after each backup-list
refresh (`max_age(view)`: that container's `backup_freshness.max_age`, its
overrides applied), on the refresh's thread: it must only hand the lists over (no I/O) and
let its own thread act on them.

`SinkEnvironment` is what the daemon tells every sink about itself: its instance
name, the URL of its /status page, its clock.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from daemon.audit import AuditStore
from daemon.clock import Clock, SystemClock
from daemon.notify.settings import NotifyConfig
from daemon.snapshot import ContainerView
from policies import MaxAge

DEFAULT_STATUS_URL = "http://127.0.0.1:9847/status"  # the default `daemon.listen`, no TLS


class DeliveryResult(StrEnum):
    """The `result` label of `stacks_opsd_notifications_total{sink,result}`."""

    DELIVERED = "delivered"  # the receiver took it
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    REJECTED = "rejected"
    BAD_ANSWER = "bad_answer"
    SUMMARIZED = "summarized"  # too old to send one by one: counted in a summary row instead


@dataclass(frozen=True)
class Notification:
    """One audit row for a sink: `row` is its JSON document (every column, `details` parsed,
    `at` in ISO 8601 UTC, with `hash` and `prev_hash`), `summary` one human sentence."""

    row: Mapping[str, Any]
    summary: str

    @property
    def id(self) -> int:
        return int(self.row["id"])


@dataclass(frozen=True)
class Receipt:
    """What the receiver answered: an HTTP status (None for a file) and its answer, shortened."""

    status: int | None
    answer: str


class SinkConfigError(Exception):
    """A sink cannot be built from its settings (an unreadable secret file, ...)."""


class SinkError(Exception):
    """The sink did not take the notification; the worker retries it after a backoff."""

    result: ClassVar[DeliveryResult] = DeliveryResult.UNREACHABLE

    def __init__(self, message: str, *, status: int | None = None, answer: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.answer = answer


class SinkTimeout(SinkError):
    result = DeliveryResult.TIMEOUT


class SinkUnreachable(SinkError):
    result = DeliveryResult.UNREACHABLE


class SinkRejected(SinkError):
    result = DeliveryResult.REJECTED


class SinkDeadLetter(SinkRejected):
    """The receiver refuses this notification for good (HTTP 400, 413, 415, 422):
    sending it again would get the same answer, so the worker passes over it."""


class SinkBadAnswer(SinkError):
    result = DeliveryResult.BAD_ANSWER


@dataclass(frozen=True)
class SinkEnvironment:
    """What the daemon tells a sink about itself (`notify test` and tests use the defaults)."""

    instance: str = ""  # this process, e.g. "host:1234": shown in alerts' annotations
    status_url: str = DEFAULT_STATUS_URL  # this daemon's /status page (DaemonConfig.status_url)
    clock: Clock = field(default_factory=SystemClock)


class Sink(ABC):
    """A notification receiver; subclasses set `kind` and implement `send`."""

    kind: ClassVar[str]

    def __init__(self, settings: NotifyConfig, environment: SinkEnvironment | None = None) -> None:
        """Read what the sink needs (secret and header files) now: a missing file is a
        SinkConfigError at start, not a failure at the first delivery."""
        self.settings = settings
        self.name = settings.name
        self.environment = environment or SinkEnvironment()

    @abstractmethod
    def send(self, notification: Notification) -> Receipt:
        """Deliver one notification or raise a SinkError; bounded by the sink's timeout."""

    def tick(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Called after every pass that ended without a failure (time-based re-sends)."""

    def resume(self, audit: AuditStore, cursor: int) -> None:  # noqa: B027 - optional hook
        """This instance starts delivering after row `cursor`: rebuild any state earlier rows
        gave the sink (a bounded read of `audit`)."""

    def passed_over(  # noqa: B027 - optional hook, nothing to do by default
        self, notifications: Iterable[Notification]
    ) -> None:
        """Rows summarized instead of sent, oldest first: fold them into any state (no I/O)."""

    def observe_backups(  # noqa: B027 - optional hook, nothing to do by default
        self, views: Iterable[ContainerView], max_age: MaxAge
    ) -> None:
        """The backup lists as just read (the leader's refresh thread): hand them over only."""

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Release connections and files."""
