"""The HTTP listener on `daemon.listen`: /metrics /healthz /readyz /status, TLS, basic auth.

One ThreadingHTTPServer; /metrics is rendered by prometheus_client's own
exposition code (`choose_encoder` picks the Prometheus text or OpenMetrics
format from the Accept header, gzip when asked). TLS handshakes happen in the
per-connection thread, so a client that connects and stays silent never blocks
the listener. With basic auth, /metrics, /status and everything else except the
probes need `Authorization: Basic`; /healthz and /readyz stay open so
Kubernetes and systemd probes need no password (they reveal only ok/not ok).
The password is compared in constant time and never logged or shown in repr.

A `Listener` is the address, TLS and basic auth, checked and loaded (the certificate
and key read) before anything binds: `run` builds it before it opens the audit
database, and `check-config` builds it to report what `run` would refuse.
`ListenerError` names every problem, one a line, each with its `daemon.*` setting.
"""

import base64
import binascii
import gzip
import hmac
import json
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client.exposition import choose_encoder, gzip_accepted
from prometheus_client.registry import Collector

from daemon.config import split_host_port
from daemon.exporter.health import Health

log = logging.getLogger(__name__)

CONNECTION_TIMEOUT = 30.0  # seconds a client may take to handshake and send its request
SHUTDOWN_POLL = 0.1  # seconds between checks for stop(); bounds how long stop() waits
ENDPOINTS = "/metrics /healthz /readyz /status"
TEXT = "text/plain; charset=utf-8"


class ListenerError(ValueError):
    """The listener cannot be set up as configured; one line per problem."""


