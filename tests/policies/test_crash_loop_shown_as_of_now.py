"""What the daemon shows of a crash loop (the gauge, `/status`, `explain`) is what it would
do now: a container that has run `reset_after` since the policy last saw it crash shows a
reset backoff, as the next crash finds it."""

import dataclasses
from datetime import UTC, datetime, timedelta

from daemon.explanation import explanation, render_text
from tests.support.simulated_run import AMPLE_RATE_LIMIT, SimulatedRun, config_with

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
STATUS_INTERVAL = timedelta(seconds=5)
RESET_AFTER = timedelta(minutes=10)  # the default


def scenario(tmp_path, **options) -> tuple[SimulatedRun, str]:
    config = config_with(status_interval=STATUS_INTERVAL, auto_restart=options)
    run = SimulatedRun(tmp_path, config, start=START, rate_limit=AMPLE_RATE_LIMIT)
    return run, run.seed("web")


def crash_whenever_running(run: SimulatedRun, cid: str):
    def before_status(now: datetime) -> None:
        if run.simulator.container_status(cid) == "running":
            run.simulator.crash(cid)

    return before_status


def gave_up_gauge(run: SimulatedRun, cid: str) -> float | None:
    labels = {"container_id": cid, "name": "web"}
    return run.daemon.metrics.registry.get_sample_value("stacks_opsd_restart_gave_up", labels)


def status_of(run: SimulatedRun) -> dict:
    containers = run.daemon.status()["containers"]
    return next(c["auto_restart"] for c in containers if c["name"] == "web")


def explain_lines(run: SimulatedRun, cid: str) -> list[str]:
    """The `[auto_restart]` state lines of `stacks-opsd explain web`."""
    view = run.daemon.poller.snapshot.containers[cid]
    states = run.daemon.last_evaluation.states
    document = explanation(run.config, run.daemon.policies, view, states, run.clock.now())
    text = render_text(document)
    section = text.split("[auto_restart]\n")[1].split("\n\n")[0]
    return [line.strip() for line in section.splitlines() if "=" not in line]


def restarts(run: SimulatedRun) -> int:
    return len(run.rows(action="container.restart", outcome="started"))


def test_gave_up_ends_once_the_container_has_run_reset_after_fixed_by_hand(tmp_path):
    run, cid = scenario(tmp_path)
    run.advance(timedelta(minutes=20), crash_whenever_running(run, cid))
    assert len(run.rows(outcome="gave_up")) == 1
    assert gave_up_gauge(run, cid) == 1

    run.simulator.set_status(cid, "running")  # fixed outside the daemon (the dashboard)
    run.advance(RESET_AFTER - timedelta(minutes=1))
    assert gave_up_gauge(run, cid) == 1  # not yet: a crash now would not be restarted
    assert status_of(run) == {"gave_up": True, "restarts": 5}
    assert any(line.endswith("(gave up)") for line in explain_lines(run, cid))

    run.advance(timedelta(minutes=2))  # it has now run longer than reset_after
    assert gave_up_gauge(run, cid) == 0
    assert status_of(run) == {"gave_up": False, "restarts": 0}
    lines = explain_lines(run, cid)
    assert "gave up at: -" in lines
    assert "next restart: at once, if it crashes" in lines

    before = restarts(run)
    run.simulator.crash(cid)
    run.advance(STATUS_INTERVAL)
    assert restarts(run) == before + 1  # what it showed: the crash is restarted at once


def test_explain_after_max_restarts_and_a_long_run_says_a_crash_is_restarted_at_once(tmp_path):
    run, cid = scenario(tmp_path, max_restarts=3)
    for _ in range(3):
        run.simulator.crash(cid)
        run.advance(timedelta(minutes=1))
    assert restarts(run) == 3

    run.advance(RESET_AFTER + timedelta(minutes=5))
    lines = explain_lines(run, cid)
    assert "restarts within window: 0" in lines
    assert "backoff: 0s" in lines
    assert "next restart: at once, if it crashes" in lines

    run.simulator.crash(cid)
    run.advance(STATUS_INTERVAL)
    assert restarts(run) == 4  # what explain said: restarted at once, not given up
    assert run.rows(outcome="gave_up") == []


def test_gave_up_ends_when_auto_restart_no_longer_covers_the_container(tmp_path):
    """An operator excludes the given-up container and fixes it by hand: the gauge (a
    critical page) must not keep showing what no policy is doing, across a redeploy."""
    run, cid = scenario(tmp_path)
    run.advance(timedelta(minutes=20), crash_whenever_running(run, cid))
    assert gave_up_gauge(run, cid) == 1

    run.simulator.set_status(cid, "running")
    run.config = config_with(status_interval=STATUS_INTERVAL, auto_restart={"exclude": ("web",)})
    run.config = dataclasses.replace(
        run.config, api=run.daemon.config.api, daemon=run.daemon.config.daemon
    )
    before = run.daemon.store.last_id()
    run.restart_daemon()
    run.advance(timedelta(minutes=1))
    assert gave_up_gauge(run, cid) is None
    # Seen running again, the crash loop it saw ends in the history too (the note that
    # resolves the Alertmanager alert and starts the reset), though nothing is restarted.
    since = [r for r in run.rows() if r.id > before]
    assert [(r.outcome, r.container_id) for r in since] == [("skipped", cid)]
    assert '"event":"running"' in since[0].details
