"""auto_restart: restart crashed containers with kubelet-style crash-loop backoff.

```toml
[policies.auto_restart]
enabled = true
match = ["*"]                # container name globs
exclude = []                 # container name globs never touched
statuses = ["error"]         # a stopped container is never restarted
backoff_initial = "10s"      # then doubles
backoff_max = "5m"
reset_after = "10m"          # running this long resets the backoff
max_restarts = 5             # within `window`; then give up until a human acts
window = "1h"
```

A crashed container (status in `statuses`; never `stopped`, never an unknown
status) is restarted at once, then after 10 s, 20 s, 40 s ... at most
`backoff_max` after the previous attempt. After `max_restarts` attempts within
`window` the policy gives up (one `gave_up` row) until the container has run for
`reset_after` or an operator runs `stacks-opsd change NAME start` (or
`restart`), however long that takes. Nothing happens on a stale snapshot.

The crash-loop state (`RestartState`) comes from the audit history only, so it
survives daemon restarts. One container's rows read as a sequence of events:

    operator start   `cli` container.start/restart succeeded: everything resets
    restart attempt  policy container.restart started/aborted (one per action_id); also
                     dry_run, but only while the daemon itself dry-runs
    crash seen       policy note `skipped` (backoff) or `gave_up`: the container was in error
    running seen     policy note `skipped` with details event "running": it came back by
                     itself or through someone else (dashboard), not through the daemon

Rows are written only when something changes: each restart, the first sight of
each crash it waits out (`skipped`, with the next restart time), `gave_up`, and a
container seen running again without the daemon's help. So the time from the
last (re)start to the first crash row after it is how long the container ran; if
that is at least `reset_after`, the backoff resets (restart count and `gave_up`
cleared). When no crash row follows the last start, the container has been running
since: once that is `reset_after`, the state is reset as of now (`as_of`), with no
row to say so, and decisions, gauges, `/status` and `explain` all start from that.
So a daemon that was down longer than `reset_after` treats the unobserved gap as
running, like kubelet forgetting a backoff entry not touched for a while.

The state is folded incrementally (`restart_state(rows, ..., state)` applies a
container's new rows to its previous state) and keeps only what can still change
a decision: the attempts within `window` of the newest one, and the number of
attempts since the last reset (the backoff's doublings, the restart number). The
history it asks for is about two hours (`horizon()`) plus, per container, the
rows since a `gave_up` that no reset has ended yet.
"""

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar

from daemon.audit import AuditAction, Episode, HistoryQuery, HistoryRow, Outcome, RowKind
from daemon.durations import format_duration
from daemon.snapshot import ContainerView, Snapshot
from daemon.stacks import KNOWN_CONTAINER_STATUSES
from policies.base import (
    OPERATOR,
    Action,
    Decision,
    Note,
    OptionRule,
    PolicyGauges,
    PolicySpec,
    Subject,
    actor_name,
    applies_to,
    positive_duration,
    positive_integer,
)
from policies.overrides import PolicyOptions

POLICY = "auto_restart"
ACTOR = actor_name(POLICY)
RESTART = AuditAction.CONTAINER_RESTART
OPERATOR_STARTS = (AuditAction.CONTAINER_START, AuditAction.CONTAINER_RESTART)
ATTEMPT_OUTCOMES = (Outcome.STARTED, Outcome.ABORTED, Outcome.DRY_RUN)  # a restart was tried
RUNNING_EVENT = "running"
GIVEN_UP_EVENT = "given_up"  # a crash of a container still given up: it needs a human again
NEVER_RESTARTED = ("running", "stopped")  # statuses that are never a crash


@dataclass(frozen=True)
class AutoRestartOptions:
    enabled: bool = True
    match: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ("error",)
    backoff_initial: timedelta = timedelta(seconds=10)
    backoff_max: timedelta = timedelta(minutes=5)
    reset_after: timedelta = timedelta(minutes=10)
    max_restarts: int = 5
    window: timedelta = timedelta(hours=1)

    RULES: ClassVar[tuple[OptionRule, ...]] = (
        OptionRule(
            "statuses",
            lambda options: not set(options.statuses) & set(NEVER_RESTARTED),
            'statuses of crashed containers, like "error" ("running" and "stopped" never are)',
        ),
        positive_duration("backoff_initial"),
        OptionRule(
            "backoff_max",
            lambda options: options.backoff_max >= options.backoff_initial,
            lambda options: (
                f'at least backoff_initial ("{format_duration(options.backoff_initial)}")'
            ),
            needs=("backoff_initial",),
        ),
        positive_duration("reset_after"),
        positive_integer("max_restarts"),
        positive_duration("window"),
    )


