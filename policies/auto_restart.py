"""auto_restart: restart crashed containers with kubelet-style crash-loop backoff.

```toml
[policies.auto_restart]
enabled = true
match = ["*"]                # container name globs; `exclude` likewise
exclude = []
statuses = ["error"]
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
The state comes from the audit history only (see `policies.restart_backoff`),
so it survives daemon restarts; rows are written only when something changes:
each restart, the first sight of each crash it waits out (`skipped`, with the
next restart time), `gave_up`, and a container seen running again without the
daemon's help. The history it asks for is about two hours (`horizon()`) plus,
per container, the rows since a `gave_up` that no reset has ended yet.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from daemon.durations import format_duration
from daemon.snapshot import ContainerView, Snapshot
from daemon.stacks import KNOWN_CONTAINER_STATUSES
from policies.base import (
    OPERATOR,
    Action,
    Decision,
    HistoryQuery,
    HistoryRow,
    Note,
    PolicyGauges,
)
from policies.name_match import name_matches
from policies.restart_backoff import (
    ACTOR,
    GAVE_UP,
    OPERATOR_STARTS,
    POLICY,
    RESTART,
    RUNNING_EVENT,
    RestartState,
    gave_up_episode,
    restart_state,
)

NO_STATE = RestartState()


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


class AutoRestartPolicy:
    name = POLICY

    def __init__(self, options: AutoRestartOptions, dry_run: bool = False) -> None:
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
        after the one before, or the backoff would have reset)."""
        options = self.options
        ratio = max(options.backoff_max / max(options.backoff_initial, timedelta(seconds=1)), 1)
        steps = math.ceil(math.log2(ratio)) + 2
        return max(options.window, (options.backoff_max + options.reset_after) * steps)

    def fold(self, state: RestartState | None, rows: Sequence[HistoryRow]) -> RestartState:
        return restart_state(
            rows, self.options.reset_after, self.options.window, self.dry_run, state
        )

    def decide(
        self, snapshot: Snapshot, states: Mapping[str, RestartState], now: datetime
    ) -> list[Decision]:
        if not snapshot.status_ok:
            return []
        decisions: list[Decision] = []
        for view in snapshot.containers.values():
            container = view.container
            if not name_matches(container.name, self.options.match, self.options.exclude):
                continue
            decision = self._decide_one(view, states.get(container.id, NO_STATE), now)
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
        """`stacks_opsd_restart_backoff_seconds` and `stacks_opsd_restart_gave_up`."""
        initial, maximum = self.options.backoff_initial, self.options.backoff_max
        for container_id, state in states.items():
            view = snapshot.containers.get(container_id)
            if view is not None:
                backoff = state.backing_off(now, initial, maximum).total_seconds()
                gauges.set_restart_state(container_id, view.container.name, backoff, state.gave_up)

    def describe(self, state: RestartState, now: datetime) -> Mapping[str, Any]:
        return {"gave_up": state.gave_up, "restarts": state.restarts}

    def _crashed(self, status: str) -> bool:
        return (
            status in self.options.statuses
            and status in KNOWN_CONTAINER_STATUSES
            and status not in ("stopped", "running")
        )

    def _decide_one(
        self, view: ContainerView, state: RestartState, now: datetime
    ) -> Decision | None:
        status = view.container.status
        if status == "running" and state.crash_seen_at is not None:
            return self._note(view, "skipped", self._running_reason(state), event=RUNNING_EVENT)
        if not self._crashed(status):
            return None
        first_sight = state.crash_seen_at is None
        state = state.crash_seen(now, self.options.reset_after)
        if state.gave_up:
            if not first_sight:
                return None
            return self._note(
                view,
                "skipped",
                f"crashed again ({status}); still given up. {self._how_to_resume(view)}",
                event="given_up",
            )
        restarts = state.restarts_within(self.options.window, now)
        if restarts >= self.options.max_restarts:
            return self._note(
                view,
                GAVE_UP,
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
            "skipped",
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

    def _note(self, view: ContainerView, outcome: str, reason: str, **details: object) -> Note:
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
