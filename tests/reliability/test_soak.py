"""A simulated week of a 200-container fleet under API faults, crashes, crash loops and 429s.

The real Daemon runs in simulated time (`soak_run`) against the in-process
simulator, whose mutation log, backups and traffic counts are the truth the
daemon's behaviour is checked against afterwards (`soak_checks`):

- no job raised (the scheduler would only have logged it) and nothing logged an error;
- restarts follow the crash-loop backoff and `max_restarts` per `window`, and
  none happens after the daemon gave up until an operator starts the container;
- every accepted change has its `started` and outcome audit rows, and no row
  claims a change STACKS did not accept;
- each container has exactly one daemon pin per ISO week that had completed backups;
- every 429 was forced by a simulated burst (never over the key's limit), and
  no request came before the Retry-After of the last 429 had passed.
"""

import time

from tests.policies.audit_truth import assert_audit_matches
from tests.reliability import soak_checks as checks
from tests.reliability.soak_fleet import SIZE
from tests.reliability.soak_run import run_soak

SEED = 20260105
DAYS = 7


def test_a_week_of_faults_on_200_containers(tmp_path, capsys):
    began = time.perf_counter()
    soak = run_soak(tmp_path, DAYS, SEED)
    mutations, traffic, rows = soak.sim.mutations(), soak.sim.traffic(), soak.rows
    restarts = checks.restart_mutations(mutations, "restart")
    with capsys.disabled():
        print(
            f"\nsoak: {traffic.requests} requests, "
            f"{traffic.rate_limited_forced + traffic.rate_limited_over_limit} 429s "
            f"({traffic.rate_limited_forced} forced), "
            f"{sum(map(len, restarts.values()))} restarts, {checks.count_pins(rows)} pins, "
            f"{len(rows)} audit rows, {DAYS} days, {SIZE} containers, "
            f"{time.perf_counter() - began:.1f} s"
        )

    policies, chaos = soak.config.policies, soak.chaos
    assert soak.errors == []
    assert checks.crash_timing_violations(chaos.crashes) == []
    assert (
        checks.backoff_violations(
            mutations, rows, chaos.crashes, chaos.operator_starts, policies.auto_restart
        )
        == []
    )
    assert checks.gave_up_violations(mutations, rows, chaos.operator_starts) == []
    assert_audit_matches(rows, mutations)
    assert (
        checks.pin_violations(
            rows, chaos.completed_weeks, [m.id for m in soak.fleet], soak.end, policies.weekly_pin
        )
        == []
    )
    assert traffic.rate_limited_forced > 0
    assert traffic.rate_limited_over_limit == 0
    assert traffic.before_retry_after == 0
