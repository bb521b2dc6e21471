"""Counts of the /api/v1 traffic the simulator received: requests, 429s, Retry-After ignored.

A 429 is either *forced* (a `burst_429` or `reject_mutations_429` fault answered
it whatever the key's window held) or *over the limit* (the key had used its requests of the
minute). After any 429 the caller was told to wait `Retry-After` seconds; a
request with the same key that arrives before then counts as sent too early.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Traffic:
    requests: int = 0  # every /api/v1 request, whatever its answer (timeouts included)
    rate_limited_forced: int = 0  # 429s of `burst_429` and `reject_mutations_429` faults
    rate_limited_over_limit: int = 0  # 429s because the key's window was used up
    before_retry_after: int = 0  # requests sent before their key's last Retry-After had passed


class TrafficCounter:
    def __init__(self) -> None:
        self._counts = Traffic()
        self._quiet_until: dict[str, datetime] = {}  # key -> end of its last Retry-After

    @property
    def counts(self) -> Traffic:
        return self._counts

    def request(self, key: str | None, now: datetime) -> None:
        early = key is not None and now < self._quiet_until.get(key, now)
        self._counts = replace(
            self._counts,
            requests=self._counts.requests + 1,
            before_retry_after=self._counts.before_retry_after + early,
        )

    def rate_limited(self, key: str | None, now: datetime, retry_after: int, forced: bool) -> None:
        if key is not None:
            until = now + timedelta(seconds=retry_after)
            self._quiet_until[key] = max(until, self._quiet_until.get(key, until))
        if forced:
            self._counts = replace(
                self._counts, rate_limited_forced=self._counts.rate_limited_forced + 1
            )
        else:
            self._counts = replace(
                self._counts, rate_limited_over_limit=self._counts.rate_limited_over_limit + 1
            )
