"""auto_restart decisions over hand-built snapshots and audit history, on fixed times."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from policies import Action, AutoRestartOptions, AutoRestartPolicy, Decision, Note
from tests.policies.factories import container, folded, performed, row, snapshot

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
STEP = timedelta(seconds=5)


class Loop:
    """Evaluates the policy every 5 s, recording what an executor would have audited."""

    def __init__(
        self,
        options: AutoRestartOptions | None = None,
        outcome: str = "succeeded",
        dry_run: bool = False,
    ):
        self.policy = AutoRestartPolicy(options or AutoRestartOptions(), dry_run=dry_run)
        self.history = []
        self.decided: list[tuple[datetime, Decision]] = []
        self.now = T0
        self.outcome = outcome

    def run(self, until: timedelta, status: Callable[[datetime], str] | str = "error") -> None:
        end = self.now + until
        while self.now < end:
            current = status(self.now) if callable(status) else status
            snap = snapshot(self.now, container("app", current))
            decisions = self.policy.decide(snap, folded(self.policy, self.history), self.now)
            self.decided += [(self.now, d) for d in decisions]
            self.history += performed(decisions, self.now, self.outcome)
            self.now += STEP

    def restarts(self) -> list[datetime]:
        return [at for at, d in self.decided if isinstance(d, Action)]

    def notes(self, outcome: str) -> list[tuple[datetime, Note]]:
        return [(at, d) for at, d in self.decided if isinstance(d, Note) and d.outcome == outcome]


def gaps(times: list[datetime]) -> list[float]:
    return [(b - a).total_seconds() for a, b in pairwise(times)]


def test_restarts_follow_the_doubling_backoff_up_to_its_maximum():
    loop = Loop(AutoRestartOptions(max_restarts=100, window=timedelta(hours=1)))
    loop.run(timedelta(minutes=21))
    restarts = loop.restarts()
    assert restarts[0] == T0
    assert gaps(restarts)[:8] == [10, 20, 40, 80, 160, 300, 300, 300]


def test_each_backoff_wait_is_audited_once_with_the_next_restart_time():
    loop = Loop(AutoRestartOptions(max_restarts=100))
    loop.run(timedelta(minutes=10))
    skipped = loop.notes("skipped")
    restarts = loop.restarts()
    # one note after every restart but the last one (still waiting when the loop ends)
    assert len(skipped) == len(restarts)
    for at, note in skipped:
        assert note.reason.startswith("backoff: next restart at ")
        later = [r for r in restarts if r > at]
        if later:
            assert note.details["next_restart_at"] == later[0].isoformat()


def test_gives_up_once_after_max_restarts_within_the_window():
    loop = Loop(AutoRestartOptions(max_restarts=5, window=timedelta(hours=1)))
    loop.run(timedelta(hours=2))
    assert len(loop.restarts()) == 5
    gave_up = loop.notes("gave_up")
    assert len(gave_up) == 1
    assert gave_up[0][0] > loop.restarts()[-1]
    assert "stacks-opsd change app start" in gave_up[0][1].reason


def test_running_for_reset_after_resets_the_backoff():
    loop = Loop(AutoRestartOptions(max_restarts=100))
    loop.run(timedelta(minutes=3))  # restarts at 0, 10, 30, 70, 150 s
    assert len(loop.restarts()) == 5
    loop.run(timedelta(minutes=10), "running")
    crash = loop.now
    loop.run(timedelta(seconds=15))
    after = [at for at in loop.restarts() if at >= crash]
    assert after == [crash, crash + timedelta(seconds=10)]
    numbers = [d.details["restart_number"] for at, d in loop.decided if at >= crash]
    assert numbers[:2] == [1, 2]


def test_running_shorter_than_reset_after_keeps_the_backoff():
    loop = Loop(AutoRestartOptions(max_restarts=100))
    loop.run(timedelta(minutes=3))
    loop.run(timedelta(minutes=9), "running")
    crash = loop.now
    loop.run(timedelta(seconds=30))
    # the 5th restart was at 150 s; the 6th waits 160 s after it, i.e. it is due already
    assert [at for at in loop.restarts() if at >= crash] == [crash]
    assert [d.details["restart_number"] for at, d in loop.decided if isinstance(d, Action)][-1] == 6


def test_an_operator_start_after_giving_up_resumes_restarts():
    loop = Loop()
    loop.run(timedelta(minutes=10))
    assert len(loop.notes("gave_up")) == 1
    loop.history.append(row(loop.now, "cli", "container.start", "succeeded"))
    loop.now += timedelta(minutes=1)
    resumed = loop.now
    loop.run(timedelta(seconds=5))
    assert loop.restarts()[-1] == resumed
    assert loop.decided[-1][1].details["restart_number"] == 1


def test_after_giving_up_running_for_reset_after_resumes_restarts():
    loop = Loop()
    loop.run(timedelta(minutes=10))
    loop.run(timedelta(minutes=10), "running")  # fixed by someone outside the daemon
    running_notes = loop.notes("skipped")[-1]
    assert running_notes[1].details["event"] == "running"
    crash = loop.now
    loop.run(timedelta(seconds=5))
    assert loop.restarts()[-1] == crash


def test_after_giving_up_a_short_run_does_not_resume_restarts():
    loop = Loop()
    loop.run(timedelta(minutes=10))
    restarts = len(loop.restarts())
    loop.run(timedelta(minutes=2), "running")
    loop.run(timedelta(hours=1), "error")
    assert len(loop.restarts()) == restarts
    events = [n.details["event"] for _, n in loop.notes("skipped")][-2:]
    assert events == ["running", "given_up"]  # each transition once, then silence
    assert len(loop.notes("gave_up")) == 1


def test_restart_count_survives_a_daemon_restart():
    loop = Loop()
    loop.run(timedelta(seconds=35))  # restarts at 0, 10, 30; waiting 40 s
    restarted = AutoRestartPolicy(AutoRestartOptions())  # a new daemon, same audit rows
    loop.policy = restarted
    loop.run(timedelta(seconds=40))
    assert gaps(loop.restarts()) == [10, 20, 40]
    assert len(loop.notes("skipped")) == 3  # no second note for the wait in progress


def test_failed_and_dry_run_restarts_count_as_attempts():
    for outcome in ("failed", "unknown", "dry_run"):
        loop = Loop(outcome=outcome, dry_run=outcome == "dry_run")
        loop.run(timedelta(minutes=5))
        assert gaps(loop.restarts()) == [10, 20, 40, 80]
        assert len(loop.notes("gave_up")) == 1


def test_a_live_daemon_does_not_inherit_a_dry_runs_restarts_or_gave_up():
    loop = Loop(outcome="dry_run", dry_run=True)
    loop.run(timedelta(minutes=5))
    assert len(loop.notes("gave_up")) == 1  # the dry run would have given up
    loop.policy = AutoRestartPolicy(AutoRestartOptions())  # dry_run switched off
    loop.outcome = "succeeded"
    loop.decided.clear()
    loop.run(timedelta(seconds=40))
    assert gaps(loop.restarts()) == [10, 20]  # a fresh backoff: restart 1 right away
    assert loop.restarts()[0] == T0 + timedelta(minutes=5)
    assert loop.notes("gave_up") == []


def test_what_a_dry_run_observed_stays_true_once_it_is_off():
    loop = Loop(AutoRestartOptions(max_restarts=3))
    loop.run(timedelta(minutes=3))
    assert len(loop.notes("gave_up")) == 1  # given up for real
    loop.policy = AutoRestartPolicy(AutoRestartOptions(max_restarts=3), dry_run=True)
    loop.outcome = "dry_run"
    loop.run(timedelta(minutes=15), "running")  # a dry run sees it run for 15 minutes
    loop.policy = AutoRestartPolicy(AutoRestartOptions(max_restarts=3))  # live again
    loop.outcome = "succeeded"
    loop.decided.clear()
    loop.run(timedelta(seconds=10))
    assert len(loop.restarts()) == 1  # it ran reset_after: the give-up is over


def test_gave_up_lasts_until_a_reset_however_long_ago():
    loop = Loop(AutoRestartOptions(max_restarts=3))
    loop.run(timedelta(minutes=3))
    assert len(loop.notes("gave_up")) == 1
    loop.now += timedelta(days=90)  # still crashed, months later, on a restarted daemon
    loop.policy = AutoRestartPolicy(AutoRestartOptions(max_restarts=3))
    loop.decided.clear()
    loop.run(timedelta(minutes=10))
    assert loop.restarts() == []


def test_stopped_containers_are_never_touched():
    loop = Loop(AutoRestartOptions(statuses=("error", "stopped")))
    loop.run(timedelta(minutes=5), "stopped")
    assert loop.decided == []


def test_unknown_statuses_and_statuses_not_configured_are_ignored():
    loop = Loop(AutoRestartOptions(statuses=("error", "exploded")))
    loop.run(timedelta(minutes=1), "exploded")
    loop.run(timedelta(minutes=1), "pending")
    assert loop.decided == []


def test_nothing_happens_on_a_stale_snapshot():
    policy = AutoRestartPolicy(AutoRestartOptions())
    stale = snapshot(T0, container("app", "error"), status_ok=False)
    assert policy.decide(stale, {}, T0) == []


def test_only_matched_containers_are_restarted():
    policy = AutoRestartPolicy(AutoRestartOptions(match=("web-*",), exclude=("web-canary",)))
    snap = snapshot(
        T0,
        container("web-1", "error"),
        container("web-canary", "error"),
        container("db", "error"),
    )
    decisions = policy.decide(snap, {}, T0)
    assert [(d.container_name, d.action) for d in decisions] == [("web-1", "container.restart")]
    assert all(d.gated for d in decisions)


def test_a_long_unobserved_gap_counts_as_running():
    """A daemon down for longer than reset_after cannot tell; it starts a new backoff."""
    policy = AutoRestartPolicy(AutoRestartOptions())
    history = [
        row(T0 + timedelta(seconds=s), "policy:auto_restart", "container.restart", "started")
        for s in (0, 10, 30)
    ]
    snap_at = T0 + timedelta(minutes=15)
    states = folded(policy, history)
    decisions = policy.decide(snapshot(snap_at, container("app", "error")), states, snap_at)
    assert [d.details["restart_number"] for d in decisions] == [1]


def test_the_exported_backoff_is_nonzero_only_while_waiting_for_a_restart():
    options = AutoRestartOptions()
    loop = Loop(options)
    loop.run(timedelta(seconds=40))  # restarts at 0, 10, 30 s; the crash seen at 35 s waits 40 s

    def backing_off(at: datetime) -> float:
        state = folded(loop.policy, loop.history)["usr-abc12345-app"]
        wait = state.backing_off(at, options.backoff_initial, options.backoff_max)
        return wait.total_seconds()

    assert backing_off(loop.now) == 40
    assert backing_off(T0 + timedelta(seconds=70)) == 0  # due: no longer backing off
    loop.run(timedelta(minutes=10))  # gave up
    assert backing_off(loop.now) == 0
