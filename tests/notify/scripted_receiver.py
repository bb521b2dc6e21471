"""A receiver whose answers a test writes byte by byte: a TCP server on 127.0.0.1 speaking
just enough HTTP/1.1 to read each POST and send back what `answer(body)` returns.

    receiver = ScriptedReceiver(lambda body: http_answer(422, b"unknown field"))
    receiver.url                          # http://127.0.0.1:PORT/hook
    receiver.bodies                       # the JSON bodies received, in arrival order

`answer` returns the pieces to write, in order; `pause` seconds pass before each
one (a receiver dripping its answer). Once they are written the receiver waits for
the client to hang up (at most HOLD seconds), so an answer whose body never ends
holds the client's read until the client gives up. Every wait is bounded.
"""

import json
import socket
import threading
import time
from collections.abc import Callable, Sequence

HOLD = 10.0  # seconds a connection is kept open for the client after the answer


def http_answer(status: int, body: bytes, announced: int | None = None) -> list[bytes]:
    """The status line and headers, then the body (`announced`: another Content-Length)."""
    length = len(body) if announced is None else announced
    head = f"HTTP/1.1 {status} Status\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    return [head.encode(), body]


class ScriptedReceiver:
    def __init__(self, answer: Callable[[dict], Sequence[bytes]], pause: float = 0.0) -> None:
        self.answer = answer
        self.pause = pause
        self.bodies: list[dict] = []
        self._stopped = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}/hook"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(HOLD + 5)
        self._server.close()

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(HOLD)
            try:
                body = self._read_request(connection)
                self.bodies.append(body)
                for piece in self.answer(body):
                    if self._stopped.wait(self.pause):
                        return
                    connection.sendall(piece)
                self._wait_for_hang_up(connection)
            except OSError:  # the client hung up first, or sent nothing in time
                return

    @staticmethod
    def _read_request(connection: socket.socket) -> dict:
        data = b""
        while b"\r\n\r\n" not in data:
            data += _received(connection)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(body) < length:
            body += _received(connection)
        return json.loads(body)

    def _wait_for_hang_up(self, connection: socket.socket) -> None:
        deadline = time.monotonic() + HOLD
        connection.settimeout(0.2)
        while not self._stopped.is_set() and time.monotonic() < deadline:
            try:
                if not connection.recv(65536):
                    return
            except TimeoutError:
                continue


def _received(connection: socket.socket) -> bytes:
    data = connection.recv(65536)
    if not data:
        raise ConnectionError("the client hung up")
    return data
