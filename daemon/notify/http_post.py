"""Posting a notification to an HTTP receiver, with its failures translated once into SinkErrors.

    poster = HttpPoster(sink_name, url, timeout_seconds, headers)
    receipt = poster.post(body_bytes, extra_headers)   # Receipt, or a SinkError subclass

Any 2xx is success: receivers answer "ok", `{"success": true}` or nothing, and
their body is returned shortened in the Receipt (`notify test` prints it). A 4xx
other than 408 and 429 refuses this notification for good (SinkDeadLetter: sending
it again would get the same answer); other statuses (5xx, 408, 429, 3xx) are
SinkRejected, retried; no connection is SinkUnreachable; no answer in time
is SinkTimeout; an answer that is not HTTP is SinkBadAnswer. Redirects are not
followed (a receiver that moved should be reconfigured, not guessed). The URL is
shown without its query string or password: incoming-webhook URLs carry secrets
in their path, so messages show only the scheme, host and port (`mask_url_path`).

Whatever a receiver answers is shown without the poster's own secrets: a receiver
that refuses a request may echo it, headers and URL included. Its header values,
the URL's password, path and query, and each long part of them (a bearer token
without its `Bearer `, a webhook path's token) are replaced before `redact_text`
runs. Header values come from files and must be printable ASCII, as HTTP wants;
another character is a SinkConfigError naming the file, never its content.
"""

import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

import httpx

from daemon import __version__
from daemon.notify.sink import (
    Receipt,
    SinkBadAnswer,
    SinkConfigError,
    SinkDeadLetter,
    SinkRejected,
    SinkTimeout,
    SinkUnreachable,
)
from daemon.secret_file import SecretFileError, read_secret_file
from daemon.secrets import REDACTED, mask_url_path, redact_text

ANSWER_SHOWN = 500
# 4xx answers that say "not now" rather than "never": Request Timeout, Too Many Requests.
RETRYABLE_4XX = frozenset({408, 429})
USER_AGENT = f"stacks-opsd/{__version__}"
# A secret shorter than this is not hidden on its own (it would blank common words), nor
# a part of one shorter than SECRET_PART (a token is long; `Bearer` and `services` are not).
SECRET_WHOLE, SECRET_PART = 4, 10
_PARTS = re.compile(r"[\s/?&=;:,]+")
# What a header value may hold: printable ASCII, spaces and tabs (RFC 9110 field-value).
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")


def _own_secrets(url: str, header_values: Iterable[str]) -> tuple[str, ...]:
    """What a poster never shows: its header values, the URL's password, path and query,
    and their long parts; longest first, so that a part never splits a whole."""
    try:
        parts = urlsplit(url)
        secrets = [parts.password or "", parts.path + (f"?{parts.query}" if parts.query else "")]
    except ValueError:  # an unclosed [IPv6: all of it
        secrets = [url]
    wholes = {secret for secret in [*secrets, *header_values] if len(secret) >= SECRET_WHOLE}
    pieces = {piece for whole in wholes for piece in _PARTS.split(whole)}
    return tuple(
        sorted(wholes | {p for p in pieces if len(p) >= SECRET_PART}, key=len, reverse=True)
    )


class HttpPoster:
    """POSTs JSON bodies to one receiver, bounded by `timeout` seconds per attempt."""

    def __init__(
        self, sink: str, url: str, timeout: float, headers: Mapping[str, str] | None = None
    ) -> None:
        headers = dict(headers or {})
        self._sink = sink
        self._url = url
        self._where = mask_url_path(url)
        self._secrets = _own_secrets(url, headers.values())
        self._client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT, **headers},
        )

    def _shown(self, text: str) -> str:
        """Text from the receiver or the transport, without any secret, shortened."""
        text = text.strip()
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        text = redact_text(text)
        return text if len(text) <= ANSWER_SHOWN else text[: ANSWER_SHOWN - 3] + "..."

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
                f"{what} cannot be reached ({self._shown(str(exc)) or type(exc).__name__}); "
                "check the url and that the receiver is listening"
            ) from exc
        except httpx.HTTPError as exc:
            raise SinkBadAnswer(
                f"{what} answered something that is not HTTP "
                f"({self._shown(str(exc)) or type(exc).__name__}); check the url's port and scheme"
            ) from exc
        answer = self._shown(response.text)
        status = response.status_code
        if response.is_client_error and status not in RETRYABLE_4XX:
            raise SinkDeadLetter(
                f"{what} answered HTTP {status}: {answer or '(no body)'}; it refuses this "
                "notification for good, so it is not sent again",
                status=status,
                answer=answer,
            )
        if not response.is_success:
            raise SinkRejected(
                f"{what} answered HTTP {status}: {answer or '(no body)'}; "
                "the notification is retried with backoff",
                status=status,
                answer=answer,
            )
        return Receipt(status=status, answer=answer)

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
    """Header name -> value read from its file; SinkConfigError if a value is not one an
    HTTP header can carry (the message gives where, never the value)."""
    headers = {}
    for name, path in headers_files.items():
        key = f"headers_files.{name}"
        value = read_setting_file(sink, key, path)
        bad = _HEADER_VALUE.match(value).end()
        if bad < len(value):
            raise SinkConfigError(
                f"notification sink {sink}: {key}: {path} holds a character an HTTP header "
                f"cannot carry (character {bad + 1} is not printable ASCII); write the value "
                "in ASCII, encoded as the receiver expects (relative paths start at the "
                "config file)"
            )
        headers[name] = value
    return headers
