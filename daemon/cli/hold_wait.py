"""What `hold` waits for once the hold is placed: the actions already in flight on the held
containers, so that when `hold` returns the daemon is hands-off.

    remaining = wait_for_hands_off(store, hold, progress, clock, timeout=timedelta(minutes=2))

An action is in flight while a live session holds its claim in the audit
database and its outcome row is not written (`AuditStore.actions_in_flight`, the
same notion of "alive" as reconciliation and claims). The wait covers the actions
in flight on a held container (by id, name or name glob) when the hold is placed,
an operator's `change` among them (the message says whose it is), and, while it
waits, any automatic action the daemon begins on one: it decided before it saw the
hold. An
operator command started after the hold is not waited for (holds pause only the
daemon). Progress goes through `Progress`; the caller prints the result.
"""

from datetime import timedelta

from daemon.audit import AuditStore, Hold, InFlight
from daemon.cli.progress import Progress, format_duration_seconds
from daemon.clock import Clock
from daemon.durations import format_duration

POLL_EVERY = 1.0  # seconds between two looks at the claims


def wait_for_hands_off(
    store: AuditStore,
    hold: Hold,
    progress: Progress,
    clock: Clock,
    timeout: timedelta,
    poll_every: float = POLL_EVERY,
) -> list[InFlight]:
    """Wait until no action the hold should outlast is in flight, or `timeout` passed; the
    actions still in flight then (empty: hands-off)."""
    covered = [action for action in store.actions_in_flight() if covers(hold, action)]
    if not covered:
        return []  # nothing to wait for: no progress either
    waited_for = {action.action_id for action in covered}  # in flight when the hold was placed
    started = clock.monotonic()
    with progress.waiting(f"hold {hold.pattern}"):
        while True:
            pending = [a for a in covered if a.action_id in waited_for or a.automatic]
            if not pending:
                return []
            elapsed = clock.monotonic() - started
            if elapsed >= timeout.total_seconds():
                return pending
            waited = f"{format_duration_seconds(elapsed)} of the {format_duration(timeout)} timeout"
            progress.update(
                f"{describe(pending[0], clock.now().timestamp())}{more(pending)}, {waited}",
                state=tuple(sorted(a.action_id for a in pending)),
            )
            clock.sleep(poll_every)
            covered = [action for action in store.actions_in_flight() if covers(hold, action)]


def covers(hold: Hold, action: InFlight) -> bool:
    return hold.covers(action.container_id, action.name or "")


def describe(action: InFlight, now_seconds: float | None = None) -> str:
    """`container.restart of web by the daemon (opsd-1) (started 12s ago)`."""
    name = action.name or action.container_id
    ago = ""
    if now_seconds is not None:
        since = now_seconds - action.claimed_at.timestamp()
        ago = f" (started {format_duration_seconds(since)} ago)"
    return f"{action.action} of {name} by {action.whose()}{ago}"


def more(pending: list[InFlight]) -> str:
    return f" and {len(pending) - 1} more" if len(pending) > 1 else ""
