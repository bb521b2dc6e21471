"""Posting a notification to an HTTP receiver, with its failures translated once into SinkErrors.

    poster = HttpPoster(url, timeout_seconds, headers)
    receipt = poster.post(body_bytes, extra_headers)   # Receipt, or a SinkError subclass
    body = poster.get([("filter", ...)])   # read back what the receiver holds (Alertmanager)

Any 2xx is success: receivers answer "ok", `{"success": true}` or nothing, and
their body is returned shortened in the Receipt (`notify test` prints it). HTTP 400,
413, 415 and 422 refuse this notification for good (SinkDeadLetter: sending it again
would get the same answer); other statuses (5xx, the other 4xx, 3xx) are
SinkRejected, retried; no connection is SinkUnreachable, and so is a host name
httpx cannot use (an `xn--` label that is not valid punycode: check-config refuses
such a URL); no answer in time is SinkTimeout; an answer that is not HTTP is
SinkBadAnswer. Redirects are not followed (a receiver that moved should be
reconfigured, not guessed). The URL is shown without its query string or password:
incoming-webhook URLs carry secrets in their path, so messages show only the
scheme, host and port (`mask_url_path`).

A `get` (the alertmanager sink reads back the alerts Alertmanager holds when it
starts delivering) goes through the same client, headers, bounds and translation;
any answer but a 2xx is SinkRejected, and its body is taken whole, up to READ_BACK
bytes (more is SinkBadAnswer).

A request is bounded as a whole, not only phase by phase: its connection is cut when
`timeout` seconds have passed since it began, whatever it waits for (a receiver
dripping its answer a byte a second never trips httpx's per-read timeout), and
that is SinkTimeout. Each request opens its own connection (no keep-alive), so the
watchdog knows which socket to cut. Of a post's answer only the first ANSWER_READ
bytes are read (uncompressed: the poster asks for `identity`).

Whatever a receiver answers is shown without the poster's own secrets: a receiver
that refuses a request may echo it, headers and URL included. Its header values,
the URL's password, path and query, and each long part of them (a bearer token
without its `Bearer `, a webhook path's token) are replaced before `redact_text`
runs, on the first REDACTION_WINDOW characters only (its time grows faster than the
text's length; the literal replacements run first, on all of it, so that the cut
never splits one of the poster's secrets). Header values come from files and must
be printable ASCII, as HTTP wants;
another character is a SinkConfigError naming the file, never its content.
"""

import contextlib
import re
import socket
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Self
from urllib.parse import urlsplit

import httpx

from daemon import __version__
from daemon.notify.sink import (
    Receipt,
    SinkBadAnswer,
    SinkConfigError,
    SinkDeadLetter,
    SinkError,
    SinkRejected,
    SinkTimeout,
    SinkUnreachable,
)
from daemon.secret_file import SecretFileError, read_secret_file
from daemon.secrets import REDACTED, mask_url_path, redact_text

ANSWER_SHOWN = 500
ANSWER_READ = 64 * 1024  # bytes of an answer's body read at most; the rest is never fetched
READ_BACK = 16 * 1024 * 1024  # bytes a `get` takes at most (a thousand alerts: under 1 MiB)
REDACTION_WINDOW = 2 * ANSWER_SHOWN  # characters of an answer redact_text scans
# The answers that refuse this notification itself (its body: malformed, too large, of a
# type or content the receiver does not take): sending it again gets the same answer. Any
# other 4xx is about the receiver or its address (a token rotated or revoked, an incoming
# webhook deleted: 401, 403, 404, 410), which every row would get until it is fixed, or
# says "not now" (408, 429): those hold the stream, and its lag alerts.
DEAD_LETTER_STATUSES = frozenset({400, 413, 415, 422})
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


class _Deadline:
    """Cuts one post's connection `seconds` after the post began, whatever it waits for.

    The socket is learned from httpcore's `trace` extension as the connection is opened
    (and again once TLS wraps it), and shut down by a timer thread: a read blocked in
    the posting thread then fails at once."""

    def __init__(self, seconds: float) -> None:
        self.passed = False
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._timer = threading.Timer(seconds, self._pass)
        self._timer.daemon = True

    def __enter__(self) -> Self:
        self._timer.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._timer.cancel()

    def trace(self, event: str, info: Mapping[str, Any]) -> None:
        if event.endswith((".connect_tcp.complete", ".start_tls.complete")):
            opened = info["return_value"].get_extra_info("socket")
            with self._lock:
                self._socket = opened or self._socket
                if self.passed:
                    self._cut()

    def _pass(self) -> None:
        with self._lock:
            self.passed = True
            self._cut()

    def _cut(self) -> None:
        if self._socket is None:
            return  # still connecting: the connect timeout (the same) ends it
        # socket.socket's own shutdown, for a TLS socket too: it wakes the blocked read
        # without touching the TLS state that read is using. OSError: the post ended.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(self._socket, socket.SHUT_RDWR)


