"""Injected API faults: 500s, 503 no capacity, timeouts, malformed bodies, latency, 429 bursts.

Faults hit only `/api/v1` requests, before authentication (as a proxy or an
overloaded backend would). Each request draws the same two numbers from a
generator seeded by `Faults.seed` (else the simulator's seed), so a run is
repeatable. A 500, 503, HTML page or timeout means the request was never
processed; a truncated JSON body is a real answer cut short (its change, if
any, happened).
"""

import random
from dataclasses import dataclass, fields
from typing import Any

from daemon.simulator.exchange import ApiError

HTML_ERROR_PAGE = (
    b"<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n"
    b"<center><h1>500 Internal Server Error</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


@dataclass(frozen=True)
class Faults:
    error_rate: float = 0.0  # share of requests answered 500
    unavailable_rate: float = 0.0  # share answered 503 (no capacity)
    timeout_rate: float = 0.0  # share dropped unanswered
    malformed_rate: float = 0.0  # share answered with an HTML page or truncated JSON
    latency: float = 0.0  # seconds added to every request (clock.sleep)
    burst_429: int = 0  # the next N requests answer 429
    retry_after: int = 5  # Retry-After of those 429s, seconds
    seed: int | None = None

    def __post_init__(self) -> None:
        rates = (self.error_rate, self.unavailable_rate, self.timeout_rate, self.malformed_rate)
        if any(not 0 <= rate <= 1 for rate in rates) or sum(rates) > 1:
            raise ValueError(f"fault rates must be within 0..1 and sum to at most 1, got {rates}")
        if self.latency < 0 or self.burst_429 < 0 or self.retry_after < 1:
            raise ValueError("latency and burst_429 must be >= 0 and retry_after >= 1")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Faults":
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown fault field(s) {unknown}; known: {sorted(names)}")
        return cls(**data)


class FaultInjector:
    """Decides, request by request, which fault (if any) hits it."""

    def __init__(self, seed: int) -> None:
        self._default_seed = seed
        self.faults = Faults()
        self._burst_left = 0
        self._rng = random.Random(seed)

    def configure(self, faults: Faults) -> None:
        self.faults = faults
        self._burst_left = faults.burst_429
        self._rng = random.Random(self._default_seed if faults.seed is None else faults.seed)

    def draw(self) -> str | None:
        """`"500"`, `"503"`, `"timeout"`, `"html"`, `"truncated"`, `"429"` or None."""
        roll, variant = self._rng.random(), self._rng.random()
        if self._burst_left > 0:
            self._burst_left -= 1
            return "429"
        f = self.faults
        for name, rate in (
            ("500", f.error_rate),
            ("503", f.unavailable_rate),
            ("timeout", f.timeout_rate),
            ("malformed", f.malformed_rate),
        ):
            if roll < rate:
                return ("html" if variant < 0.5 else "truncated") if name == "malformed" else name
            roll -= rate
        return None

    def error_for(self, fault: str) -> ApiError:
        """The answer of a fault that stops the request before it is processed."""
        if fault == "429":
            seconds = self.faults.retry_after
            return ApiError(
                429,
                {"error": "Too many requests", "retry_after": seconds},
                {"Retry-After": str(seconds)},
            )
        if fault == "503":
            return ApiError(
                503,
                {
                    "success": False,
                    "error": "No capacity available. You've been added to the waitlist.",
                },
            )
        return ApiError(500, {"success": False, "error": "Internal server error"})
