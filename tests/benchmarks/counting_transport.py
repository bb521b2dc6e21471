"""Counting what really crossed the wire to the simulator, by status code.

The benchmarks count requests here, below the client, so every attempt (a
retry included) is counted exactly once, whatever the daemon believes it sent.
"""

from collections import Counter

import httpx

from daemon.clock import Clock
from daemon.simulator import Simulator


class CountingTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, codes: Counter[int]) -> None:
        self._inner = inner
        self._codes = codes

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        self._codes[response.status_code] += 1
        return response

    def close(self) -> None:
        self._inner.close()


class CountedSimulator(Simulator):
    """The simulator, whose in-process transports all count into `codes`."""

    def __init__(self, clock: Clock, seed: int) -> None:
        super().__init__(clock=clock, seed=seed)
        self.codes: Counter[int] = Counter()

    @property
    def requests(self) -> int:
        return sum(self.codes.values())

    @property
    def throttled(self) -> int:
        """429 Too Many Requests answers."""
        return self.codes[429]

    def transport(self, client_ip: str = "127.0.0.1") -> httpx.BaseTransport:
        return CountingTransport(super().transport(client_ip), self.codes)
