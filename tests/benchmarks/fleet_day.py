"""Benchmarks 1, 2 and 4: the real Daemon over a simulated day of a fleet, on the wire.

`run_fleet` drives `SimulatedRun` (the real Daemon on a ManualClock against the
in-process simulator) with N containers, crashes `crashes` distinct containers
at seeded random moments spread over the window, and measures:

- requests and 429 answers that crossed the wire (counted below the client);
- the worst age each kind of data reached after the warm-up (exact, from the
  fetch times on the wire), next to the best interval the budget allows, and
  the largest `stacks_opsd_refresh_lag_seconds{kind}` the daemon's own
  collector reported (sampled each simulated minute);
- each crash's latency to its restart (`PUT .../status` accepted by the simulator),
  apart for crashes whose way to the restart waited for the request budget
  (a sleep on the clock: the window was used up, mostly by other restarts);
- resident memory (VmRSS) at the given simulated moments.

The result is plain data (JSON-able), so a subprocess can run it on a clean heap.
"""

import heapq
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from daemon.clock import ManualClock
from daemon.config import Config
from daemon.exporter import RefreshLagCollector
from tests.benchmarks.counting_transport import CountedSimulator
from tests.benchmarks.freshness import KINDS, FetchAges, best_intervals, kind_of
from tests.benchmarks.resident_memory import resident_bytes
from tests.support.simulated_run import MONDAY, SimulatedRun

LAG_SAMPLE_EVERY = timedelta(minutes=1)
SAMPLE, CRASH, MEASURE_RSS = "sample", "crash", "rss"


