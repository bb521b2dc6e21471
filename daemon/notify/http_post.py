"""Posting a notification to an HTTP receiver, with its failures translated once into SinkErrors.

    poster = HttpPoster(sink_name, url, timeout_seconds, headers)
    receipt = poster.post(body_bytes, extra_headers)   # Receipt, or a SinkError subclass

Any 2xx is success: receivers answer "ok", `{"success": true}` or nothing, and
their body is returned shortened in the Receipt (`notify test` prints it). Other
statuses are SinkRejected; no connection is SinkUnreachable; no answer in time
is SinkTimeout; an answer that is not HTTP is SinkBadAnswer. Redirects are not
followed (a receiver that moved should be reconfigured, not guessed). The URL is
shown without its query string or password: incoming-webhook URLs carry secrets
in their path, so messages show only the scheme, host and port.
"""

from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from daemon import __version__
from daemon.notify.sink import (
    Receipt,
    SinkBadAnswer,
    SinkConfigError,
    SinkRejected,
    SinkTimeout,
    SinkUnreachable,
)
from daemon.secret_file import SecretFileError, read_secret_file
from daemon.secrets import redact_text

ANSWER_SHOWN = 500
USER_AGENT = f"stacks-opsd/{__version__}"


def receiver_of(url: str) -> str:
    """The URL's scheme, host and port: safe to show (webhook paths hold tokens)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def shortened(text: str) -> str:
    text = redact_text(text.strip())
    return text if len(text) <= ANSWER_SHOWN else text[: ANSWER_SHOWN - 3] + "..."


class HttpPoster:
    """POSTs JSON bodies to one receiver, bounded by `timeout` seconds per attempt."""

    def __init__(
        self, sink: str, url: str, timeout: float, headers: Mapping[str, str] | None = None
    ) -> None:
        self._sink = sink
        self._url = url
        self._where = receiver_of(url)
        self._client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT, **(headers or {})},
        )

    def post(self, body: bytes, headers: Mapping[str, str] | None = None) -> Receipt:
        what = f"notification sink {self._sink}: {self._where}"
        try:
            response = self._client.post(
                self._url,
                content=body,
                headers={"Content-Type": "application/json", **(headers or {})},
            )
        except httpx.TimeoutException as exc:
            raise SinkTimeout(
                f"{what} did not answer in time ({type(exc).__name__}); check that the "
                "receiver is up, or raise the sink's timeout"
            ) from exc
        except (httpx.ConnectError, httpx.UnsupportedProtocol) as exc:
            raise SinkUnreachable(
                f"{what} cannot be reached ({shortened(str(exc)) or type(exc).__name__}); "
                "check the url and that the receiver is listening"
            ) from exc
        except httpx.HTTPError as exc:
            raise SinkBadAnswer(
                f"{what} answered something that is not HTTP "
                f"({shortened(str(exc)) or type(exc).__name__}); check the url's port and scheme"
            ) from exc
        answer = shortened(response.text)
        if not response.is_success:
            raise SinkRejected(
                f"{what} answered HTTP {response.status_code}: {answer or '(no body)'}; "
                "the notification is retried with backoff",
                status=response.status_code,
                answer=answer,
            )
        return Receipt(status=response.status_code, answer=answer)

    def close(self) -> None:
        self._client.close()


def read_setting_file(sink: str, key: str, path: str) -> str:
    """The text of a file named by a sink setting (a secret, a header value)."""
    try:
        return read_secret_file(path).text
    except SecretFileError as error:
        raise SinkConfigError(
            f"notification sink {sink}: {key}: {error} (relative paths start at the config file)"
        ) from None


def headers_from_files(sink: str, headers_files: Mapping[str, str]) -> dict[str, str]:
    """Header name -> value read from its file."""
    return {
        name: read_setting_file(sink, f"headers_files.{name}", path)
        for name, path in headers_files.items()
    }
