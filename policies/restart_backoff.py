"""auto_restart's crash-loop state, folded from the audit history alone (survives restarts).

The history of one container is read as a sequence of events:

    operator start   `cli` container.start/restart succeeded: everything resets
    restart attempt  policy container.restart started/aborted (one per action_id); also
                     dry_run, but only while the daemon itself dry-runs
    crash seen       policy note `skipped` (backoff) or `gave_up`: the container was in error
    running seen     policy note `skipped` with details event "running": it came back by
                     itself or through someone else (dashboard), not through the daemon

Evidence of "running continuously for reset_after": the policy writes a row the
first time it sees each crash (the restart itself, or a `skipped`/`gave_up` note)
and a "running seen" note when a container it saw crashed runs again without its
help. So the time from the last (re)start to the first crash row after it is how
long the container ran; if that is at least `reset_after`, the backoff resets
(restart count and `gave_up` cleared). When no crash row follows the last start,
the crash is first seen now. A daemon that was down longer than `reset_after`
therefore treats the unobserved gap as running, like kubelet forgetting a
backoff entry that has not been touched for a while.

The state is folded incrementally: `restart_state(rows, ..., state)` applies a
container's new rows to its previous state, and keeps only what can still change
a decision: the attempts within `window` of the newest one, and the number of
attempts since the last reset (the backoff's doublings, the restart number).
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from daemon.audit import Episode, RowKind
from policies.base import OPERATOR, HistoryRow, actor_name

POLICY = "auto_restart"
ACTOR = actor_name(POLICY)
RESTART = "container.restart"
OPERATOR_STARTS = ("container.start", "container.restart")
ATTEMPT_OUTCOMES = ("started", "dry_run", "aborted")
RUNNING_EVENT = "running"
GAVE_UP = "gave_up"


@dataclass(frozen=True, slots=True)
class RestartState:
    """One container's crash loop as of its latest audit row."""

    recent: tuple[datetime, ...] = ()  # attempts within `window` of the newest, oldest first
    restarts: int = 0  # attempts since the last reset
    last_attempt: str | None = None  # the newest attempt's action_id: an action counts once
    gave_up_at: datetime | None = None
    started_at: datetime | None = None  # last (re)start, or first seen running again
    crash_seen_at: datetime | None = None  # first crash row after `started_at`

    @property
    def gave_up(self) -> bool:
        return self.gave_up_at is not None

    def crash_seen(self, at: datetime, reset_after: timedelta) -> "RestartState":
        """The state once a crash is seen at `at`: reset if it ran `reset_after` before it."""
        if self.crash_seen_at is not None:
            return self
        if self.started_at is not None and at - self.started_at >= reset_after:
            return RestartState(started_at=self.started_at, crash_seen_at=at)
        return replace(self, crash_seen_at=at)

    def restarted(self, at: datetime, action_id: str, window: timedelta) -> "RestartState":
        recent = (*(moment for moment in self.recent if moment > at - window), at)
        return replace(
            self,
            recent=recent,
            restarts=self.restarts + 1,
            last_attempt=action_id,
            started_at=at,
            crash_seen_at=None,
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


def restart_state(
    rows: Iterable[HistoryRow],
    reset_after: timedelta,
    window: timedelta,
    dry_run: bool = False,
    state: RestartState | None = None,
) -> RestartState:
    """Fold one container's audit rows (oldest first) into its crash-loop state, starting
    from `state` (the state before these rows; None: no rows before them)."""
    state = state or RestartState()
    for row in rows:
        if not row.counts(dry_run):
            continue
        if row.actor == OPERATOR and row.action in OPERATOR_STARTS:
            if row.outcome == "succeeded":
                state = RestartState(started_at=row.at)
            continue
        if row.actor != ACTOR or row.action != RESTART:
            continue
        if row.outcome in ATTEMPT_OUTCOMES:
            if row.action_id != state.last_attempt:
                state = state.crash_seen(row.at, reset_after).restarted(
                    row.at, row.action_id, window
                )
        elif row.outcome == "skipped" and row.event == RUNNING_EVENT:
            state = replace(state, started_at=row.at, crash_seen_at=None)
        elif row.outcome == "skipped":
            state = state.crash_seen(row.at, reset_after)
        elif row.outcome == GAVE_UP:
            state = replace(state.crash_seen(row.at, reset_after), gave_up_at=row.at)
    return state


def gave_up_episode(dry_run: bool) -> Episode:
    """A `gave_up` lasts until a reset, however old it is: its rows are read until a row
    shows the reset (an operator start, or a restart attempt: the policy makes one only
    once the backoff has reset)."""
    attempts = ("started", "aborted", "dry_run") if dry_run else ("started", "aborted")
    return Episode(
        key=("container_id",),
        opens=(RowKind(ACTOR, RESTART, GAVE_UP),),
        closes=(
            *(RowKind(ACTOR, RESTART, outcome) for outcome in attempts),
            *(RowKind(OPERATOR, action, "succeeded") for action in OPERATOR_STARTS),
        ),
    )
