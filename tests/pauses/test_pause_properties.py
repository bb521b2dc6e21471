"""Property: for any holds, windows and policy options, and any sequence of fleet states, no
automatic action reaches a held or windowed container.

Each run evaluates the real deciding policies (built from the options) over a
sequence of hand-built snapshots, screens their decisions through the real
PauseGate, and feeds what passed (and the pause notes) back as audit history,
as the executor would, so the policies' later decisions see the pauses' notes.
Whether a container is held or windowed is checked here directly from the
generated holds and windows, not through daemon/pauses.py.

`policies_config()` is the one place the policy options are drawn: per-container
overrides (`[[overrides]]`) extend that strategy.
"""

import dataclasses
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.audit import Hold
from daemon.config import PoliciesConfig, TimeRangeConfig, WindowConfig
from daemon.pauses import PauseGate
from daemon.snapshot import ContainerView, Snapshot
from daemon.stacks import Backup, Container
from policies import (
    Action,
    AutoRestartOptions,
    Note,
    Override,
    WeeklyPinOptions,
    build_policies,
)
from tests.policies.factories import folded, performed

START = datetime(2026, 3, 1, 3, 30, tzinfo=UTC)  # a Sunday, after the weekly pin is due
FLEET = {  # name -> type
    "web": "nodejs",
    "shop-db": "postgresql",
    "shop-api": "nodejs",
    "cache": "redis",
}
PATTERNS = ["web", "shop-db", "shop-*", "*", "w?b", "cache", "nothing-*", "usr-abc12345-cache"]
ACTIONS = ["container.restart", "backup.pin", "backup.unpin", "container.stop"]


def container_id(name: str) -> str:
    return f"usr-abc12345-{name}"


@st.composite
def holds(draw) -> list[Hold]:
    result = []
    for index in range(draw(st.integers(0, 3))):
        expires = START + timedelta(minutes=draw(st.integers(0, 600)))
        ended = draw(st.none() | st.integers(0, 600).map(lambda m: START + timedelta(minutes=m)))
        result.append(
            Hold(
                id=index + 1,
                pattern=draw(st.sampled_from(PATTERNS)),
                reason="property",
                set_by="tester@host",
                set_at=START - timedelta(minutes=1),
                expires_at=expires,
                ended_at=ended,
                end=None if ended is None else "released",
            )
        )
    return result


@st.composite
def windows(draw) -> list[WindowConfig]:
    result = []
    for index in range(draw(st.integers(0, 3))):
        start = draw(st.integers(0, 22))
        end = draw(st.integers(start + 1, 24))
        times = (
            (TimeRangeConfig(f"{start:02d}:00", f"{end:02d}:00"),) if draw(st.booleans()) else ()
        )
        weekdays = draw(
            st.sampled_from([(), ("sunday",), ("monday:friday",), ("saturday", "sunday")])
        )
        pause = draw(
            st.sampled_from([("all",), ("container.restart",), ("backup.pin", "backup.unpin")])
        )
        result.append(
            WindowConfig(
                name=f"window-{index}",
                times=times,
                weekdays=weekdays,
                days_of_month=draw(st.sampled_from([(), ("1:7",), ("-3:-1",)])),
                location=draw(st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"])),
                match=(draw(st.sampled_from(PATTERNS)),),
                types=draw(st.sampled_from([(), ("nodejs",), ("postgresql", "redis")])),
                pause=pause,
            )
        )
    return result


@st.composite
def overrides(draw) -> list[Override]:
    """`[[overrides]]` tables: per-container policy options, by name glob and type."""
    result = []
    for _ in range(draw(st.integers(0, 3))):
        options: dict[str, dict] = {}
        if draw(st.booleans()):
            options["auto_restart"] = {
                "max_restarts": draw(st.integers(1, 8)),
                "backoff_initial": timedelta(seconds=draw(st.sampled_from([1, 30]))),
                "enabled": draw(st.booleans()),
            }
        if draw(st.booleans()):
            options["weekly_pin"] = {"keep_weeks": draw(st.integers(1, 4))}
        result.append(
            Override(
                match=tuple(draw(st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=2))),
                types=tuple(
                    draw(st.lists(st.sampled_from(sorted(set(FLEET.values()))), max_size=1))
                ),
                options=options,
            )
        )
    return result


