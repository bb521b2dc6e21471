"""Benchmark 6: one status cycle (poll + evaluation) of a large fleet, in seconds of CPU.

The real Daemon against the in-process simulator with N containers that have
two days of backups, listed by the daemon: the time `status_cycle` takes (one
`GET /containers` of N containers parsed, the snapshot merged, every policy
evaluated), median of `rounds`, against the status interval it must fit in
(15 s: the budget allows no less at this size). The key's rate limit is raised
for the set-up only, so every backup list is read before the timing starts.
"""

import dataclasses
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from daemon.clock import ManualClock
from daemon.config import Config
from daemon.simulator import Simulator
from tests.support.simulated_run import SimulatedRun

WEDNESDAY = datetime(2026, 1, 7, 12, 0, tzinfo=UTC)  # no weekly pin is due mid-week
INTERVAL = timedelta(seconds=15)
SET_UP_LIMIT = 1_000_000


@dataclass
class CycleResult:
    containers: int
    cycle_seconds: float
    interval_seconds: float
    rounds: int

    @property
    def share(self) -> float:
        """The part of each status interval one cycle takes."""
        return self.cycle_seconds / self.interval_seconds


def run_cycle(directory: Path, containers: int, rounds: int = 5) -> CycleResult:
    clock = ManualClock(WEDNESDAY - timedelta(days=2))
    simulator = Simulator(clock=clock, seed=1)
    key = simulator.create_key(rate_limit=SET_UP_LIMIT)
    for i in range(containers):
        simulator.seed_container(key, f"app-{i:05d}")
    simulator.advance(timedelta(days=2).total_seconds())
    config = Config()
    config = dataclasses.replace(
        config,
        api=dataclasses.replace(config.api, rate_limit_per_minute=SET_UP_LIMIT),
        poll=dataclasses.replace(config.poll, status_interval=INTERVAL),
    )
    run = SimulatedRun(directory, config, simulator=simulator, clock=clock, key=key)
    try:
        daemon = run.daemon
        daemon.leadership()
        daemon.status_cycle()
        daemon.poller.refresh(everything=True)
        timings = []
        for _ in range(rounds):
            clock.advance(INTERVAL.total_seconds())
            started = time.perf_counter()
            daemon.status_cycle()
            timings.append(time.perf_counter() - started)
        listed = sum(
            view.backups is not None for view in daemon.poller.snapshot.containers.values()
        )
        if listed != containers:
            raise AssertionError(f"only {listed} of {containers} backup lists were read")
    finally:
        run.close()
    return CycleResult(containers, statistics.median(timings), INTERVAL.total_seconds(), rounds)
