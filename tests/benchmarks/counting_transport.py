"""Counting what really crossed the wire to the simulator, by status code.

The benchmarks count requests here, below the client, so every attempt (a
retry included) is counted exactly once, whatever the daemon believes it sent.
Listeners see each answered request as (method, path, status code).
"""

from collections import Counter
from collections.abc import Callable

import httpx

from daemon.clock import Clock
from daemon.simulator import Simulator

Listener = Callable[[str, str, int], None]


class WireTally:
    """Requests answered, by status code, and who else wants to hear of each."""

    def __init__(self) -> None:
        self.codes: Counter[int] = Counter()
        self.listeners: list[Listener] = []

    @property
    def requests(self) -> int:
        return sum(self.codes.values())

    @property
    def throttled(self) -> int:
        """429 Too Many Requests answers."""
        return self.codes[429]

    def answered(self, method: str, path: str, status: int) -> None:
        self.codes[status] += 1
        for listener in self.listeners:
            listener(method, path, status)


class CountingTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, tally: WireTally) -> None:
        self._inner = inner
        self._tally = tally

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        self._tally.answered(request.method, request.url.path, response.status_code)
        return response

    def close(self) -> None:
        self._inner.close()


class CountedSimulator(Simulator):
    """The simulator, whose in-process transports all report to one `tally`."""

    def __init__(self, clock: Clock, seed: int) -> None:
        super().__init__(clock=clock, seed=seed)
        self.tally = WireTally()

    def transport(self, client_ip: str = "127.0.0.1") -> httpx.BaseTransport:
        return CountingTransport(super().transport(client_ip), self.tally)
