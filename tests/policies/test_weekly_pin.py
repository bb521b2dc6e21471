"""weekly_pin decisions: ISO week math, catch-up, ownership of pins, keep_weeks, freshness guard."""

import gc
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from policies import (
    Action,
    BackupFreshnessOptions,
    IsoWeek,
    Note,
    WeeklyPinOptions,
    WeeklyPinPolicy,
)
from tests.policies.factories import backup, container, folded, performed, row, snapshot

MONDAY = datetime(2026, 1, 5, tzinfo=UTC)  # ISO week 2026-W02 runs Jan 5 to Jan 11
SUNDAY = MONDAY + timedelta(days=6)
DAILY = [backup(100 + d, MONDAY + timedelta(days=d, hours=2)) for d in range(7)]
ACTOR = "policy:weekly_pin"


def policy(dry_run: bool = False, **options) -> WeeklyPinPolicy:
    return WeeklyPinPolicy(WeeklyPinOptions(**options), BackupFreshnessOptions(), dry_run)


def decide(p, now, backups, history=(), status_ok=True):
    snap = snapshot(now, container("app"), backups={"app": backups}, status_ok=status_ok)
    return p.decide(snap, folded(p, history), now)


def test_pins_the_newest_completed_backup_once_the_weekday_time_has_passed():
    p = policy()
    assert decide(p, SUNDAY + timedelta(hours=2, minutes=59), DAILY) == []
    [pin] = decide(p, SUNDAY + timedelta(hours=3), DAILY)
    assert (pin.action, pin.target, pin.gated) == ("backup.pin", "106", False)
    assert pin.details["iso_week"] == "2026-W02"


def test_this_weeks_pin_waits_for_a_backup_list_read_after_the_due_time():
    due = SUNDAY + timedelta(hours=3)
    snap = snapshot(due - timedelta(hours=5), container("app"), backups={"app": DAILY[:6]})
    # A backup list read on Saturday night lacks Sunday's 02:00 backup: pinning Saturday's
    # would leave the week with the wrong restore point, so nothing is decided yet.
    assert (
        WeeklyPinPolicy(WeeklyPinOptions(), BackupFreshnessOptions()).decide(
            replace(snap, taken_at=due, status_ok=True), {}, due + timedelta(minutes=1)
        )
        == []
    )


def test_memory_of_backup_weeks_stays_bounded_as_new_backups_keep_coming():
    # A long-lived daemon lists new backups every day, each made at a new moment: what
    # the policy keeps to place them in their weeks must not grow with every backup seen.
    p = policy()
    for day in range(30):
        moment = MONDAY + timedelta(days=day)
        backups = [backup(day * 1000 + k, moment + timedelta(seconds=k)) for k in range(1000)]
        decide(p, moment + timedelta(hours=23), backups)
    alive = sum(isinstance(thing, IsoWeek) for thing in gc.get_objects())
    assert alive < 1000, f"{alive} IsoWeek objects kept after 30,000 backups listed"


def test_a_failed_newest_backup_is_not_pinned():
    backups = [*DAILY[:6], backup(106, SUNDAY + timedelta(hours=2), status="failed")]
    [pin] = decide(policy(), SUNDAY + timedelta(hours=3), backups)
    assert pin.target == "105"


def test_iso_weeks_cross_the_new_year_in_utc():
    # 2025-12-29 (Mon) .. 2026-01-04 (Sun) is ISO week 2026-W01
    new_year = [
        backup(1, datetime(2025, 12, 30, 2, tzinfo=UTC)),
        backup(2, datetime(2026, 1, 1, 2, tzinfo=UTC)),
    ]
    p = policy(weekday="saturday", at=time(12, 0))
    assert decide(p, datetime(2026, 1, 3, 11, 59, tzinfo=UTC), new_year) == []
    [pin] = decide(p, datetime(2026, 1, 3, 12, 0, tzinfo=UTC), new_year)
    assert (pin.target, pin.details["iso_week"]) == ("2", "2026-W01")


def test_catches_up_a_missed_week_while_its_backups_are_listed():
    # the daemon was down from Saturday to Monday: on Monday last week still gets its pin
    next_monday = MONDAY + timedelta(days=7, hours=9)
    listed = [*DAILY, backup(107, next_monday - timedelta(hours=7))]
    [pin] = decide(policy(), next_monday, listed)
    assert (pin.target, pin.details["iso_week"]) == ("106", "2026-W02")
    assert "catch-up" in pin.reason


def test_a_week_with_any_pinned_backup_is_left_alone():
    listed = [*DAILY[:3], backup(103, MONDAY + timedelta(days=3), pinned=True), *DAILY[4:]]
    assert decide(policy(), SUNDAY + timedelta(hours=5), listed) == []


def test_a_week_the_daemon_pinned_is_not_pinned_again():
    now = SUNDAY + timedelta(hours=3)
    for outcome in ("started", "succeeded", "dry_run"):
        history = [
            row(now, ACTOR, "backup.pin", outcome, target="106", details={"iso_week": "2026-W02"})
        ]
        # the backups list predates the pin, or an operator unpinned it since
        dry_run = outcome == "dry_run"
        assert decide(policy(dry_run), now + timedelta(minutes=5), DAILY, history) == []


def test_a_week_a_dry_run_would_have_pinned_is_pinned_once_dry_run_is_off():
    now = SUNDAY + timedelta(hours=3)
    history = [
        row(now, ACTOR, "backup.pin", "dry_run", target="106", details={"iso_week": "2026-W02"})
    ]
    [pin] = decide(policy(), now + timedelta(hours=2), DAILY, history)
    assert (pin.action, pin.target) == ("backup.pin", "106")


