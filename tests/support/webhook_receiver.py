"""A webhook receiver for tests: an HTTP server on 127.0.0.1 that records what it is sent.

    receiver = WebhookReceiver()          # listening on a free loopback port
    receiver.url                          # http://127.0.0.1:PORT/hook
    receiver.mode = "error"               # "ok", "error" (HTTP 500), "slow", "garbage"
    receiver.stop(); receiver.start()     # down (connections refused) and back, same port
    receiver.rows()                       # the audit rows received, in arrival order

"slow" answers after `slow_seconds`; "garbage" answers bytes that are not HTTP.
Every wait is bounded and ends when the receiver stops.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.processes import free_port


class WebhookReceiver:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.mode = "ok"
        self.slow_seconds = 5.0
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self.start()

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                mode = receiver.mode
                if mode == "garbage":
                    self.wfile.write(b"\x00\x01 this is not HTTP at all\r\n\r\n")
                    self.close_connection = True
                    return
                if mode == "slow":
                    receiver._released.wait(receiver.slow_seconds)
                if mode == "error":
                    self._answer(500, b"internal error: try later")
                    return
                with receiver._lock:
                    receiver.requests.append((dict(self.headers.items()), body))
                self._answer(200, b"ok")

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        class Server(ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:
                pass  # a client that gave up on a slow answer: expected here

        self._released.clear()
        self._server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop listening: connections are refused until `start()`."""
        if self._server is not None:
            self._released.set()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def bodies(self) -> list[dict]:
        with self._lock:
            return [json.loads(body) for _, body in self.requests]

    def rows(self) -> list[dict]:
        return [body["row"] for body in self.bodies()]

    def ids(self) -> list[int]:
        return [row["id"] for row in self.rows()]