def _first_bytes(response: httpx.Response, limit: int) -> bytes:
    """At most `limit` bytes of the response's body, as they arrive; the rest is left unread."""
    kept = bytearray()
    for chunk in response.iter_raw():
        kept += chunk[: limit - len(kept)]
        if len(kept) >= limit:
            break
    return bytes(kept)


class HttpPoster:
    """POSTs JSON bodies to one receiver, each post bounded by `timeout` seconds in all."""

    def __init__(self, url: str, timeout: float, headers: Mapping[str, str] | None = None) -> None:
        headers = dict(headers or {})
        self._url = url
        self._where = mask_url_path(url)
        self._secrets = _own_secrets(url, headers.values())
        self._timeout = timeout
        self._client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            limits=httpx.Limits(max_keepalive_connections=0),
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **headers},
        )

    def _shown(self, text: str) -> str:
        """Text from the receiver or the transport, without any secret, shortened."""
        text = text.strip()
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        window = redact_text(text[:REDACTION_WINDOW])
        if len(window) <= ANSWER_SHOWN and len(text) <= REDACTION_WINDOW:
            return window
        return window[: ANSWER_SHOWN - 3] + "..."

    def post(self, body: bytes, headers: Mapping[str, str] | None = None) -> Receipt:
        status, raw = self._exchange(
            "POST",
            ANSWER_READ,
            content=body,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        answer = self._shown(raw.decode(errors="replace"))
        if status in DEAD_LETTER_STATUSES:
            raise SinkDeadLetter(
                f"{self._where} answered HTTP {status}: {answer or '(no body)'}; it refuses this "
                "notification for good, so it is not sent again",
                status=status,
                answer=answer,
            )
        if not 200 <= status < 300:
            raise SinkRejected(
                f"{self._where} answered HTTP {status}: {answer or '(no body)'}; "
                "the notification is retried with backoff",
                status=status,
                answer=answer,
            )
        return Receipt(status=status, answer=answer)

    def get(self, params: Sequence[tuple[str, str]]) -> bytes:
        """GET the URL with the query `params` (an Alertmanager's alerts, read back): the
        body of a 2xx answer. Fails as a post does; any other status is SinkRejected, an
        answer longer than READ_BACK bytes SinkBadAnswer."""
        status, body = self._exchange(
            "GET", READ_BACK + 1, params=params, headers={"Accept": "application/json"}
        )
        if not 200 <= status < 300:
            answer = self._shown(body.decode(errors="replace"))
            raise SinkRejected(
                f"{self._where} answered HTTP {status}: {answer or '(no body)'}",
                status=status,
                answer=answer,
            )
        if len(body) > READ_BACK:
            raise SinkBadAnswer(f"{self._where} answered more than {READ_BACK} bytes")
        return body

    def _exchange(self, method: str, limit: int, **request: Any) -> tuple[int, bytes]:
        """One request, bounded by the timeout in all: its status and at most `limit` bytes
        of its body, or the SinkError it failed with."""
        try:
            built = self._client.build_request(method, self._url, **request)
        except (httpx.InvalidURL, ValueError) as exc:  # idna's IDNAError is a ValueError
            raise SinkUnreachable(
                f"{self._where} has a host name that cannot be used ({self._shown(str(exc))}); "
                "check the url's host: an xn-- label must be valid punycode"
            ) from exc
        try:
            with _Deadline(self._timeout) as deadline:
                built.extensions["trace"] = deadline.trace
                response = self._client.send(built, stream=True)
                try:
                    return response.status_code, _first_bytes(response, limit)
                finally:
                    response.close()
        except httpx.HTTPError as exc:
            if deadline.passed or isinstance(exc, httpx.TimeoutException):
                why = "its whole answer took longer" if deadline.passed else type(exc).__name__
                raise SinkTimeout(
                    f"{self._where} did not answer in time ({why}); check that the "
                    "receiver is up, or raise the sink's timeout"
                ) from exc
            raise self._failure(exc) from exc

    def _failure(self, exc: httpx.HTTPError) -> SinkError:
        """The SinkError of a request that failed before its deadline."""
        shown = self._shown(str(exc)) or type(exc).__name__
        if isinstance(exc, httpx.ConnectError | httpx.UnsupportedProtocol):
            return SinkUnreachable(
                f"{self._where} cannot be reached ({shown}); "
                "check the url and that the receiver is listening"
            )
        return SinkBadAnswer(
            f"{self._where} answered something that is not HTTP ({shown}); "
            "check the url's port and scheme"
        )

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