def test_a_failed_pin_is_retried_an_hour_later():
    now = SUNDAY + timedelta(hours=3)
    history = [
        row(now, ACTOR, "backup.pin", "failed", target="106", details={"iso_week": "2026-W02"})
    ]
    assert decide(policy(), now + timedelta(minutes=59), DAILY, history) == []
    assert [d.target for d in decide(policy(), now + timedelta(hours=1), DAILY, history)] == ["106"]


def test_no_decision_without_known_backups_or_on_a_stale_snapshot():
    p = policy()
    now = SUNDAY + timedelta(hours=4)
    unknown = snapshot(now, container("app"))
    assert p.decide(unknown, {}, now) == []
    assert decide(p, now, DAILY, status_ok=False) == []


def weekly_pins(weeks: int):
    """Backups pinned by the daemon on the Sundays of `weeks` weeks, with their audit rows."""
    backups, history = [], []
    for w in range(weeks):
        sunday = SUNDAY + timedelta(weeks=w, hours=2)
        backups.append(backup(1000 + w, sunday, pinned=True))
        label = f"2026-W{2 + w:02d}"
        history.append(
            row(
                sunday,
                ACTOR,
                "backup.pin",
                "succeeded",
                target=str(1000 + w),
                details={"iso_week": label},
            )
        )
    return backups, history


def test_keeps_keep_weeks_daemon_pins_and_never_unpins_a_manual_pin():
    pins, history = weekly_pins(10)
    manual = backup(5, MONDAY - timedelta(days=30), pinned=True)
    now = SUNDAY + timedelta(weeks=9, hours=4)
    decisions = decide(policy(keep_weeks=8), now, [manual, *pins], history)
    assert all(isinstance(d, Action) for d in decisions)
    assert sorted((d.action, d.target) for d in decisions) == [
        ("backup.unpin", "1000"),
        ("backup.unpin", "1001"),
    ]


@pytest.mark.parametrize("lost", ["unknown", "interrupted"])
def test_a_lost_pin_a_later_list_shows_pinned_is_the_daemons_and_unpinned_in_turn(lost):
    """The first week's pin was applied, but its answer was lost (the read-back failed,
    or the daemon stopped): the next list settles it, and it falls out of keep_weeks."""
    pins, history = weekly_pins(10)
    history[0] = replace(history[0], outcome=lost)
    now = SUNDAY + timedelta(weeks=9, hours=4)
    decisions = decide(policy(keep_weeks=8), now, pins, history)
    [note] = [d for d in decisions if isinstance(d, Note)]
    assert (note.action, note.target, note.outcome) == ("backup.pin", "1000", "skipped")
    assert note.details["event"] == "lost_pin_pinned" and "shows it pinned" in note.reason
    assert sorted((d.action, d.target) for d in decisions if isinstance(d, Action)) == [
        ("backup.unpin", "1000"),
        ("backup.unpin", "1001"),
    ]
    # Once the note is recorded, the pin is settled: no second note, the same unpins.
    history += performed([note], now)
    later = decide(policy(keep_weeks=8), now + timedelta(minutes=5), pins, history)
    assert sorted((d.action, d.target) for d in later) == [
        ("backup.unpin", "1000"),
        ("backup.unpin", "1001"),
    ]


def test_a_lost_pin_a_later_list_shows_unpinned_is_never_the_daemons():
    """Not applied after all: the next list settles that, so an operator who pins that
    backup by hand later keeps the pin (the daemon never unpins a pin it did not make)."""
    pins, history = weekly_pins(10)
    history[0] = replace(history[0], outcome="interrupted")  # stopped before sending
    first = SUNDAY + timedelta(hours=3)
    unpinned = [replace(pins[0], pinned=False)]
    [note] = decide(policy(keep_weeks=8), first, unpinned, history[:1])[:1]
    assert note.details["event"] == "lost_pin_absent"
    history[1:1] = performed([note], first)

    pins[0] = replace(pins[0], pinned=True)  # the operator pins it by hand
    now = SUNDAY + timedelta(weeks=9, hours=4)
    decisions = decide(policy(keep_weeks=8), now, pins, history)
    assert [(d.action, d.target) for d in decisions] == [("backup.unpin", "1001")]


def test_a_pin_unpinned_by_the_daemon_is_not_its_pin_anymore():
    pins, history = weekly_pins(10)
    now = SUNDAY + timedelta(weeks=9, hours=4)
    decisions = decide(policy(keep_weeks=8), now, pins, history)
    history += performed(decisions, now)
    # the backups list is refreshed later; the unpinned backups show pinned=False
    refreshed = [backup(b.id, b.created_at, pinned=b.id >= 1002) for b in pins]
    assert decide(policy(keep_weeks=8), now + timedelta(hours=1), refreshed, history) == []
    # a stale list still showing them pinned does not draw a second unpin either
    assert decide(policy(keep_weeks=8), now + timedelta(hours=1), pins, history) == []


def test_unpins_nothing_while_the_newest_backup_is_stale_and_says_so_once():
    pins, history = weekly_pins(10)
    now = SUNDAY + timedelta(weeks=9, hours=2) + timedelta(hours=27)  # newest backup 27 h old
    decisions = decide(policy(keep_weeks=8), now, pins, history)
    assert all(isinstance(d, Note) and d.outcome == "skipped" for d in decisions)
    assert sorted(d.target for d in decisions) == ["1000", "1001"]
    assert "27h old" in decisions[0].reason
    history += performed(decisions, now)
    assert decide(policy(keep_weeks=8), now + timedelta(minutes=15), pins, history) == []
    # a fresh backup arrives: the old pins go
    fresh = [*pins, backup(2000, now + timedelta(hours=1))]
    later = now + timedelta(hours=2)
    assert sorted(d.target for d in decide(policy(keep_weeks=8), later, fresh, history)) == [
        "1000",
        "1001",
    ]
