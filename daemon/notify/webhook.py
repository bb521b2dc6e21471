"""The generic webhook sink: the audit row as JSON plus a summary, signed with an HMAC.

    POST <url>
    Content-Type: application/json
    X-Stacks-Opsd-Signature: sha256=<hex HMAC-SHA256 of the body with the secret>
    X-Stacks-Opsd-Row: 42

    {"row": {"id": 42, "action_id": "...", "hash": "...", ...}, "source": "stacks-opsd",
     "summary": "restart of web succeeded (policy:auto_restart): status error"}

The secret comes from `secret_file` (one line); without one, no signature header
is sent. A receiver verifies by computing the HMAC of the raw body it received
and comparing in constant time (`signature(body, secret)` is the reference). It
sees each row at least once, in audit order, and drops repeats by `row.id`.
"""

import hashlib
import hmac
import json

from daemon.notify.http_post import HttpPoster, headers_from_files, read_setting_file
from daemon.notify.settings import NotifyConfig
from daemon.notify.sink import Notification, Receipt, Sink, SinkEnvironment

SIGNATURE_HEADER = "X-Stacks-Opsd-Signature"
ROW_HEADER = "X-Stacks-Opsd-Row"


def signature(body: bytes, secret: str) -> str:
    """The signature header's value: `sha256=` and the hex HMAC-SHA256 of `body`."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def webhook_body(notification: Notification) -> bytes:
    document = {"source": "stacks-opsd", "summary": notification.summary, "row": notification.row}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class WebhookSink(Sink):
    kind = "webhook"

    def __init__(self, settings: NotifyConfig, environment: SinkEnvironment | None = None) -> None:
        super().__init__(settings, environment)
        self._secret = (
            read_setting_file(settings.name, "secret_file", settings.secret_file)
            if settings.secret_file
            else None
        )
        self._poster = HttpPoster(
            settings.url,
            settings.timeout.total_seconds(),
            headers_from_files(settings.name, settings.headers_files),
        )

    def send(self, notification: Notification) -> Receipt:
        body = webhook_body(notification)
        headers = {ROW_HEADER: str(notification.id)}
        if self._secret is not None:
            headers[SIGNATURE_HEADER] = signature(body, self._secret)
        return self._poster.post(body, headers)

    def close(self) -> None:
        self._poster.close()