@dataclass(frozen=True, slots=True)
class RestartState:
    """One container's crash loop as of its latest audit row."""

    recent: tuple[datetime, ...] = ()  # attempts within `window` of the newest, oldest first
    restarts: int = 0  # attempts since the last reset
    last_attempt: str | None = None  # the newest attempt's action_id: an action counts once
    gave_up_at: datetime | None = None
    resets_at: datetime | None = None  # the last (re)start, or first seen running, + reset_after
    crash_seen_at: datetime | None = None  # first crash row after the last (re)start

    @property
    def gave_up(self) -> bool:
        return self.gave_up_at is not None

    def as_of(self, now: datetime) -> "RestartState":
        """The state at `now`: reset if no crash has been seen since the last (re)start and
        `resets_at` has come (the container has run `reset_after`, or was not seen crashing
        for that long). What decides, exports, describes and explains starts from this."""
        if self.crash_seen_at is None and self.resets_at is not None and now >= self.resets_at:
            return RestartState(resets_at=self.resets_at)
        return self

    def crash_seen(self, at: datetime) -> "RestartState":
        """The state once a crash is seen at `at`: reset if it ran `reset_after` before it."""
        if self.crash_seen_at is not None:
            return self
        return replace(self.as_of(at), crash_seen_at=at)

    def running_since(self, at: datetime, reset_after: timedelta) -> "RestartState":
        """The state once the container is (re)started or seen running again at `at`."""
        return replace(self, resets_at=at + reset_after, crash_seen_at=None)

    def restarted(
        self, at: datetime, action_id: str, window: timedelta, reset_after: timedelta
    ) -> "RestartState":
        recent = (*(moment for moment in self.recent if moment > at - window), at)
        return replace(
            self.running_since(at, reset_after),
            recent=recent,
            restarts=self.restarts + 1,
            last_attempt=action_id,
        )

    def restarts_within(self, window: timedelta, now: datetime) -> int:
        return sum(1 for at in self.recent if at > now - window)

    def backoff(self, initial: timedelta, maximum: timedelta) -> timedelta:
        """The wait after the latest attempt: initial, doubling per attempt, at most `maximum`."""
        if not self.restarts:
            return timedelta(0)
        doublings = min(self.restarts - 1, 40)
        return min(initial * 2**doublings, maximum)

    def next_restart_at(self, initial: timedelta, maximum: timedelta) -> datetime | None:
        """When the next restart is allowed (None: right away, nothing to wait for)."""
        if not self.recent:
            return None
        return self.recent[-1] + self.backoff(initial, maximum)

    def backing_off(self, now: datetime, initial: timedelta, maximum: timedelta) -> timedelta:
        """The backoff in effect while a seen crash waits for its restart, else 0 (metrics)."""
        next_at = self.next_restart_at(initial, maximum)
        if self.crash_seen_at is None or self.gave_up or next_at is None or now >= next_at:
            return timedelta(0)
        return self.backoff(initial, maximum)


NO_STATE = RestartState()


def restart_state(
    rows: Iterable[HistoryRow],
    reset_after: timedelta,
    window: timedelta,
    dry_run: bool = False,
    state: RestartState | None = None,
) -> RestartState:
    """Fold one container's audit rows (oldest first) into its crash-loop state, starting
    from `state` (the state before these rows; None: no rows before them)."""
    state = state or NO_STATE
    for row in rows:
        if not row.counts(dry_run):
            continue
        if row.actor == OPERATOR and row.action in OPERATOR_STARTS:
            if row.outcome == Outcome.SUCCEEDED:
                state = NO_STATE.running_since(row.at, reset_after)
            continue
        if row.actor != ACTOR or row.action != RESTART:
            continue
        if row.outcome in ATTEMPT_OUTCOMES:
            if row.action_id != state.last_attempt:
                state = state.crash_seen(row.at).restarted(
                    row.at, row.action_id, window, reset_after
                )
        elif row.outcome == Outcome.SKIPPED and row.event == RUNNING_EVENT:
            state = state.running_since(row.at, reset_after)
        elif row.outcome == Outcome.SKIPPED:
            state = state.crash_seen(row.at)
        elif row.outcome == Outcome.GAVE_UP:
            state = replace(state.crash_seen(row.at), gave_up_at=row.at)
    return state


