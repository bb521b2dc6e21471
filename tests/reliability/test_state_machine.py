"""A stateful hypothesis test of the action-safety contract (README "Action safety").

The real daemon runs in simulated time against the in-process simulator while
hypothesis interleaves what can happen to it: time passing; crashes; a human
stopping, starting, pinning, backing up or setting a status the guide does not
name, also in the middle of one of the daemon's waits (a Retry-After, a slow
answer); 429s and ambiguous answers (garbage, empty 204, dropped, slow) on the next
change; lying rate-limit headers for a while; redeploys, a SIGTERM or a kill -9 in
the middle of a wait, a change of leader; operators running `stacks-opsd change`
(restart, stop, start, restore, and one delete), also while their claim on the
container spans a daemon step, while the daemon runs during their backup wait, or
killed during that wait. After every step:

1. the audit equals the mutation log: each applied change (minus the human's)
   belongs to the one daemon or cli action open when it was applied, which says
   `succeeded` (or `unknown`/`interrupted`); no `succeeded` row claims a change
   that was not applied, and no row says "nothing sent" of one that was;
2. no gated change reached a running container without a completed backup of it,
   taken after its action's trigger (or reused), first; one to a container that
   was not running records `not running` (an operator's --force past a status the
   guide does not name: `forced` when STACKS refused the backup, else the backup it
   took or reused, held to the same rules);
3. no daemon restart reached a container someone stopped (with no crash or start
   since), nor any container that was not crashed; the daemon never changes a
   container an operator has claimed;
4. every action has at most one `started` row and exactly one outcome row;
5. after two minutes or more, the daemon has polled status within one status
   interval + 60 s + the Retry-Afters it was given (not counting the time its
   synchronous actions took), and it never sent a request before a Retry-After it
   was given had passed;
6. in dry run nothing but the human's changes reaches STACKS;
7. `audit verify` passes.

In the default suite it runs 20 examples of up to 30 steps (and 6 in dry run): about
a minute on two shared cores. A longer soak raises the number of examples:

    STACKS_OPSD_FSM_EXAMPLES=500 .venv/bin/pytest -p no:cacheprovider \
        tests/reliability/test_state_machine.py --hypothesis-show-statistics

(a third as many in dry run; the timeout grows with them). Add `--hypothesis-seed=N`
to vary or repeat a run.
"""

import os
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from daemon.audit import new_action_id
from daemon.simulator import RateHeaderMode
from tests.reliability.state_machine_checks import (
    CRASHED,
    STARTED,
    STOPPED,
    UNLISTED,
    HandEvents,
    attribute,
    audit_matches_log,
    describe_mutation,
    gate_before_change,
    no_restart_after_a_stop,
    one_outcome_per_action,
)
from tests.reliability.state_machine_world import CLI_VERBS, DAEMON_STARTS, Killed, World

WHICH = st.integers(0, 9)  # a container, modulo the fleet
ANSWERS = ("garbage", "empty204", "drop", "slow")
MATCHES = (
    None,
    r"^PUT /api/v1/containers/[^/]+/status$",
    r"^POST /api/v1/containers/[^/]+/backup$",
    r"^POST /api/v1/backups/\d+/(pin|unpin|restore)$",
)
UNLISTED_STATUSES = ("starting", "restarting", "paused", "unknown")
HUMAN_ACTS = ("stopped", "stopped", "running", "starting", "pin")
STEP_SECONDS = st.sampled_from((5, 15, 20, 45, 60, 120, 150, 240))
RETRY_AFTER = st.sampled_from((0, 0, 3, 20))  # 0: no 429 first
POLL_ALLOWANCE = timedelta(seconds=60)  # one rate-limit window
# Every way the rate-limit headers can lie, one at a time or at random ("honest" is the rest).
LYING = tuple(mode.value for mode in RateHeaderMode if mode is not RateHeaderMode.HONEST)


def reached(what: str) -> None:
    """Count what the examples reach (`--hypothesis-show-statistics`); a no-op when a
    failing example is replayed by hand."""
    if currently_in_test_context():
        event(what)


def problems_message(title: str, problems: list[str]) -> str:
    return f"{title}: {len(problems)} problem(s)\n  - " + "\n  - ".join(problems)


