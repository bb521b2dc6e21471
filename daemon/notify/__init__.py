"""Notifications: the audit log delivered, at least once and in order, to webhooks, files and
Alertmanager.

The audit table is the outbox: each sink keeps a cursor in the audit database
(`notify_cursor`), and while this instance leads, one worker thread per sink
sends the rows after it, retries with jittered backoff, and counts rows too old
to send one by one in an audited summary. Actions never wait for a sink.

Its modules (other packages and the tests import the names below, never a module):

- sink.py: the `Sink` interface every kind implements, `Notification`, `Receipt`,
  `DeliveryResult` and the `SinkError` tree.
- settings.py: `NotifyConfig`, one `[[notify]]` table, its rules and row filter.
- message.py: a Notification of an audit row (daemon.audit's `row_document`) and one
  human sentence about it.
- http_post.py: POSTing to an HTTP receiver, failures translated into SinkErrors.
- webhook.py, slack.py, jsonl.py, alertmanager.py: the sink kinds (the last over
  daemon.alertmanager's feed); sinks.py: kind -> class.
- delivery.py: `DeliveryWorker` (one sink's stream) and `Notifications` (all of them).
"""

from daemon.notify.alertmanager import AlertmanagerSink
from daemon.notify.delivery import (
    BATCH,
    NOTIFY_ACTOR,
    RETRY_INITIAL,
    RETRY_MAX,
    DeliveryWorker,
    Notifications,
    retry_delay,
)
from daemon.notify.http_post import HttpPoster, headers_from_files, read_setting_file
from daemon.notify.jsonl import JsonLinesSink, json_line
from daemon.notify.message import notification_of, sample_notification, summarize
from daemon.notify.settings import NOTIFY_RULES, SINK_KINDS, STDOUT, NotifyConfig
from daemon.notify.sink import (
    DeliveryResult,
    Notification,
    Receipt,
    Sink,
    SinkBadAnswer,
    SinkConfigError,
    SinkDeadLetter,
    SinkEnvironment,
    SinkError,
    SinkRejected,
    SinkTimeout,
    SinkUnreachable,
)
from daemon.notify.sinks import SINK_CLASSES, build_sink, build_sinks
from daemon.notify.slack import SlackSink, slack_payload
from daemon.notify.webhook import SIGNATURE_HEADER, WebhookSink, signature, webhook_body

__all__ = [
    "BATCH",
    "NOTIFY_ACTOR",
    "NOTIFY_RULES",
    "RETRY_INITIAL",
    "RETRY_MAX",
    "SIGNATURE_HEADER",
    "SINK_CLASSES",
    "SINK_KINDS",
    "STDOUT",
    "AlertmanagerSink",
    "DeliveryResult",
    "DeliveryWorker",
    "HttpPoster",
    "JsonLinesSink",
    "Notification",
    "Notifications",
    "NotifyConfig",
    "Receipt",
    "Sink",
    "SinkBadAnswer",
    "SinkConfigError",
    "SinkDeadLetter",
    "SinkEnvironment",
    "SinkError",
    "SinkRejected",
    "SinkTimeout",
    "SinkUnreachable",
    "SlackSink",
    "WebhookSink",
    "build_sink",
    "build_sinks",
    "headers_from_files",
    "json_line",
    "notification_of",
    "read_setting_file",
    "retry_delay",
    "sample_notification",
    "signature",
    "slack_payload",
    "summarize",
    "webhook_body",
]