def gave_up_episode(dry_run: bool) -> Episode:
    """A `gave_up` lasts until a reset, however old it is: its rows are read until a row
    shows the reset (an operator start, or a restart attempt: the policy makes one only
    once the backoff has reset)."""
    attempts = [o for o in ATTEMPT_OUTCOMES if dry_run or o != Outcome.DRY_RUN]
    return Episode(
        key=("container_id",),
        opens=(RowKind(ACTOR, RESTART, Outcome.GAVE_UP),),
        closes=(
            *(RowKind(ACTOR, RESTART, outcome) for outcome in attempts),
            *(RowKind(OPERATOR, action, Outcome.SUCCEEDED) for action in OPERATOR_STARTS),
        ),
    )


class AutoRestartPolicy:
    name = POLICY
    state_needed = None  # every container's, from the first evaluation: a crash may come first

    def __init__(self, options: AutoRestartOptions | PolicyOptions, dry_run: bool = False) -> None:
        """`options`: per container (overrides applied), or one set for every container."""
        if not isinstance(options, PolicyOptions):
            options = PolicyOptions(POLICY, options)
        self.options = options
        self.dry_run = dry_run

    def history_query(self, now: datetime) -> HistoryQuery:
        """The rows that can still change a decision: the `horizon()`, and every row since a
        container's latest `gave_up` that no reset has ended (it lasts until a reset)."""
        return HistoryQuery(
            since=now - self.horizon(),
            actors=(ACTOR, OPERATOR),
            actions=tuple(dict.fromkeys((RESTART, *OPERATOR_STARTS))),
            episode=gave_up_episode(self.dry_run),
            dry_run=self.dry_run,
        )

    def horizon(self) -> timedelta:
        """How far back restart attempts still matter: the `window`, and enough attempts
        for the backoff to reach `backoff_max` (each at most `backoff_max + reset_after`
        after the one before, or the backoff would have reset). With overrides, the
        longest any container can need."""
        values = self.options.values
        backoff_max, reset_after = max(values("backoff_max")), max(values("reset_after"))
        initial = max(min(values("backoff_initial")), timedelta(seconds=1))
        steps = math.ceil(math.log2(max(backoff_max / initial, 1))) + 2
        return max(*values("window"), (backoff_max + reset_after) * steps)

    def fold(
        self,
        state: RestartState | None,
        rows: Sequence[HistoryRow],
        subject: Subject | None = None,
    ) -> RestartState:
        options = (
            self.options.table
            if subject is None
            else self.options.of(subject.name, subject.container_type)
        )
        return restart_state(rows, options.reset_after, options.window, self.dry_run, state)

    def decide(
        self, snapshot: Snapshot, states: Mapping[str, RestartState], now: datetime
    ) -> list[Decision]:
        if not snapshot.status_ok:
            return []
        decisions: list[Decision] = []
        for view in snapshot.containers.values():
            container = view.container
            options = self.options.of(container.name, container.type)
            state = states.get(container.id, NO_STATE).as_of(now)
            one = _OneContainer(options)
            if applies_to(options, container.name):
                decision = one.decide(view, state, now)
            else:  # no longer covered: only a crash loop seen while it was ends, when it runs
                decision = one.running_again(view, state)
            if decision is not None:
                decisions.append(decision)
        return decisions

    def export(
        self,
        snapshot: Snapshot,
        states: Mapping[str, RestartState],
        now: datetime,
        gauges: PolicyGauges,
    ) -> None:
        """`stacks_opsd_restart_backoff_seconds` and `stacks_opsd_restart_gave_up`, for the
        containers the policy covers now (one it stopped covering is given up on by no one)."""
        for container_id, folded in states.items():
            view = snapshot.containers.get(container_id)
            if view is None:
                continue
            options = self.options.of(view.container.name, view.container.type)
            if applies_to(options, view.container.name):
                state = folded.as_of(now)
                initial, maximum = options.backoff_initial, options.backoff_max
                backoff = state.backing_off(now, initial, maximum).total_seconds()
                gauges.set_restart_state(container_id, view.container.name, backoff, state.gave_up)

    def describe(self, state: RestartState, now: datetime) -> Mapping[str, Any]:
        state = state.as_of(now)
        return {"gave_up": state.gave_up, "restarts": state.restarts}

    def explain(
        self, view: ContainerView, state: RestartState | None, now: datetime
    ) -> Mapping[str, Any]:
        """The container's crash loop for `explain`: backoff and when a restart may happen,
        were it to crash now."""
        state = (state or NO_STATE).as_of(now)
        container = view.container
        options = self.options.of(container.name, container.type)
        applies = applies_to(options, container.name)
        backoff = state.backoff(options.backoff_initial, options.backoff_max)
        next_at = state.next_restart_at(options.backoff_initial, options.backoff_max)
        in_window = state.restarts_within(options.window, now)
        if not applies:
            next_restart = "never: the policy does not apply to this container"
        elif state.gave_up:
            next_restart = (
                f"not until it has run {format_duration(options.reset_after)}, or after "
                f"`stacks-opsd change {container.name} start` (gave up)"
            )
        elif in_window >= options.max_restarts:
            next_restart = (
                f"none: {in_window} restarts within {format_duration(options.window)} "
                f"reached max_restarts; the next crash gives up"
            )
        elif next_at is None or now >= next_at:
            next_restart = "at once, if it crashes"
        else:
            next_restart = f"not before {next_at.isoformat()}"
        return {
            "applies": applies,
            "restarts_since_reset": state.restarts,
            "restarts_within_window": in_window,
            "gave_up_at": state.gave_up_at.isoformat() if state.gave_up_at else None,
            "backoff": format_duration(backoff),
            "next_restart_at": next_at.isoformat() if next_at else None,
            "next_restart": next_restart,
        }