class ActionSafety(RuleBasedStateMachine):
    DRY_RUN = False

    def __init__(self) -> None:
        super().__init__()
        self.world: World | None = None
        self.directory = Path(tempfile.mkdtemp(prefix="state-machine-"))
        self.hands = HandEvents()
        self.leaders = 0
        self.deleted: set[str] = set()

    @initialize(
        start=st.sampled_from(tuple(DAEMON_STARTS)),
        statuses=st.lists(
            st.sampled_from(("running", "running", "stopped", "error")), min_size=2, max_size=4
        ),
        fresh=st.sampled_from((None, "running", "error")),
        reuse_within=st.sampled_from((0, 0, 90)),
        seed=st.integers(0, 2**16),
    )
    def start(self, start, statuses, fresh, reuse_within, seed) -> None:
        self.world = World(
            self.directory,
            dry_run=self.DRY_RUN,
            start=start,
            statuses=statuses,
            fresh=fresh,
            reuse_within=timedelta(seconds=reuse_within),
            seed=seed,
        )
        for container_id, status in zip(self.world.ids, statuses, strict=False):
            if status == "stopped":  # stopped by someone before the daemon started
                self.hands.add(container_id, 0.5, STOPPED, "stopped before the daemon started")

    def teardown(self) -> None:
        if self.world is not None:
            self.world.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    # -- helpers -----------------------------------------------------------------------

    def pick(self, which: int) -> str:
        return self.world.ids[which % len(self.world.ids)]

    def position(self) -> float:
        """Now, as a point in the mutation log (after the last change applied)."""
        return len(self.world.sim.mutations()) + 0.5

    def exists(self, container_id: str) -> bool:
        return container_id not in self.deleted

    def human_sets(self, container_id: str, status: str) -> None:
        if not self.exists(container_id):
            return
        kind = {"stopped": STOPPED, "running": STARTED}.get(status, UNLISTED)
        self.world.sim.set_status(container_id, status)
        self.hands.add(container_id, self.position(), kind, f"a human set it {status}")

    def human_pins_newest(self, container_id: str) -> None:
        """Pins the newest backup through the API (as the daemon's weekly pin would)."""
        backups = self.world.sim.backups_of(container_id)
        if backups:
            newest = max(backups, key=lambda b: (b.created_at, b.id))
            self.world.as_human(lambda client: client.pin_backup(newest.id))

    def advance(self, seconds: int) -> None:
        self.world.run.advance(timedelta(seconds=seconds))

    # -- rules: time and the fleet -----------------------------------------------------

    @rule(seconds=STEP_SECONDS)
    def time_passes(self, seconds) -> None:
        world = self.world
        retry_afters = len(world.recorder.daemon_retry_afters)
        self.advance(seconds)
        if seconds >= 120:
            self.check_polled_recently(world.recorder.daemon_retry_afters[retry_afters:])

    @rule(which=WHICH)
    def crash(self, which) -> None:
        container_id = self.pick(which)
        if not self.exists(container_id):
            return
        self.world.sim.crash(container_id)
        self.hands.add(container_id, self.position(), CRASHED, "crashed")

    @rule(which=WHICH, status=st.sampled_from(("stopped", "running")))
    def human_sets_status(self, which, status) -> None:
        self.human_sets(self.pick(which), status)

    @rule(which=WHICH, status=st.sampled_from(UNLISTED_STATUSES))
    def unlisted_status(self, which, status) -> None:
        self.human_sets(self.pick(which), status)

    @rule(which=WHICH, nth=st.integers(0, 9), pin=st.booleans())
    def human_pins(self, which, nth, pin) -> None:
        backups = self.world.sim.backups_of(self.pick(which))
        if not backups:
            return
        backup = sorted(backups, key=lambda b: b.id)[nth % len(backups)]
        if pin:
            self.world.as_human(lambda client: client.pin_backup(backup.id))
        else:
            self.world.as_human(lambda client: client.unpin_backup(backup.id))

    @rule(which=WHICH)
    def human_backs_up(self, which) -> None:
        container_id = self.pick(which)
        self.world.as_human(lambda client: client.trigger_backup(container_id))

    @rule(
        which=WHICH,
        act=st.sampled_from(HUMAN_ACTS),
        seconds=STEP_SECONDS,
        crash_first=st.booleans(),
        with_429=RETRY_AFTER,
    )
    def human_acts_during_the_next_wait(self, which, act, seconds, crash_first, with_429) -> None:
        """While the daemon waits (a Retry-After, the budget, a slow answer), a human stops,
        starts, pins...: the container crashed first, say, its restart meeting a 429 first.
        The check right before the request must see it."""
        container_id = self.pick(which)
        if crash_first:
            self.crash(which)
        if with_429:
            self.world.sim.reject_mutations_429(1, with_429)
        if act == "pin":
            self.world.clock.at_next_wait.append(lambda: self.human_pins_newest(container_id))
        else:
            self.world.clock.at_next_wait.append(lambda: self.human_sets(container_id, act))
        self.advance(seconds)
        self.world.clock.fire()

    # -- rules: STACKS misbehaving -----------------------------------------------------

    @rule(count=st.integers(1, 3), retry_after=st.integers(1, 30))
    def next_changes_meet_429(self, count, retry_after) -> None:
        self.world.sim.reject_mutations_429(count, retry_after)

    @rule(
        answer=st.sampled_from(ANSWERS),
        match=st.sampled_from(MATCHES),
        garbage_kind=st.sampled_from(("html", "truncated")),
        slow_seconds=st.integers(1, 20),
    )
    def next_change_answered_badly(self, answer, match, garbage_kind, slow_seconds) -> None:
        self.world.sim.answer_after_apply(
            answer, 1, match, garbage_kind=garbage_kind, slow_seconds=slow_seconds
        )

    @rule(mode=st.sampled_from(LYING), seconds=STEP_SECONDS)
    def lying_rate_headers_for_a_while(self, mode, seconds) -> None:
        world = self.world
        world.sim.skew_rate_headers(str(mode))
        retry_afters = len(world.recorder.daemon_retry_afters)
        try:
            self.advance(seconds)
            if seconds >= 120:  # even while they lie, the budget holds back one window at most
                self.check_polled_recently(world.recorder.daemon_retry_afters[retry_afters:])
        finally:
            world.sim.skew_rate_headers("honest")

    # -- rules: the daemon's life ------------------------------------------------------

    @rule()
    def redeploy(self) -> None:
        self.world.run.restart_daemon()
        self.world.recorder.new_daemon_process()

    @rule(seconds=STEP_SECONDS, crash=st.none() | WHICH, with_429=RETRY_AFTER)
    def sigterm_during_the_next_wait_then_redeploy(self, seconds, crash, with_429) -> None:
        """SIGTERM while the daemon waits (say in the Retry-After of a crashed container's
        restart), then `stacks-opsd run` starts again on the same database."""
        world = self.world
        if crash is not None:
            self.crash(crash)
        if with_429:
            world.sim.reject_mutations_429(1, with_429)
        world.clock.at_next_wait.append(lambda: world.run.daemon.clock.stop())
        self.advance(seconds)
        world.clock.at_next_wait.clear()
        world.run.restart_daemon()
        world.recorder.new_daemon_process()

    @rule(crash=st.none() | WHICH, with_429=RETRY_AFTER, seconds=STEP_SECONDS)
    def daemon_killed_during_its_next_wait(self, crash, with_429, seconds) -> None:
        """kill -9 of `run` while it waits (a restart's Retry-After, a slow answer), then it
        starts again and reconciles what the dead process left open."""
        world = self.world
        if crash is not None:
            self.crash(crash)
        if with_429:
            world.sim.reject_mutations_429(1, with_429)

        def kill() -> None:
            raise Killed

        world.clock.at_next_wait.append(kill)
        try:
            self.advance(seconds)
        except Killed:
            reached("the daemon was killed mid-job")
            world.run.kill_daemon()
            world.recorder.new_daemon_process()
            self.advance(15)  # the new process takes over within one status interval
        finally:
            world.clock.at_next_wait.clear()

    @rule()
    def leader_changes(self) -> None:
        self.leaders += 1
        self.world.run.change_leader(f"opsd-{'bcdefghijklmnopqrstuvwxyz'[self.leaders % 25]}")
        self.world.recorder.new_daemon_process()

    # -- rules: operators --------------------------------------------------------------

    def operator_target(self, verb: str, container_id: str, nth: int) -> str | None:
        if verb != "restore":
            return None
        backups = sorted(self.world.sim.backups_of(container_id), key=lambda b: b.id)
        return str(backups[nth % len(backups)].id) if backups else None

    @rule(
        which=WHICH,
        verb=st.sampled_from(tuple(CLI_VERBS)),
        nth=st.integers(0, 9),
        force=st.booleans(),
    )
    def operator_changes(self, which, verb, nth, force) -> None:
        container_id = self.pick(which)
        target = self.operator_target(verb, container_id, nth)
        if verb == "restore" and target is None:
            return  # `change` refuses a backup that is not the container's
        self.world.as_operator(CLI_VERBS[verb], container_id, target=target, force=force)

    @rule(
        which=WHICH,
        verb=st.sampled_from(tuple(CLI_VERBS)),
        nth=st.integers(0, 9),
        seconds=STEP_SECONDS,
        crash_meanwhile=st.booleans(),
    )
    def operator_changes_while_the_daemon_runs(
        self, which, verb, nth, seconds, crash_meanwhile
    ) -> None:
        """`change` waits (for its pre-change backup, a Retry-After) while the daemon runs
        its jobs, the container crashing meanwhile, say: the daemon leaves the claimed
        container and the open action alone."""
        world = self.world
        container_id = self.pick(which)
        performed = len(world.run.outcomes)

        def daemon_step() -> None:
            if crash_meanwhile:
                self.crash(which)
            world.recorder.actor = "daemon"
            try:
                self.advance(seconds)
            finally:
                world.recorder.actor = "cli"
            if "busy" in world.run.outcomes[performed:]:
                reached("the daemon left a container an operator was changing")

        world.clock.at_next_wait.append(daemon_step)
        seen = len(world.sim.mutations())
        try:
            self.operator_changes(which, verb, nth, force=False)
        finally:
            world.clock.at_next_wait.clear()
        self.check_left_alone(container_id, seen, "an operator was changing it")

    @precondition(lambda self: self.world is not None and not self.deleted)
    @rule(which=WHICH)
    def operator_deletes(self, which) -> None:
        """A gated delete through the executor (once per example: the fleet is small)."""
        container_id = self.pick(which)
        outcome = self.world.as_operator("container.delete", container_id)
        if outcome.outcome in ("succeeded", "unknown"):
            self.deleted.add(container_id)

    @rule(which=WHICH, verb=st.sampled_from(tuple(CLI_VERBS)), nth=st.integers(0, 9))
    def operator_killed_during_its_wait(self, which, verb, nth) -> None:
        """kill -9 of `change` while it waits for its backup (or a Retry-After, or a slow
        answer): the daemon closes its open action within a status interval."""
        world = self.world

        def kill() -> None:
            raise Killed

        world.clock.at_next_wait.append(kill)
        try:
            self.operator_changes(which, verb, nth, force=False)
        except Killed:
            reached("an operator was killed mid-change")
            world.operator_killed()
            self.advance(15)
        finally:
            world.clock.at_next_wait.clear()

    @rule(
        which=WHICH,
        verb=st.sampled_from(tuple(CLI_VERBS)),
        nth=st.integers(0, 9),
        seconds=STEP_SECONDS,
        then_act=st.booleans(),
    )
    def operator_holds_the_claim_across_a_step(self, which, verb, nth, seconds, then_act) -> None:
        """`change` has claimed the container (it waits for its backup, say) while the
        daemon runs: the daemon must leave the container alone; then it acts, or gives up."""
        world = self.world
        container_id = self.pick(which)
        holder = world.operator.store.claim(container_id, CLI_VERBS[verb], new_action_id())
        assert holder is None, f"the operator could not claim {container_id}: {holder}"
        seen, performed = len(world.sim.mutations()), len(world.run.outcomes)
        self.advance(seconds)
        if "busy" in world.run.outcomes[performed:]:
            reached("the daemon left a container an operator had claimed")
        self.check_left_alone(container_id, seen, "an operator held its claim")
        target = self.operator_target(verb, container_id, nth)
        if then_act and (verb != "restore" or target is not None):
            world.as_operator(CLI_VERBS[verb], container_id, target=target)
        else:
            world.operator.store.release_claim(container_id)

    # -- invariants --------------------------------------------------------------------

    def check_left_alone(self, container_id: str, since: int, why: str) -> None:
        """One actor per container: no daemon change to it since mutation #`since`."""
        applied = self.world.recorder.applied
        touched = [
            describe_mutation(m, applied[m.seq])
            for m in self.world.sim.mutations()[since:]
            if applied[m.seq].actor == "daemon" and m.container_id == container_id
        ]
        assert not touched, f"the daemon changed {container_id} while {why}: {touched}"

    def check_polled_recently(self, retry_afters: list) -> None:
        """5. The budget never stalls the status poll for more than a window (+ Retry-After)."""
        world = self.world
        run = world.run
        now = world.clock.now()
        taken = run.daemon.poller.snapshot.taken_at
        assert taken is not None, f"no successful status poll at all by {now}"
        acting = sum(
            ((end - start) for start, end in run.action_spans if start >= taken), timedelta()
        )
        retry_after = timedelta(seconds=max((s for _, s in retry_afters), default=0))
        allowed = run.config.poll.status_interval + POLL_ALLOWANCE + retry_after
        stalled = now - taken - acting
        assert stalled <= allowed, (
            f"the last successful status poll was at {taken:%H:%M:%S}, now is {now:%H:%M:%S}: "
            f"{stalled} without one outside actions (allowed {allowed}; Retry-Afters "
            f"given meanwhile: {retry_afters}; last error: {run.daemon.poller.snapshot.last_error})"
        )

    @invariant()
    def action_safety_holds(self) -> None:
        world = self.world
        if world is None:
            return
        rows = world.run.daemon.store.query()
        mutations = world.sim.mutations()
        applied = world.recorder.applied
        found = attribute(rows, mutations, applied)
        problems = [
            *one_outcome_per_action(rows),
            *audit_matches_log(rows, mutations, applied, found),
            *gate_before_change(
                rows,
                mutations,
                applied,
                found,
                world.refresh_backups(),
                world.config.policies.pre_change_backup.reuse_within,
            ),
            *no_restart_after_a_stop(
                mutations,
                applied,
                found,
                self.hands,
                world.config.policies.auto_restart.statuses,
            ),
            *world.recorder.early,
        ]
        if self.DRY_RUN:
            problems += [
                f"dry run, yet STACKS applied mutation #{m.seq} {m.method} {m.path} "
                f"(by {applied[m.seq].actor})"
                for m in mutations
                if m.seq not in found.human
            ]
        assert not problems, problems_message("action safety", problems)
        for row in rows:  # what the examples reach: `--hypothesis-show-statistics`
            if row.outcome != "started":
                reached(f"{row.actor} {row.action} {row.outcome}")
        for m in mutations:
            if m.answer != "ok":
                reached(f"{applied[m.seq].actor} change answered {m.answer}")
        verified = world.run.daemon.store.verify()
        assert verified.ok, f"audit verify failed: {verified}"


