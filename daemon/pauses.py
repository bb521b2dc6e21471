"""Pauses: holds and maintenance windows keep automatic actions away from containers.

The one place between the policies' decisions and the executor where "hands off"
is applied, so no policy needs to know about holds or windows:

    evaluation (policies decide) -> PauseGate.screen -> executor
    operator `change` / `backup` -> executor            (never paused)

A container is paused for an action when

- an active hold covers it (its id, or its name by the hold's name or glob;
  daemon/audit/holds.py): every automatic action is paused; or
- an active `[[windows]]` window scopes it (name globs, types) and pauses that
  action (or "all"; daemon/config/windows.py).

A paused `Action` is dropped. The first one per pause and container becomes one
audit note instead (`skipped`, under the deciding policy's actor and action,
`details.event` naming the pause as `hold:ID` or `window:NAME`, the reason
naming the hold, who set it, until when, and what the policy wanted); later
ones are not repeated every cycle. A process that takes the lead reads back the
notes written since each pause in force began (`began`, `remember`): since a hold
was placed, since a window last opened, so a restart writes none again within
the same hold or window activation, and a window notes again at its next
activation.
`Note`s from policies (a crash seen, gave up) change nothing and pass through.
Since a paused decision is never attempted, the policies decide it again once
the pause ends: a crash held for an hour is restarted, once, at the release.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from daemon.audit import HistoryRow, Hold, Outcome
from daemon.config import WindowConfig
from daemon.snapshot import Snapshot
from policies import OPERATOR, Action, Decision, Note

HOLD_EVENT, WINDOW_EVENT = "hold:", "window:"  # `details.event` prefixes of pause notes
# How far back a window's opening is looked for: one open without a break for longer (a
# window with no time fields) counts as opened this long ago, and its notes are read
# back from then.
WINDOW_LOOKBACK = timedelta(days=31)


@dataclass(frozen=True)
class Pause:
    """Why automatic actions may not reach a container now."""

    key: str  # "hold:12" or "window:sunday-night": the note's details.event
    reason: str
    details: Mapping[str, Any] = field(default_factory=dict)


def hold_pause(hold: Hold) -> Pause:
    return Pause(
        f"{HOLD_EVENT}{hold.id}",
        f"held ({hold.describe()})",
        {"hold_id": hold.id, "set_by": hold.set_by, "until": hold.expires_at.isoformat()},
    )


def window_pause(window: WindowConfig) -> Pause:
    paused = "all automatic actions" if window.pause == ("all",) else ", ".join(window.pause)
    return Pause(
        f"{WINDOW_EVENT}{window.name}",
        f"maintenance window {window.name!r} is active (pauses {paused})",
        {"window": window.name},
    )


def pause_for(
    action: str,
    container_id: str,
    name: str,
    container_type: str | None,
    holds: Sequence[Hold],
    windows: Sequence[WindowConfig],
    now: datetime,
) -> Pause | None:
    """The pause that keeps automatic `action` from this container at `now` (a hold before
    a window), or None when it may proceed."""
    for hold in holds:
        if hold.active(now) and hold.covers(container_id, name):
            return hold_pause(hold)
    for window in windows:
        if window.scopes(name, container_type) and window.pauses(action) and window.active(now):
            return window_pause(window)
    return None


def pauses_in_force(
    container_id: str,
    name: str,
    container_type: str | None,
    holds: Sequence[Hold],
    windows: Sequence[WindowConfig],
    now: datetime,
) -> list[dict[str, Any]]:
    """Every hold and window pausing automatic actions on this container at `now`, as
    `explain` shows them: `kind`, `name`, `until` (ISO 8601; None for a window), `reason`,
    `by` and the actions it `pauses`."""
    found: list[dict[str, Any]] = [
        {
            "kind": "hold",
            "name": f"{hold.id} on {hold.pattern}",
            "until": hold.expires_at.isoformat(timespec="seconds"),
            "reason": hold.reason,
            "by": hold.set_by,
            "pauses": ["all"],
        }
        for hold in holds
        if hold.active(now) and hold.covers(container_id, name)
    ]
    found += [
        {"kind": "window", "name": window.name, "until": None, "pauses": list(window.pause)}
        for window in windows
        if window.scopes(name, container_type) and window.active(now)
    ]
    return found


@dataclass(frozen=True)
class Screened:
    """What passes to the executor (policy notes and unpaused actions, in order, then the
    pause notes to write), and every paused action with its pause."""

    passed: tuple[Decision, ...]
    paused: tuple[tuple[Action, Pause], ...] = ()


class PauseGate:
    """Screens each evaluation's decisions against the holds and windows in force."""

    def __init__(self, windows: Sequence[WindowConfig]) -> None:
        self.windows = tuple(windows)
        self._noted: set[tuple[str, str]] = set()  # (pause key, container id) already audited

    def active_windows(self, now: datetime) -> list[WindowConfig]:
        return [window for window in self.windows if window.active(now)]

    def began(self, holds: Sequence[Hold], now: datetime) -> dict[str, datetime]:
        """Each pause in force at `now` by its key, with when it began: a hold when it was
        placed, a window when it last opened (at most WINDOW_LOOKBACK ago)."""
        began = {f"{HOLD_EVENT}{hold.id}": hold.set_at for hold in holds if hold.active(now)}
        for window in self.windows:
            opened = window.interval.entered(now, WINDOW_LOOKBACK)
            if opened is not None:
                began[f"{WINDOW_EVENT}{window.name}"] = opened
        return began

    def remember(self, rows: Iterable[HistoryRow], began: Mapping[str, datetime]) -> None:
        """Pause notes already in the audit log (written by an earlier process) for the
        pauses in `began` (see `began`), each written since its pause began: not written
        again."""
        for row in rows:
            since = began.get(row.event or "")
            if since is not None and row.at >= since and row.outcome == Outcome.SKIPPED:
                self._noted.add((row.event, row.container_id))

    def screen(
        self,
        decisions: Iterable[Decision],
        snapshot: Snapshot,
        holds: Sequence[Hold],
        now: datetime,
    ) -> Screened:
        passed: list[Decision] = []
        notes: list[Note] = []
        paused: list[tuple[Action, Pause]] = []
        for decision in decisions:
            if isinstance(decision, Note):
                passed.append(decision)
                continue
            pause = self.pause_of(decision, snapshot, holds, now)
            if pause is None:
                passed.append(decision)
                continue
            paused.append((decision, pause))
            if (pause.key, decision.container_id) not in self._noted:
                self._noted.add((pause.key, decision.container_id))
                notes.append(pause_note(decision, pause))
        self._forget_ended(holds, now)
        return Screened((*passed, *notes), tuple(paused))

    def pause_of(
        self, action: Action, snapshot: Snapshot, holds: Sequence[Hold], now: datetime
    ) -> Pause | None:
        """The pause that keeps `action` from its container at `now`; None for an operator's
        change (never paused). `screen` asks it of each decision, and the executor again
        right before the request (a hold or window may begin while a change waits)."""
        if action.policy == OPERATOR:
            return None
        view = snapshot.containers.get(action.container_id)
        return pause_for(
            action.action,
            action.container_id,
            action.container_name,
            view.container.type if view is not None else None,
            holds,
            self.windows,
            now,
        )

    def _forget_ended(self, holds: Sequence[Hold], now: datetime) -> None:
        """Drop what was noted for pauses no longer in force (a window notes again when it
        next opens; an ended hold never comes back)."""
        live = {f"{HOLD_EVENT}{hold.id}" for hold in holds if hold.active(now)}
        live |= {f"{WINDOW_EVENT}{window.name}" for window in self.active_windows(now)}
        self._noted = {noted for noted in self._noted if noted[0] in live}


def pause_note(action: Action, pause: Pause) -> Note:
    """The audit note of the first paused decision: the policy's actor and action, `skipped`.
    It carries none of the action's own details (a policy folding its history must not
    read it as an attempt: `event` says it was a pause)."""
    return Note(
        policy=action.policy,
        action=action.action,
        container_id=action.container_id,
        container_name=action.container_name,
        outcome=Outcome.SKIPPED,
        reason=f"{pause.reason}; {action.policy} would have: {action.reason}",
        target=action.target,
        details={"event": pause.key, **pause.details},
    )


def hold_expiries(snapshot: Snapshot, holds: Sequence[Hold], now: datetime) -> dict[str, Any]:
    """container id -> (name, the latest expiry among the active holds covering it)."""
    expiries: dict[str, Any] = {}
    for container_id, view in snapshot.containers.items():
        name = view.container.name
        covering = [h.expires_at for h in holds if h.active(now) and h.covers(container_id, name)]
        if covering:
            expiries[container_id] = (name, max(covering))
    return expiries