class WaitRecordingClock(ManualClock):
    """A ManualClock that remembers every wait: the budget's, when a window is used up."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self.waits: list[tuple[datetime, datetime]] = []

    def sleep(self, seconds: float) -> None:
        begun = self.now()
        super().sleep(seconds)
        if seconds > 0:
            self.waits.append((begun, self.now()))


@dataclass
class FleetResult:
    containers: int
    simulated_seconds: float
    wall_seconds: float
    requests: int
    throttled: int
    status_polls: int  # GET /containers: the whole fleet's status in one request
    warmup_seconds: float
    best: dict[str, float]
    worst: dict[str, float]
    lag_metric_max: dict[str, float]
    restart_latencies: list[float] = field(default_factory=list)  # the budget never waited
    restart_latencies_waited: list[float] = field(default_factory=list)  # it did
    crashes_not_restarted: int = 0
    rss_bytes: dict[str, int] = field(default_factory=dict)  # simulated hours ("1") -> VmRSS

    @property
    def requests_per_minute(self) -> float:
        return self.requests / (self.simulated_seconds / 60)

    def status_polls_per_interval(self, interval_seconds: float) -> float:
        return self.status_polls / (self.simulated_seconds / interval_seconds)

    def freshness(self, kind: str) -> float:
        """Best interval the budget allows ÷ worst age reached (1.0 = as fresh as possible)."""
        return self.best[kind] / self.worst[kind] if self.worst[kind] else 0.0


def warmup_for(duration: timedelta, best: dict[str, float]) -> timedelta:
    """Long enough for every container to be fetched and the rhythm to settle."""
    settle = timedelta(seconds=2 * max(best.values()))
    return min(settle, duration / 2)


def crash_schedule(
    ids: list[str], crashes: int, duration: timedelta, seed: int
) -> list[tuple[timedelta, str]]:
    """`crashes` distinct containers, one per equal slice of the window, at a random moment."""
    if crashes > len(ids):
        raise ValueError(f"cannot crash {crashes} distinct containers out of {len(ids)}")
    rng = random.Random(seed)
    victims = rng.sample(ids, crashes)
    slice_ = duration / max(crashes, 1)
    return [(slice_ * (k + rng.random()), cid) for k, cid in enumerate(victims)]


def run_fleet(
    directory: Path,
    containers: int,
    duration: timedelta,
    *,
    crashes: int = 0,
    seed: int = 1,
    rss_at_hours: tuple[float, ...] = (),
    config: Config | None = None,
    history: timedelta = timedelta(0),
) -> FleetResult:
    """The daemon starts at MONDAY 00:00 on a fleet the simulator has run for `history`
    (a week of it: every container holds its retained backups, as in steady state).

    `config` defaults to the daemon's defaults; the key's limit is its rate limit.
    """
    config = config or Config()
    clock = WaitRecordingClock(MONDAY - history)
    simulator = CountedSimulator(clock, seed)
    key = simulator.create_key(rate_limit=config.api.rate_limit_per_minute)
    ids = [simulator.seed_container(key, f"app-{i:04d}") for i in range(containers)]
    simulator.advance(history.total_seconds())
    run = SimulatedRun(directory, config, simulator=simulator, clock=clock, key=key)
    try:
        return _measure(run, simulator, ids, duration, crashes, seed, rss_at_hours)
    finally:
        run.close()


def _measure(
    run: SimulatedRun,
    simulator: CountedSimulator,
    ids: list[str],
    duration: timedelta,
    crashes: int,
    seed: int,
    rss_at_hours: tuple[float, ...],
) -> FleetResult:
    started_wall = time.perf_counter()
    clock = run.clock
    start = clock.now()
    best = best_intervals(len(ids), run.config)
    warmup = warmup_for(duration, best)
    ages = FetchAges(start + warmup)
    for cid in ids:
        for kind in KINDS:
            ages.fetched(kind, cid, start)
    ages.fetched("backups", "stats", start)

    status_polls = 0

    def on_answer(method: str, path: str, status: int) -> None:
        nonlocal status_polls
        what = kind_of(method, path)
        if what is not None and status == 200:
            ages.fetched(*what, clock.now())
        status_polls += method == "GET" and path.endswith("/containers")

    simulator.tally.listeners.append(on_answer)
    lag = RefreshLagCollector(lambda: run.daemon.poller.snapshot, clock)
    lag_max = dict.fromkeys(KINDS, 0.0)
    events: list[tuple[timedelta, str, str]] = []
    crashed = crash_schedule(ids, crashes, duration, seed)
    events.extend((at, CRASH, cid) for at, cid in crashed)
    events.extend((timedelta(hours=h), MEASURE_RSS, f"{h:g}") for h in rss_at_hours)
    moment = warmup
    while moment <= duration:
        events.append((moment, SAMPLE, ""))
        moment += LAG_SAMPLE_EVERY
    heapq.heapify(events)
    rss: dict[str, int] = {}
    while events:
        at, what, subject = heapq.heappop(events)
        run.advance(start + at - clock.now())
        if what == CRASH:
            simulator.crash(subject)
        elif what == MEASURE_RSS:
            rss[subject] = resident_bytes()
        else:
            for family in lag.collect():
                for sample in family.samples:
                    kind = sample.labels["kind"]
                    if kind in lag_max:
                        lag_max[kind] = max(lag_max[kind], sample.value)
    run.advance(start + duration - clock.now())
    crashes_at = [(start + at, cid) for at, cid in crashed]
    latencies, waited, missed = restart_latencies(simulator, crashes_at, clock.waits)
    return FleetResult(
        containers=len(ids),
        simulated_seconds=duration.total_seconds(),
        wall_seconds=time.perf_counter() - started_wall,
        requests=simulator.tally.requests,
        throttled=simulator.tally.throttled,
        status_polls=status_polls,
        warmup_seconds=warmup.total_seconds(),
        best=best,
        worst=ages.worst(clock.now()),
        lag_metric_max=lag_max,
        restart_latencies=latencies,
        restart_latencies_waited=waited,
        crashes_not_restarted=missed,
        rss_bytes=rss,
    )


def restart_latencies(
    simulator: CountedSimulator,
    crashed: list[tuple[datetime, str]],
    waits: list[tuple[datetime, datetime]],
) -> tuple[list[float], list[float], int]:
    """Seconds from each crash to the first restart of that container the simulator accepted.

    Returns (latencies of restarts reached without waiting for the budget, latencies of
    those that waited, crashes never restarted).
    """
    restarts: dict[str, list[datetime]] = {}
    for mutation in simulator.mutations():
        if mutation.method == "PUT" and mutation.body == {"status": "restart"}:
            restarts.setdefault(mutation.container_id, []).append(mutation.at)
    latencies, waited, missed = [], [], 0
    for at, cid in crashed:
        after = [moment for moment in restarts.get(cid, ()) if moment >= at]
        if not after:
            missed += 1
            continue
        restarted = min(after)
        budget_waited = any(begun < restarted and ended > at for begun, ended in waits)
        (waited if budget_waited else latencies).append((restarted - at).total_seconds())
    return latencies, waited, missed
