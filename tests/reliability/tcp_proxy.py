"""FreezableProxy: a loopback TCP proxy that can stop forwarding without closing anything.

    with FreezableProxy(("127.0.0.1", 5432)) as proxy:   # listens on 127.0.0.1:proxy.port
        proxy.freeze()    # bytes stay in the kernel's buffers; no FIN, no RST
        proxy.resume()    # forwarding goes on where it stopped

Frozen, it looks to both ends like a server that stops answering behind a live
TCP stack: every segment is still acknowledged by the kernel, so neither TCP
keepalives nor `tcp_user_timeout` can tell. New connections wait in the listen
backlog. One thread forwards everything; every wait in it is bounded.
"""

import selectors
import socket
import threading
from types import TracebackType

TICK = 0.05  # seconds between looks at the freeze and close flags


class FreezableProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self._upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._frozen = threading.Event()
        self._closing = threading.Event()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._peers: dict[socket.socket, socket.socket] = {}
        self._thread = threading.Thread(target=self._forward, name="freezable-proxy", daemon=True)

    def __enter__(self) -> "FreezableProxy":
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def freeze(self) -> None:
        self._frozen.set()

    def resume(self) -> None:
        self._frozen.clear()

    @property
    def connections(self) -> int:
        return len(self._peers) // 2

    def close(self) -> None:
        self._closing.set()
        self._frozen.clear()
        self._thread.join(10)
        for sock in list(self._peers):
            sock.close()
        self._peers.clear()
        self._selector.close()
        self._listener.close()

    def _forward(self) -> None:
        while not self._closing.is_set():
            if self._frozen.is_set():
                self._closing.wait(TICK)
                continue
            for key, _ in self._selector.select(TICK):
                if key.fileobj is self._listener:
                    self._accept()
                else:
                    self._pump(key.fileobj)  # type: ignore[arg-type]
                if self._frozen.is_set():
                    break

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        try:
            server = socket.create_connection(self._upstream, timeout=5)
        except OSError:
            client.close()
            return
        for sock, peer in ((client, server), (server, client)):
            sock.settimeout(5)  # sendall to a peer that reads nothing fails, never hangs
            self._peers[sock] = peer
            self._selector.register(sock, selectors.EVENT_READ)

    def _pump(self, sock: socket.socket) -> None:
        peer = self._peers.get(sock)
        if peer is None:
            return
        try:
            data = sock.recv(65536)
            if data:
                peer.sendall(data)
                return
        except OSError:
            pass
        for end in (sock, peer):  # one side closed or failed: close both, like a proxy does
            self._selector.unregister(end)
            self._peers.pop(end, None)
            end.close()