class _OneContainer:
    """auto_restart's decision for one container, with that container's options."""

    def __init__(self, options: AutoRestartOptions) -> None:
        self.options = options

    def _crashed(self, status: str) -> bool:
        return (
            status in self.options.statuses
            and status in KNOWN_CONTAINER_STATUSES
            and status not in NEVER_RESTARTED
        )

    def running_again(self, view: ContainerView, state: RestartState) -> Decision | None:
        """The note that ends a crash loop (and a give-up) once the container runs."""
        if view.container.status == "running" and state.crash_seen_at is not None:
            return self._note(
                view, Outcome.SKIPPED, self._running_reason(state), event=RUNNING_EVENT
            )
        return None

    def decide(self, view: ContainerView, state: RestartState, now: datetime) -> Decision | None:
        status = view.container.status
        running = self.running_again(view, state)
        if running is not None:
            return running
        if not self._crashed(status):
            return None
        first_sight = state.crash_seen_at is None
        state = state.crash_seen(now)
        if state.gave_up:
            if not first_sight:
                return None
            return self._note(
                view,
                Outcome.SKIPPED,
                f"crashed again ({status}); still given up. {self._how_to_resume(view)}",
                event=GIVEN_UP_EVENT,
            )
        restarts = state.restarts_within(self.options.window, now)
        if restarts >= self.options.max_restarts:
            return self._note(
                view,
                Outcome.GAVE_UP,
                f"gave up: {restarts} restarts within {format_duration(self.options.window)}. "
                + self._how_to_resume(view),
                event="gave_up",
                restarts=restarts,
            )
        next_at = state.next_restart_at(self.options.backoff_initial, self.options.backoff_max)
        number = state.restarts + 1
        if next_at is None or now >= next_at:
            return Action(
                policy=POLICY,
                action=RESTART,
                container_id=view.container.id,
                container_name=view.container.name,
                reason=f"status {status}: restart {number} since the last reset",
                expect_status=status,
                newest_backup=newest_backup_id(view),
                details={"restart_number": number, "observed_status": status},
            )
        if not first_sight:
            return None
        return self._note(
            view,
            Outcome.SKIPPED,
            f"backoff: next restart at {next_at.isoformat()} (restart {number}, status {status})",
            event="backoff",
            restart_number=number,
            next_restart_at=next_at.isoformat(),
        )

    def _how_to_resume(self, view: ContainerView) -> str:
        return (
            f"Restarts resume after it runs {format_duration(self.options.reset_after)}, "
            f"or after `stacks-opsd change {view.container.name} start`."
        )

    def _running_reason(self, state: RestartState) -> str:
        suffix = " (was given up)" if state.gave_up else ""
        return (
            f"running again without a restart by the daemon{suffix}; the backoff resets "
            f"once it has run {format_duration(self.options.reset_after)}"
        )

    def _note(self, view: ContainerView, outcome: Outcome, reason: str, **details: object) -> Note:
        return Note(
            policy=POLICY,
            action=RESTART,
            container_id=view.container.id,
            container_name=view.container.name,
            outcome=outcome,
            reason=reason,
            details=details,
        )


def newest_backup_id(view: ContainerView) -> int | None:
    """The newest completed backup the snapshot knows (what a change of a crashed,
    unbackupable container records), so the executor need not list backups again."""
    newest = view.newest_completed_backup
    return newest.id if newest else None


AUTO_RESTART = PolicySpec(
    name=POLICY,
    options=AutoRestartOptions,
    build=lambda options, dry_run: AutoRestartPolicy(options[POLICY], dry_run),
)
