"""One soak: a fleet, a pre-week, then the real Daemon in simulated time under the chaos.

Poll intervals: the fleet status is polled every minute (not every 15 s) and
metrics and backup lists every few hours, so that a week of 200 containers
runs in well under a minute of real time; restarts, pins, audit rows and the
rate budget are exercised the same way (the pins of a whole fleet on Sunday
still spend several minutes of the rate limit in a row).
"""

import dataclasses
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from daemon.audit.record import AuditLog
from daemon.clock import ManualClock
from daemon.config import Config
from daemon.scheduler import guarded
from daemon.simulator import Simulator
from policies.base import OPERATOR, Action
from tests.reliability.soak_chaos import Chaos
from tests.reliability.soak_fleet import PRE_WEEK, Member, run_pre_week, seed_fleet
from tests.reliability.soak_jobs import ErrorRecords, guard_jobs
from tests.support.simulated_run import MONDAY, SimulatedRun

STEP = timedelta(minutes=1)
REDEPLOY_AFTER = timedelta(days=3, hours=12, minutes=30)
CALM = timedelta(minutes=30)


@dataclass
class Soak:
    sim: Simulator
    fleet: list[Member]
    chaos: Chaos
    config: Config
    rows: list[AuditLog]
    errors: list[str]
    end: datetime


def soak_config() -> Config:
    base = Config()
    poll = dataclasses.replace(
        base.poll,
        status_interval=timedelta(minutes=1),
        metrics_interval=timedelta(hours=24),
        backups_interval=timedelta(hours=6),
    )
    return dataclasses.replace(base, poll=poll)


def operator_start(run: SimulatedRun, member: Member) -> None:
    """`stacks-opsd change NAME start`: the executor with actor `cli`, as the command does."""
    action = Action(
        policy=OPERATOR,
        action="container.start",
        container_id=member.id,
        container_name=member.name,
        reason=f"operator: stacks-opsd change {member.name} start",
    )
    guarded("operator start", lambda: run.daemon.executor.perform(action))()


def run_soak(directory: Path, days: int, seed: int) -> Soak:
    clock = ManualClock(MONDAY - PRE_WEEK)
    sim = Simulator(clock=clock, seed=seed)
    key = sim.create_key(rate_limit=60)
    fleet = seed_fleet(sim, key, random.Random(seed))
    run_pre_week(sim, fleet, failing=3)
    end = MONDAY + timedelta(days=days)
    redeploy_at = MONDAY + REDEPLOY_AFTER
    quiet = [(MONDAY, MONDAY + 2 * CALM), (redeploy_at - CALM, redeploy_at + CALM)]
    config = soak_config()
    with ErrorRecords() as errors:
        run = SimulatedRun(directory, config, simulator=sim, clock=clock, key=key)
        guard_jobs(run.daemon)
        chaos = Chaos(sim, fleet, seed, lambda member: operator_start(run, member), quiet)
        while clock.now() < end:
            run.advance(STEP)
            if redeploy_at <= clock.now() < redeploy_at + STEP:
                run.restart_daemon()
                guard_jobs(run.daemon)
            chaos.step(clock.now())
        chaos.sample_backups()
        rows = run.daemon.store.query()
        run.close()
    return Soak(sim, fleet, chaos, config, rows, errors.messages(), end)