class DryRunActionSafety(ActionSafety):
    """The same world with `daemon.dry_run = true`, for the daemon and the operator."""

    DRY_RUN = True


def examples() -> int:
    """How many examples to run: 20, or `STACKS_OPSD_FSM_EXAMPLES` for a long soak."""
    wanted = os.environ.get("STACKS_OPSD_FSM_EXAMPLES", "").strip()
    if not wanted:
        return 20
    if not wanted.isdigit() or int(wanted) < 1:
        raise ValueError(f"STACKS_OPSD_FSM_EXAMPLES must be a positive integer, got {wanted!r}")
    return int(wanted)


EXAMPLES = examples()
SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=30,
    deadline=None,
    database=None,
    report_multiple_bugs=False,
    # No `explain` phase: its line tracer makes a failing example take minutes on 3.11.
    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ActionSafety.TestCase.settings = SETTINGS
DryRunActionSafety.TestCase.settings = settings(SETTINGS, max_examples=max(EXAMPLES // 3, 1))
# An example takes 1 to 3 s; a failing run also shrinks its example (up to 5 more minutes).
TIMEOUT = 900 + 10 * EXAMPLES
TestActionSafety = pytest.mark.timeout(TIMEOUT)(ActionSafety.TestCase)
TestDryRunActionSafety = pytest.mark.timeout(TIMEOUT)(DryRunActionSafety.TestCase)


def test_a_backup_begun_during_the_triggers_retry_after_is_not_the_pre_change_backup(tmp_path):
    """Found by the machine (there: the 02:00 scheduled backup, started while `change`
    waited out a 429 on its backup trigger). The gate lists the backups, its trigger
    meets a 429, and a human starts a backup during the Retry-After; the trigger is sent
    again and STACKS starts the gate's own backup. SPEC 7: the change waits for "a
    backup created after the trigger". The human's backup was created before it."""
    world = World(
        tmp_path,
        dry_run=False,
        start="before the weekly pin",
        statuses=["running"],
        fresh=None,
        reuse_within=timedelta(0),
        seed=0,
    )
    try:
        app = world.ids[0]
        world.sim.reject_mutations_429(1, retry_after=30)  # the gate's first trigger
        world.clock.at_next_wait.append(
            lambda: world.as_human(lambda client: client.trigger_backup(app))
        )
        outcome = world.as_operator("container.restart", app)

        rows = world.run.daemon.store.query()
        mutations = world.sim.mutations()
        applied = world.recorder.applied
        found = attribute(rows, mutations, applied)
        problems = gate_before_change(
            rows, mutations, applied, found, world.refresh_backups(), timedelta(0)
        )
        assert outcome.outcome == "succeeded", outcome
        assert not problems, problems_message("pre-change backup", problems)
    finally:
        world.close()


def test_an_applied_change_whose_answer_a_sigterm_cut_short_is_not_audited_as_never_sent():
    """Found by the machine (its shrunk example, replayed). STACKS applies the weekly pin
    and holds its answer back; SIGTERM arrives meanwhile. The read-back after the
    ambiguous answer is refused by the stopping client (StopRequested, not a
    StacksError), so it escapes `Executor._verify` and `_send_once`, and `_perform`
    writes `interrupted` "the daemon stopped before the change" for a change STACKS made."""
    state = ActionSafety()
    try:
        state.start(
            start="before the weekly pin",
            statuses=["running", "running"],
            fresh=None,
            reuse_within=0,
            seed=0,
        )
        state.next_change_answered_badly(
            answer="slow", garbage_kind="html", match=None, slow_seconds=1
        )
        state.sigterm_during_the_next_wait_then_redeploy(crash=None, seconds=150, with_429=0)
        state.action_safety_holds()
    finally:
        state.teardown()


def test_force_on_a_running_container_does_not_waive_its_pre_change_backup(tmp_path):
    """Found by the machine (seed 8: `change app1 restore 5 --force` while the next three
    changes met 429s). `--force` overrides the fail-closed abort on a status the guide does
    not name, nothing else. Here the container is running; its backup trigger is refused
    with 429 three times (nothing proves a backup impossible), and the change must not
    reach STACKS without a completed backup: the gate failed, so it is aborted
    (on_failure = abort)."""
    world = World(
        tmp_path,
        dry_run=False,
        start="before the weekly pin",
        statuses=["running"],
        fresh=None,
        reuse_within=timedelta(0),
        seed=0,
    )
    try:
        app = world.ids[0]
        world.sim.reject_mutations_429(3, retry_after=14)  # every send of the gate's trigger
        outcome = world.as_operator("container.restart", app, force=True)

        rows = world.run.daemon.store.query()
        mutations = world.sim.mutations()
        applied = world.recorder.applied
        found = attribute(rows, mutations, applied)
        problems = gate_before_change(
            rows, mutations, applied, found, world.refresh_backups(), timedelta(0)
        )
        assert not problems, problems_message("pre-change backup", problems)
        assert outcome.outcome == "aborted", outcome
        assert [m.method for m in mutations] == [], mutations
    finally:
        world.close()
