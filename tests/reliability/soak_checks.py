"""What the soak asserts afterwards, each check returning the violations it found (empty: fine).

Restart checks read the simulator's mutation log (the restarts that really
happened) against auto_restart's options. A container's crash loop "resets"
(its backoff starts again from nothing) when an operator starts it or when it
crashed after running at least `reset_after`; the chaos only produces crashes
well clear of that boundary (`Crash.ran_for` is checked for it), so the reset
points are not a matter of timing. Backoff is measured the way the daemon
measures it, from the decision to restart (its `started` audit row) to the next
restart: a restart that waited for rate budget after its decision does not make
the next one look early.
"""

import json
from collections import Counter, defaultdict
from datetime import datetime

from daemon.audit import AuditLog
from daemon.simulator import Mutation
from policies import AutoRestartOptions, IsoWeek, WeeklyPinOptions
from tests.reliability.soak_chaos import LOOP_RUN_MAX, SETTLED, Crash


def restart_mutations(mutations: list[Mutation], status: str) -> dict[str, list[datetime]]:
    """Times of accepted `PUT /containers/{id}/status {"status": status}`, per container."""
    found: dict[str, list[datetime]] = defaultdict(list)
    for m in mutations:
        if (
            m.method == "PUT"
            and m.path.endswith("/status")
            and (m.body or {}).get("status") == status
        ):
            found[m.container_id].append(m.at)
    return found


def restart_decisions(rows: list[AuditLog]) -> dict[str, list[datetime]]:
    """Per container, the `started` time of each daemon restart that succeeded, in order."""
    started = {r.action_id: r.at for r in rows if r.outcome == "started"}
    found: dict[str, list[datetime]] = defaultdict(list)
    for row in rows:
        if (
            row.actor == "policy:auto_restart"
            and row.action == "container.restart"
            and row.outcome == "succeeded"
        ):
            found[row.container_id].append(started[row.action_id])
    return found


def crash_timing_violations(crashes: list[Crash]) -> list[str]:
    """Crashes the reset model cannot classify (the chaos must keep clear of `reset_after`)."""
    return [
        f"{c.container_id}: {'loop' if c.loop else 'one-off'} crash at {c.at} after {c.ran_for}"
        for c in crashes
        if c.ran_for is not None and (c.ran_for > LOOP_RUN_MAX if c.loop else c.ran_for < SETTLED)
    ]


def backoff_violations(
    mutations: list[Mutation],
    rows: list[AuditLog],
    crashes: list[Crash],
    operator_starts: list[tuple[str, datetime]],
    options: AutoRestartOptions,
) -> list[str]:
    """Restarts sooner than the backoff curve allows, or more than `max_restarts` per window."""
    restarts = restart_mutations(mutations, "restart")
    decided = restart_decisions(rows)
    violations = []
    for container_id, times in restarts.items():
        decisions = decided.get(container_id, [])
        if len(decisions) != len(times):
            violations.append(
                f"{container_id}: {len(times)} restarts but {len(decisions)} audited restarts"
            )
            continue
        events = [(at, 0, "restart", index) for index, at in enumerate(times)]
        events += [(at, 0, "start", None) for cid, at in operator_starts if cid == container_id]
        events += [(c.at, 1, "crash", c) for c in crashes if c.container_id == container_id]
        episode: list[int] = []  # indexes of the restarts since the last reset
        for at, _, kind, item in sorted(events, key=lambda e: (e[0], e[1])):
            if kind == "start" or (kind == "crash" and not item.loop):
                episode = []
                continue
            if kind != "restart":
                continue
            if episode:
                previous = decisions[episode[-1]]
                doublings = min(len(episode) - 1, 30)
                wait = min(options.backoff_initial * 2**doublings, options.backoff_max)
                if at - previous < wait:
                    violations.append(
                        f"{container_id}: restart {len(episode) + 1} at {at}, only "
                        f"{at - previous} after the previous decision (backoff {wait})"
                    )
            recent = [i for i in episode if times[i] > at - options.window]
            if len(recent) + 1 > options.max_restarts:
                violations.append(
                    f"{container_id}: restart at {at} is number {len(recent) + 1} within "
                    f"{options.window} (max_restarts {options.max_restarts})"
                )
            episode.append(item)
    return violations


def gave_up_violations(
    mutations: list[Mutation], rows: list[AuditLog], operator_starts: list[tuple[str, datetime]]
) -> list[str]:
    """After a `gave_up` row: no restart until an operator starts it; one such row per episode."""
    restarts = restart_mutations(mutations, "restart")
    violations = []
    gave_up = [r for r in rows if r.actor == "policy:auto_restart" and r.outcome == "gave_up"]
    per_episode: Counter = Counter()
    for row in gave_up:
        resumed = min(
            (at for cid, at in operator_starts if cid == row.container_id and at > row.at),
            default=datetime.max.replace(tzinfo=row.at.tzinfo),
        )
        per_episode[(row.container_id, resumed)] += 1
        early = [at for at in restarts.get(row.container_id, []) if row.at < at < resumed]
        if early:
            violations.append(f"{row.container_id}: restarted at {early[0]} after giving up")
    violations += [
        f"{cid}: {count} gave_up rows before the operator start at {resumed}"
        for (cid, resumed), count in per_episode.items()
        if count > 1
    ]
    return violations


def pin_violations(
    rows: list[AuditLog],
    completed_weeks: dict[str, set[str]],
    container_ids: list[str],
    due_by: datetime,
    options: WeeklyPinOptions,
) -> list[str]:
    """Exactly one daemon pin per container and ISO week that had completed backups.

    Only weeks whose pin moment (`weekday at`) came before `due_by` count.
    """
    pins: dict[str, Counter] = defaultdict(Counter)
    for row in rows:
        if (
            row.actor == "policy:weekly_pin"
            and row.action == "backup.pin"
            and row.outcome == "succeeded"
        ):
            pins[row.container_id][json.loads(row.details)["iso_week"]] += 1
    violations = []
    for container_id in container_ids:
        weeks = [
            label
            for label in completed_weeks.get(container_id, ())
            if IsoWeek.parse(label).moment(options.weekday, options.at) <= due_by
        ]
        expected = Counter(dict.fromkeys(weeks, 1))
        if pins[container_id] != expected:
            violations.append(
                f"{container_id}: pins per week {dict(pins[container_id])}, "
                f"expected {dict(expected)}"
            )
    return violations


def count_pins(rows: list[AuditLog]) -> int:
    return sum(
        1
        for r in rows
        if r.actor == "policy:weekly_pin" and r.action == "backup.pin" and r.outcome == "succeeded"
    )
