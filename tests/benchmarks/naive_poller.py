"""The baseline of benchmark 1: a naive poller that reads each container's status every interval.

What a first script would do: `GET /containers/status/{id}` for every container,
every status interval, through the real `StacksClient`, but with no request
budget (it neither paces itself nor waits for `Retry-After`) and no retries. It
runs on a ManualClock against the same in-process simulator, so its requests
per minute and 429 answers are counted on the same wire as the daemon's.
"""

import time
from dataclasses import dataclass
from datetime import timedelta

from daemon.clock import ManualClock
from daemon.stacks import ApiKey, RateLimitedError, StacksClient
from tests.benchmarks.counting_transport import CountedSimulator
from tests.support.simulated_run import MONDAY

BASE_URL = "http://stacks.test/api/v1"


class NoBudget:
    """A request budget that never waits and ignores what the server says."""

    def acquire(self, priority, max_wait: float = 0.0) -> None:
        return None

    def update_from_headers(self, limit, remaining, reset_epoch) -> None:
        return None

    def on_retry_after(self, seconds: float) -> None:
        return None

    def seconds_until_reset(self) -> float:
        return 0.0


@dataclass
class NaiveResult:
    containers: int
    simulated_seconds: float
    wall_seconds: float
    requests: int
    throttled: int
    statuses_read: int

    @property
    def requests_per_minute(self) -> float:
        return self.requests / (self.simulated_seconds / 60)


def run_naive(
    containers: int,
    duration: timedelta,
    *,
    interval: timedelta = timedelta(seconds=15),
    rate_limit: int = 60,
    seed: int = 1,
) -> NaiveResult:
    started = time.perf_counter()
    clock = ManualClock(MONDAY)
    simulator = CountedSimulator(clock, seed)
    key = simulator.create_key(rate_limit=rate_limit)
    ids = [simulator.seed_container(key, f"app-{i:04d}") for i in range(containers)]
    client = StacksClient(
        ApiKey(key),
        BASE_URL,
        transport=simulator.transport(),
        budget=NoBudget(),
        clock=clock,
        retries=0,
    )
    read = 0
    end = clock.now() + duration
    try:
        while clock.now() < end:
            for container_id in ids:
                try:
                    client.container_status(container_id)
                    read += 1
                except RateLimitedError:
                    pass
            clock.advance(interval.total_seconds())
    finally:
        client.close()
    return NaiveResult(
        containers=containers,
        simulated_seconds=duration.total_seconds(),
        wall_seconds=time.perf_counter() - started,
        requests=simulator.tally.requests,
        throttled=simulator.tally.throttled,
        statuses_read=read,
    )
