"""auto_restart end to end: the daemon, simulator, executor and audit store on one manual clock."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from tests.policies.audit_truth import assert_audit_matches
from tests.support.simulated_run import AMPLE_RATE_LIMIT, SimulatedRun, config_with

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
CRASH_PERIOD = timedelta(seconds=30)
STATUS_INTERVAL = timedelta(seconds=15)


def scenario(tmp_path, **options) -> SimulatedRun:
    config = config_with(status_interval=STATUS_INTERVAL, **options)
    return SimulatedRun(tmp_path, config, start=START, rate_limit=AMPLE_RATE_LIMIT)


def crash_every_30s(run: SimulatedRun, cid: str):
    def before_status(now: datetime) -> None:
        running = run.simulator.container_status(cid) == "running"
        if running and (now - START) % CRASH_PERIOD == timedelta(0):
            run.simulator.crash(cid)

    return before_status


def restarts(run: SimulatedRun):
    return [r.at for r in run.rows(action="container.restart", outcome="started")]


def test_a_crash_loop_follows_the_backoff_curve_and_gives_up_once(tmp_path):
    run = scenario(tmp_path, auto_restart={"max_restarts": 8})
    cid = run.seed("web")
    run.advance(timedelta(hours=2), crash_every_30s(run, cid))

    times = restarts(run)
    assert len(times) == 8
    backoffs = [10, 20, 40, 80, 160, 300, 300]
    for (earlier, later), backoff in zip(pairwise(times), backoffs, strict=True):
        waited = (later - earlier).total_seconds()
        # allowed at `backoff`, done at the first status poll that sees the next crash
        assert backoff <= waited <= backoff + CRASH_PERIOD.total_seconds()
    gave_up = run.rows(outcome="gave_up")
    assert len(gave_up) == 1
    assert gave_up[0].at > times[-1]
    assert len(run.simulator.mutations()) == 8
    assert_audit_matches(run.rows(), run.simulator.mutations())


def test_the_default_window_allows_five_restarts_an_hour(tmp_path):
    run = scenario(tmp_path)
    cid = run.seed("web")
    run.advance(timedelta(hours=2), crash_every_30s(run, cid))
    assert len(restarts(run)) == 5
    assert len(run.rows(outcome="gave_up")) == 1


def crash_when_running(run: SimulatedRun, cid: str):
    def before_status(now: datetime) -> None:
        if run.simulator.container_status(cid) == "running":
            run.simulator.crash(cid)

    return before_status


def test_a_daemon_restart_in_the_middle_of_a_backoff_adds_no_restart(tmp_path):
    run = scenario(tmp_path)
    cid = run.seed("web")
    crash = crash_when_running(run, cid)
    run.advance(timedelta(seconds=60), crash)  # restarts at 0, 15, 45 s; next due at 85 s
    assert [(t - START).total_seconds() for t in restarts(run)] == [0, 15, 45]
    assert len(run.rows(outcome="skipped")) == 2  # the waits at 30 s and at 60 s

    run.restart_daemon()  # new policies and executor, same audit database
    run.advance(timedelta(seconds=30), crash)  # polls at 75 s (still waiting) and 90 s

    assert [(t - START).total_seconds() for t in restarts(run)] == [0, 15, 45, 90]
    assert len(run.rows(outcome="skipped")) == 2  # the wait was not audited again
    assert_audit_matches(run.rows(), run.simulator.mutations())


def test_dry_run_decides_and_audits_but_changes_nothing(tmp_path):
    run = scenario(tmp_path, dry_run=True)
    cid = run.seed("web")
    run.simulator.crash(cid)
    run.advance(timedelta(minutes=10))
    assert run.simulator.mutations() == []
    dry = run.rows(outcome="dry_run")
    assert [r.action for r in dry] == ["container.restart"] * 5
    assert len(run.rows(outcome="gave_up")) == 1