class BasicAuth:
    """The one user allowed in; repr and str never show the password."""

    def __init__(self, user: str, password: str) -> None:
        if not user or ":" in user:
            raise ValueError(
                "daemon.basic_auth_user: must be non-empty and must not contain ':' (basic "
                f"auth puts one between the user and the password), got {user!r}"
            )
        if not password:
            raise ValueError(
                f"daemon.basic_auth_password_file: basic auth for user {user!r} needs a "
                "non-empty password"
            )
        self._user = user.encode()
        self._password = password.encode()

    def __repr__(self) -> str:
        return f"BasicAuth(user={self._user.decode()!r}, password=<redacted>)"

    def allows(self, authorization: str | None) -> bool:
        """Constant-time check of an `Authorization: Basic ...` header value."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        user, colon, password = decoded.partition(b":")
        user_ok = hmac.compare_digest(user, self._user)
        password_ok = hmac.compare_digest(password, self._password)
        return bool(colon) and user_ok and password_ok


def tls_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certfile=cert_file, keyfile=key_file)
    except (OSError, ssl.SSLError) as error:
        raise ValueError(
            f"daemon.tls_cert_file, daemon.tls_key_file: cannot load the TLS certificate "
            f"{cert_file!r} with key {key_file!r}: {error}; check both paths are readable PEM "
            "files and that the key matches the certificate"
        ) from error
    return context


@dataclass(frozen=True)
class Listener:
    """Where and how the endpoints are served; build it with `Listener.of`."""

    host: str
    port: int  # 0: a free one, picked when the server starts
    ssl_context: ssl.SSLContext | None = None
    basic_auth: BasicAuth | None = None

    @classmethod
    def of(
        cls,
        listen: str,
        *,
        tls_cert_file: str | None = None,
        tls_key_file: str | None = None,
        basic_auth: tuple[str, str] | None = None,
    ) -> "Listener":
        """The listener on `listen` ("host:port"), with TLS when both files are given (read
        now) and basic auth for (user, password); ListenerError naming every problem."""
        problems = []
        host, port = "", 0
        try:
            host, port = split_host_port(listen)
        except ValueError as error:
            problems.append(f"daemon.listen: {error}")
        context = None
        if bool(tls_cert_file) != bool(tls_key_file):
            problems.append(
                "daemon.tls_cert_file, daemon.tls_key_file: TLS needs both a certificate file "
                "and a key file; set both or neither"
            )
        elif tls_cert_file and tls_key_file:
            try:
                context = tls_context(tls_cert_file, tls_key_file)
            except ValueError as error:
                problems.append(str(error))
        auth = None
        if basic_auth is not None:
            try:
                auth = BasicAuth(*basic_auth)
            except ValueError as error:
                problems.append(str(error))
        if problems:
            raise ListenerError("\n".join(problems))
        return cls(host, port, context, auth)


def json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(f"/status cannot encode a {type(value).__name__}")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, family, handler, exporter: "MetricsServer") -> None:
        self.address_family = family
        self.exporter = exporter
        super().__init__(address, handler)

    def finish_request(self, request, client_address) -> None:
        context = self.exporter.listener.ssl_context
        if context is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(CONNECTION_TIMEOUT)
        try:
            connection = context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as error:
            log.debug("TLS handshake with %s failed: %s", client_address[0], error)
            return
        try:
            super().finish_request(connection, client_address)
        finally:
            connection.close()

    def handle_error(self, request, client_address) -> None:
        log.debug("connection from %s failed", client_address[0], exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server_version = "stacks-opsd"
    timeout = CONNECTION_TIMEOUT
    server: _Server

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _respond(self, send_body: bool) -> None:
        exporter = self.server.exporter
        basic_auth = exporter.listener.basic_auth
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            ok, reason = exporter.health.liveness()
            self._text(200 if ok else 503, reason, send_body)
        elif path == "/readyz":
            ok, reason = exporter.health.readiness()
            self._text(200 if ok else 503, reason, send_body)
        elif basic_auth is not None and not basic_auth.allows(self.headers.get("Authorization")):
            self._text(
                401,
                "authentication required",
                send_body,
                {"WWW-Authenticate": 'Basic realm="stacks-opsd", charset="UTF-8"'},
            )
        elif path == "/metrics":
            self._metrics(send_body)
        elif path == "/status":
            self._status(send_body)
        elif path == "/":
            self._text(200, f"stacks-opsd: {ENDPOINTS}", send_body)
        else:
            self._text(404, f"no such endpoint {path}; try {ENDPOINTS}", send_body)

    def _metrics(self, send_body: bool) -> None:
        encoder, content_type = choose_encoder(self.headers.get("Accept"))
        try:
            body = encoder(self.server.exporter.registry)
        except Exception:
            log.exception("collecting metrics for a scrape failed")
            self._text(500, "collecting metrics failed; see the daemon's log", send_body)
            return
        headers = {}
        if gzip_accepted(self.headers.get("Accept-Encoding")):
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        self._send(200, body, content_type, send_body, headers)

    def _status(self, send_body: bool) -> None:
        try:
            status = self.server.exporter.status_source()
            body = json.dumps(status, default=json_default, indent=2).encode() + b"\n"
        except Exception:
            log.exception("building /status failed")
            self._text(500, "building the status failed; see the daemon's log", send_body)
            return
        self._send(200, body, "application/json", send_body)

    def _text(
        self, code: int, text: str, send_body: bool, headers: Mapping[str, str] | None = None
    ) -> None:
        self._send(code, f"{text}\n".encode(), TEXT, send_body, headers)

    def _send(
        self,
        code: int,
        body: bytes,
        content_type: str,
        send_body: bool,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)


class MetricsServer:
    """Serves the exporter's endpoints on a `Listener` from a background thread.

    `start()` binds (port 0 picks a free port, see `.port` and `.url`) and
    serves; `stop()` stops serving and closes the socket. Also a context manager.
    """

    def __init__(
        self,
        listener: Listener,
        registry: Collector,
        health: Health,
        status_source: Callable[[], Mapping[str, Any]],
    ) -> None:
        self.listener = listener
        self.registry = registry
        self.health = health
        self.status_source = status_source
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        listener = self.listener
        return f"MetricsServer(listen={listener.host}:{listener.port}, tls={self.tls})"

    @property
    def tls(self) -> bool:
        return self.listener.ssl_context is not None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the metrics server is not started; call start() first")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """Base URL to reach the server, e.g. `http://127.0.0.1:9847`."""
        host = self.listener.host
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
        if ":" in host:
            host = f"[{host}]"
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def start(self) -> None:
        if self._httpd is not None:
            return
        host, port = self.listener.host, self.listener.port
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            httpd = _Server((host, port), family, _Handler, self)
        except OSError as error:
            raise OSError(
                error.errno,
                f"cannot listen on {host}:{port}: {error.strerror}; "
                "free the port or change daemon.listen",
            ) from error
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL},
            name="stacks-opsd-exporter",
            daemon=True,
        )
        self._thread.start()
        log.info("serving %s on %s", ENDPOINTS, self.url)

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> "MetricsServer":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
