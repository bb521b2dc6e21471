"""The simulator over real HTTP: a ThreadingHTTPServer in a daemon thread, same handler core.

A timeout fault holds the connection unanswered for HANG_SECONDS (or until the
server closes) and then drops it, so clients see a read timeout. A `drop` fault
closes the connection at once without writing a byte. A `slow` answer is
written after its hold time (real seconds; closing the server ends the wait and
drops the connection). A 204 is written without a body or Content-Length.
"""

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

from daemon.simulator.exchange import Request, Response, SimulatedDisconnect, SimulatedTimeout

HANG_SECONDS = 30.0


class SimulatorServer:
    """A running server: `.url` (http://host:port), `.close()`."""

    def __init__(self, handle: Callable[[Request], Response], host: str, port: int) -> None:
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer((host, port), _handler_class(handle, self._stopping))
        self._httpd.daemon_threads = True
        bound_host, bound_port = self._httpd.server_address[:2]
        self.url = f"http://{bound_host}:{bound_port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="stacks-simulator", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "SimulatorServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _handler_class(handle: Callable[[Request], Response], stopping: threading.Event) -> type:
    class Handler(BaseHTTPRequestHandler):
        server_version = "stacks-simulator"

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                method=self.command,
                path=unquote(parts.path),
                query=dict(reversed(parse_qsl(parts.query, keep_blank_values=True))),
                headers={name.lower(): value for name, value in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
                client_ip=self.client_address[0],
            )
            try:
                answer = handle(request)
            except SimulatedTimeout:
                stopping.wait(HANG_SECONDS)
                self.close_connection = True
                return
            except SimulatedDisconnect:
                self.close_connection = True
                return
            if answer.hold_seconds > 0 and stopping.wait(answer.hold_seconds):
                self.close_connection = True
                return
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            if answer.status != 204:
                self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if answer.status != 204:
                self.wfile.write(answer.body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: object) -> None:
            """Silent: request lines are not worth a terminal line each."""

    return Handler