@st.composite
def policies_config(draw) -> PoliciesConfig:
    """The policy options of a run: defaults, with a few drawn changes."""
    config = PoliciesConfig()
    auto_restart = dataclasses.replace(
        AutoRestartOptions(),
        max_restarts=draw(st.integers(1, 5)),
        backoff_initial=timedelta(seconds=draw(st.sampled_from([1, 10, 60]))),
        backoff_max=timedelta(minutes=5),
    )
    weekly_pin = dataclasses.replace(WeeklyPinOptions(), keep_weeks=draw(st.integers(1, 3)))
    return dataclasses.replace(config, auto_restart=auto_restart, weekly_pin=weekly_pin)


@st.composite
def fleet_states(draw) -> list[tuple[timedelta, dict[str, str]]]:
    """Steps: how long after the previous one, and each container's status."""
    steps = []
    for _ in range(draw(st.integers(1, 12))):
        gap = timedelta(minutes=draw(st.sampled_from([0, 1, 5, 30, 90, 24 * 60])))
        statuses = {
            name: draw(st.sampled_from(["running", "error", "error", "stopped"])) for name in FLEET
        }
        steps.append((gap, statuses))
    return steps


def snapshot_at(now: datetime, statuses: dict[str, str]) -> Snapshot:
    views = {}
    for name, status in statuses.items():
        cid = container_id(name)
        backups = tuple(
            Backup(id=100 * week + len(name), container_id=cid, status="completed",
                   created_at=now - timedelta(weeks=week, hours=1), pinned=week > 1)
            for week in range(5)
        )  # fmt: skip
        views[cid] = ContainerView(
            Container(id=cid, name=name, status=status, type=FLEET[name]),
            seen_at=now,
            backups=backups,
            backups_at=now,
        )
    return Snapshot(taken_at=now, status_ok=True, containers=views)


def held(cid: str, name: str, all_holds: list[Hold], now: datetime) -> bool:
    return any(
        h.ended_at is None
        and now < h.expires_at
        and (h.pattern == cid or fnmatchcase(name, h.pattern))
        for h in all_holds
    )


def windowed(name: str, action: str, all_windows: list[WindowConfig], now: datetime) -> bool:
    return any(
        w.interval.contains(now)
        and any(fnmatchcase(name, pattern) for pattern in w.match)
        and (not w.types or FLEET[name] in w.types)
        and (w.pause == ("all",) or action in w.pause)
        for w in all_windows
    )


@settings(max_examples=150, deadline=None)
@given(holds(), windows(), policies_config(), overrides(), fleet_states())
def test_no_automatic_action_reaches_a_held_or_windowed_container(
    all_holds, all_windows, options, per_container, steps
):
    policies = build_policies(options, overrides=tuple(per_container))
    gate = PauseGate(all_windows)
    history = []
    now = START
    noted = []
    for gap, statuses in steps:
        now += gap
        snap = snapshot_at(now, statuses)
        decisions = []
        for policy in policies:
            mine = [r for r in history if r.actor == f"policy:{policy.name}"]
            decisions += policy.decide(snap, folded(policy, mine), now)
        screened = gate.screen(decisions, snap, all_holds, now)
        for decision in screened.passed:
            if isinstance(decision, Action):
                name = decision.container_name
                assert not held(decision.container_id, name, all_holds, now), decision
                assert not windowed(name, decision.action, all_windows, now), decision
        for action, _pause in screened.paused:  # nothing is paused without a reason
            name = action.container_name
            assert held(action.container_id, name, all_holds, now) or windowed(
                name, action.action, all_windows, now
            )
        noted += [
            (d.details.get("event"), d.container_id)
            for d in screened.passed
            if isinstance(d, Note) and str(d.details.get("event", "")).startswith("hold:")
        ]
        history += performed(screened.passed, now)
    assert len(noted) == len(set(noted)), "a hold's skip is noted once per container"
