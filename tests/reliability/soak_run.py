"""One soak: a fleet, a pre-week, then the real Daemon in simulated time under the chaos.

Time scale: the fleet status is polled every 2 minutes (not every 15 s) and
metrics and backup lists every few hours, so that a week of 200 containers runs
in about a minute of real time. auto_restart's times are scaled up with the poll
(backoff 1 min doubling to 16 min, reset after 30 min, 5 restarts per 3 h) so
that, as with the defaults and a 15 s poll, the backoff and not the poll interval
is what spaces a crash loop's restarts. Everything else is the default config:
weekly pins on Sunday 03:00 (the whole fleet's pins still spend minutes of the
rate limit in a row), the pre-change backup gate, 60 requests a minute.
"""

import dataclasses
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from daemon.audit import AuditLog
from daemon.clock import ManualClock
from daemon.config import Config
from daemon.service import guarded
from daemon.simulator import Simulator
from policies import OPERATOR, Action, AutoRestartOptions
from tests.reliability.soak_chaos import LOOP_RUN_MAX, SETTLED, Chaos
from tests.reliability.soak_fleet import PRE_WEEK, Member, run_pre_week, seed_fleet
from tests.reliability.soak_jobs import ErrorRecords, guard_jobs
from tests.support.simulated_run import MONDAY, SimulatedRun

STEP = timedelta(minutes=2)  # the status interval: the chaos acts between two polls
REDEPLOY_AFTER = timedelta(days=3, hours=12, minutes=30)
CALM = timedelta(minutes=30)
RESTARTS = AutoRestartOptions(
    backoff_initial=timedelta(minutes=1),
    backoff_max=timedelta(minutes=16),
    reset_after=timedelta(minutes=30),
    max_restarts=5,
    window=timedelta(hours=3),
)
# The chaos keeps its crashes well clear of reset_after (see soak_checks).
assert 2 * RESTARTS.reset_after <= SETTLED and RESTARTS.reset_after >= 2 * LOOP_RUN_MAX


@dataclass
class Soak:
    """What a soak leaves behind: the simulator (the truth), the chaos's log, the audit."""

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
        status_interval=STEP,
        metrics_interval=timedelta(hours=24),
        backups_interval=timedelta(hours=6),
    )
    policies = dataclasses.replace(base.policies, auto_restart=RESTARTS)
    return dataclasses.replace(base, poll=poll, policies=policies)


def operator_start(run: SimulatedRun, member: Member) -> bool:
    """`stacks-opsd change NAME start`: the executor with actor `cli`, as the command does.

    True when the container was started.
    """
    action = Action(
        policy=OPERATOR,
        action="container.start",
        container_id=member.id,
        container_name=member.name,
        reason=f"operator: stacks-opsd change {member.name} start",
    )
    outcomes = []
    guarded("operator start", lambda: outcomes.append(run.daemon.executor.perform(action)))()
    return bool(outcomes) and outcomes[0].outcome == "succeeded"


def run_soak(directory: Path, days: float, seed: int) -> Soak:
    """A pre-week of the simulator alone, then `days` of the daemon under the chaos.

    Midway the daemon is redeployed (a new Daemon on the same audit database).
    """
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
        redeployed = False
        while clock.now() < end:
            run.advance(STEP)
            if not redeployed and clock.now() >= redeploy_at:
                run.restart_daemon()
                guard_jobs(run.daemon)
                redeployed = True
            chaos.step(clock.now())
        chaos.sample_backups()
        rows = run.daemon.store.query()
        run.close()
    return Soak(sim, fleet, chaos, config, rows, errors.messages(), end)
