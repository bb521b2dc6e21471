"""The Slack-compatible incoming-webhook sink (also Mattermost and Rocket.Chat).

    POST <incoming webhook url>
    {"text": "restart of web succeeded (policy:auto_restart): status error",
     "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*restart ...*"}},
                {"type": "context", "elements": [{"type": "mrkdwn",
                 "text": "audit row 42 · action 9f2c... · instance host:123"}]}]}

`text` carries the whole message (Mattermost and Rocket.Chat show it and ignore
`blocks`; Slack uses it for notifications and shows the blocks). `&`, `<` and
`>` are escaped as Slack asks. The incoming-webhook URL is itself the secret:
keep it in the config file's permissions or pass it in a header file's stead.
"""

import json

from daemon.notify.http_post import HttpPoster, headers_from_files
from daemon.notify.settings import NotifyConfig
from daemon.notify.sink import Notification, Receipt, Sink, SinkEnvironment


def escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(notification: Notification) -> dict:
    row = notification.row
    text = escaped(notification.summary)
    context = f"audit row {row['id']} · action {row.get('action_id')} · {row.get('instance')}"
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{text}*"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": escaped(context)}]},
        ],
    }


class SlackSink(Sink):
    kind = "slack"

    def __init__(self, settings: NotifyConfig, environment: SinkEnvironment | None = None) -> None:
        super().__init__(settings, environment)
        self._poster = HttpPoster(
            settings.url,
            settings.timeout.total_seconds(),
            headers_from_files(settings.name, settings.headers_files),
        )

    def send(self, notification: Notification) -> Receipt:
        body = json.dumps(slack_payload(notification), ensure_ascii=False).encode("utf-8")
        return self._poster.post(body)

    def close(self) -> None:
        self._poster.close()
