"""Benchmarks 1, 2 and 4: the real Daemon over a simulated day of a fleet, on the wire.

`run_fleet` drives `SimulatedRun` (the real Daemon on a ManualClock against the
in-process simulator) with N containers, crashes `crashes` distinct containers
at seeded random moments spread over the window, and measures:

- requests and 429 answers that crossed the wire (counted below the client);
- the worst age each kind of data reached after the warm-up (exact, from the
  fetch times on the wire), next to the best interval the budget allows, and
  the largest `stacks_opsd_refresh_lag_seconds{kind}` the daemon's own
  collector reported (sampled each simulated minute);
- each crash's latency to its restart (`PUT .../status` accepted by the simulator);
- resident memory (VmRSS) at the given simulated moments.

The result is plain data (JSON-able), so a subprocess can run it on a clean heap.
"""

import heapq
import random
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from daemon.clock import ManualClock
from daemon.exporter.lag_collector import RefreshLagCollector
from tests.benchmarks.counting_transport import CountedSimulator
from tests.benchmarks.freshness import KINDS, FetchAges, best_intervals, kind_of
from tests.benchmarks.resident_memory import resident_bytes
from tests.support.simulated_run import MONDAY, SimulatedRun

LAG_SAMPLE_EVERY = timedelta(minutes=1)
SAMPLE, CRASH, MEASURE_RSS = "sample", "crash", "rss"


@dataclass
class FleetResult:
    containers: int
    simulated_seconds: float
    wall_seconds: float
    requests: int
    throttled: int
    warmup_seconds: float
    best: dict[str, float]
    worst: dict[str, float]
    lag_metric_max: dict[str, float]
    restart_latencies: list[float] = field(default_factory=list)
    crashes_not_restarted: int = 0
    rss_bytes: dict[str, int] = field(default_factory=dict)  # simulated hour -> VmRSS

    @property
    def requests_per_minute(self) -> float:
        return self.requests / (self.simulated_seconds / 60)

    def freshness(self, kind: str) -> float:
        """Best interval the budget allows ÷ worst age reached (1.0 = as fresh as possible)."""
        return self.best[kind] / self.worst[kind] if self.worst[kind] else 0.0


def warmup_for(containers: int, duration: timedelta, best: dict[str, float]) -> timedelta:
    """Long enough for every container to be fetched and the rhythm to settle."""
    settle = timedelta(seconds=2 * max(best.values()))
    return min(settle, duration / 2)


def crash_schedule(
    ids: list[str], crashes: int, duration: timedelta, seed: int
) -> list[tuple[timedelta, str]]:
    """`crashes` distinct containers, one per equal slice of the window, at a random moment in it."""
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
    rss_at_hours: tuple[int, ...] = (),
) -> FleetResult:
    clock = ManualClock(MONDAY)
    simulator = CountedSimulator(clock, seed)
    run = SimulatedRun(directory, simulator=simulator, clock=clock)
    try:
        return _measure(run, simulator, containers, duration, crashes, seed, rss_at_hours)
    finally:
        run.close()


def _measure(
    run: SimulatedRun,
    simulator: CountedSimulator,
    containers: int,
    duration: timedelta,
    crashes: int,
    seed: int,
    rss_at_hours: tuple[int, ...],
) -> FleetResult:
    started_wall = time.perf_counter()
    clock = run.clock
    ids = [simulator.seed_container(run.key, f"app-{i:04d}") for i in range(containers)]
    start = clock.now()
    best = best_intervals(containers, run.config)
    warmup = warmup_for(containers, duration, best)
    ages = FetchAges(start + warmup)
    for cid in ids:
        for kind in KINDS:
            ages.fetched(kind, cid, start)
    ages.fetched("backups", "stats", start)

    def on_answer(method: str, path: str, status: int) -> None:
        what = kind_of(method, path)
        if what is not None and status == 200:
            ages.fetched(*what, clock.now())

    simulator.tally.listeners.append(on_answer)
    lag = RefreshLagCollector(lambda: run.daemon.poller.snapshot, clock)
    lag_max = dict.fromkeys(KINDS, 0.0)
    events: list[tuple[timedelta, str, str]] = []
    crashed = crash_schedule(ids, crashes, duration, seed)
    events.extend((at, CRASH, cid) for at, cid in crashed)
    events.extend((timedelta(hours=h), MEASURE_RSS, str(h)) for h in rss_at_hours)
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
    latencies, missed = restart_latencies(simulator, [(start + at, cid) for at, cid in crashed])
    return FleetResult(
        containers=containers,
        simulated_seconds=duration.total_seconds(),
        wall_seconds=time.perf_counter() - started_wall,
        requests=simulator.tally.requests,
        throttled=simulator.tally.throttled,
        warmup_seconds=warmup.total_seconds(),
        best=best,
        worst=ages.worst(clock.now()),
        lag_metric_max=lag_max,
        restart_latencies=latencies,
        crashes_not_restarted=missed,
        rss_bytes=rss,
    )


def restart_latencies(simulator: CountedSimulator, crashed) -> tuple[list[float], int]:
    """Seconds from each crash to the first restart of that container the simulator accepted."""
    restarts: dict[str, list] = {}
    for mutation in simulator.mutations():
        if mutation.method == "PUT" and mutation.body == {"status": "restart"}:
            restarts.setdefault(mutation.container_id, []).append(mutation.at)
    latencies, missed = [], 0
    for at, cid in crashed:
        after = [moment for moment in restarts.get(cid, ()) if moment >= at]
        if after:
            latencies.append((min(after) - at).total_seconds())
        else:
            missed += 1
    return latencies, missed
