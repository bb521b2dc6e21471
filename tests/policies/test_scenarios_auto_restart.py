"""auto_restart end to end: simulator, client, executor and audit store on one manual clock."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from daemon.config import PoliciesConfig
from tests.policies.audit_truth import assert_audit_matches
from tests.policies.harness import Harness, with_options

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
CRASH_PERIOD = timedelta(seconds=30)


def crash_every_30s(harness: Harness, cid: str):
    def before_each(now: datetime) -> None:
        running = harness.client.container_status(cid).status == "running"
        if running and (now - START) % CRASH_PERIOD == timedelta(0):
            harness.sim.crash(cid)

    return before_each


def restarts(harness: Harness):
    return [r.at for r in harness.rows(action="container.restart", outcome="started")]


def test_a_crash_loop_follows_the_backoff_curve_and_gives_up_once(tmp_path):
    config = with_options(PoliciesConfig(), auto_restart={"max_restarts": 8})
    harness = Harness(tmp_path, START, config)
    cid = harness.seed("web")
    harness.run(timedelta(hours=2), crash_every_30s(harness, cid))

    times = restarts(harness)
    assert len(times) == 8
    backoffs = [10, 20, 40, 80, 160, 300, 300]
    for (earlier, later), backoff in zip(pairwise(times), backoffs, strict=True):
        waited = (later - earlier).total_seconds()
        # allowed at `backoff`, done at the first status poll that sees the next crash
        assert backoff <= waited <= backoff + CRASH_PERIOD.total_seconds()
    gave_up = harness.rows(outcome="gave_up")
    assert len(gave_up) == 1
    assert gave_up[0].at > times[-1]
    assert len(harness.sim.mutations()) == 8
    assert_audit_matches(harness.rows(), harness.sim.mutations())


def test_the_default_window_allows_five_restarts_an_hour(tmp_path):
    harness = Harness(tmp_path, START, PoliciesConfig())
    cid = harness.seed("web")
    harness.run(timedelta(hours=2), crash_every_30s(harness, cid))
    assert len(restarts(harness)) == 5
    assert len(harness.rows(outcome="gave_up")) == 1


def crash_when_running(harness: Harness, cid: str):
    def before_each(now: datetime) -> None:
        if harness.client.container_status(cid).status == "running":
            harness.sim.crash(cid)

    return before_each


def test_a_daemon_restart_in_the_middle_of_a_backoff_adds_no_restart(tmp_path):
    harness = Harness(tmp_path, START, PoliciesConfig())
    cid = harness.seed("web")
    crash = crash_when_running(harness, cid)
    harness.run(timedelta(seconds=75), crash)  # restarts at 0, 15, 45 s; next due at 85 s
    assert [(t - START).total_seconds() for t in restarts(harness)] == [0, 15, 45]
    assert len(harness.rows(outcome="skipped")) == 2  # the waits at 30 s and at 60 s

    harness.restart_daemon()  # new policies and executor, same audit database
    harness.run(timedelta(seconds=30), crash)  # polls at 75 s (still waiting) and 90 s

    assert [(t - START).total_seconds() for t in restarts(harness)] == [0, 15, 45, 90]
    assert len(harness.rows(outcome="skipped")) == 2  # the wait was not audited again
    assert_audit_matches(harness.rows(), harness.sim.mutations())


def test_dry_run_decides_and_audits_but_changes_nothing(tmp_path):
    harness = Harness(tmp_path, START, PoliciesConfig(), dry_run=True)
    cid = harness.seed("web")
    harness.sim.crash(cid)
    harness.run(timedelta(minutes=10))
    assert harness.sim.mutations() == []
    dry = harness.rows(outcome="dry_run")
    assert [r.action for r in dry] == ["container.restart"] * 5
    assert len(harness.rows(outcome="gave_up")) == 1
