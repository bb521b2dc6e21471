"""The refresh rotation and the morning's confirmations (daemon/refresh_plan.py).

Each container's data has a fixed place in its interval, so reads that began
together (a start, the morning's confirmations) spread over the interval; a
confirmation is a read besides the rotation and leaves the list's next turn where
it was; the confirmations are paced to their deadline, paid from what metrics and
the rotation do not need before anything is lent by the metrics share.
"""

from datetime import timedelta

from daemon.refresh_plan import (
    CONFIRM_WITHIN,
    Kind,
    Reason,
    RefreshPacer,
    Turns,
    confirmation_rate,
    due_refreshes,
    next_turn,
    phase_of,
    plan_refresh,
    schedule_mark,
)
from daemon.snapshot import ContainerView, Snapshot
from daemon.stacks import Container
from tests.benchmarks.fleet_day import run_fleet
from tests.support.simulated_run import MONDAY

MINUTES_5, MINUTES_30 = timedelta(minutes=5), timedelta(minutes=30)
MORNING = schedule_mark(MONDAY + timedelta(hours=3))  # Monday 02:05


def fleet(count: int, **read) -> Snapshot:
    views = {}
    for index in range(count):
        cid = f"usr-0000abcd-app-{index:04d}"
        container = Container(cid, f"app-{index:04d}", "running")
        views[cid] = ContainerView(container, seen_at=MONDAY, **read)
    return Snapshot(taken_at=MONDAY, status_ok=True, containers=views)


def plan(containers: int, capacity: int = 50, confirmations: float = 0.0):
    return plan_refresh(
        containers,
        status_interval=None,
        metrics_interval=MINUTES_5,
        backups_interval=MINUTES_30,
        polling_capacity=capacity,
        confirmations_per_minute=confirmations,
    )


def backup_turns(snapshot: Snapshot, at) -> list:
    due = due_refreshes(snapshot, plan(len(snapshot.containers)), at, everything=True)
    return sorted(r.due for r in due if r.kind is Kind.BACKUPS)


def test_lists_read_all_at_once_take_their_turns_spread_over_the_interval():
    read_at = MONDAY + timedelta(hours=1)
    turns = backup_turns(fleet(100, backups_at=read_at, metrics_at=read_at), read_at)

    assert len(turns) == 100
    assert all(read_at < turn <= read_at + MINUTES_30 for turn in turns)
    # Spread: no ten-minute stretch holds more than half the fleet (together, all would).
    for first in range(len(turns)):
        window = [t for t in turns[first:] if t < turns[first] + timedelta(minutes=10)]
        assert len(window) <= 50
    # ... and from then on one interval apart: the place is the container's own.
    turn = backup_turns(fleet(1, backups_at=read_at, metrics_at=read_at), read_at)[0]
    later = backup_turns(fleet(1, backups_at=turn, metrics_at=read_at), turn)[0]
    assert later == turn + MINUTES_30


def test_a_confirmation_leaves_the_lists_next_turn_where_it_was():
    rotated = MORNING - timedelta(minutes=1)
    confirmed = fleet(20, backups_at=MORNING, backups_rotation_at=rotated, metrics_at=MORNING)
    later = rotated + MINUTES_30  # every turn has come
    interval = plan(20).backups_interval

    refreshes = due_refreshes(confirmed, plan(20), later)
    due = {r.container_id: (r.due, r.reason) for r in refreshes if r.kind is Kind.BACKUPS}

    assert due == {
        cid: (next_turn(rotated, interval, phase_of(cid, Kind.BACKUPS)), Reason.ROTATION)
        for cid in confirmed.containers
    }


def test_a_list_read_before_the_schedule_is_due_once_for_its_confirmation():
    read_before = MORNING - timedelta(minutes=1)
    snapshot = fleet(50, backups_at=read_before, metrics_at=MORNING)

    due = [r for r in due_refreshes(snapshot, plan(50), MORNING) if r.kind is Kind.BACKUPS]

    assert len(due) == 50 and len({r.container_id for r in due}) == 50
    assert {r.reason for r in due} == {Reason.CONFIRM} and {r.due for r in due} == {MORNING}
    # Where the list's turn has come too, that one read is both (it moves the rotation).
    later = read_before + MINUTES_30
    turned = [r for r in due_refreshes(snapshot, plan(50), later) if r.kind is Kind.BACKUPS]
    assert len(turned) == 50 and all(r.in_turn for r in turned)
    assert {r.reason for r in turned} == {Reason.CONFIRM}


def test_one_more_container_moves_the_turns_only_a_little():
    read_at = MONDAY + timedelta(hours=3)  # the turns count from the start of the day
    snapshot = fleet(1000, backups_at=read_at, metrics_at=read_at)
    stretched = [plan(1000), plan(1001)]
    assert stretched[1].backups_interval > stretched[0].backups_interval  # a stretched fleet

    def turns(the_plan):
        due = due_refreshes(snapshot, the_plan, read_at, everything=True)
        return {r.container_id: r.due for r in due if r.kind is Kind.BACKUPS}

    before, after = (turns(the_plan) for the_plan in stretched)
    # Each place moves by less than 1% of the interval; the few lists whose turn was within
    # that of the read take the turn after it instead (the read counts as the earlier one).
    far = [
        cid for cid in before if abs(after[cid] - before[cid]) > stretched[0].backups_interval / 100
    ]
    assert len(far) <= 10


def test_remembered_turns_follow_every_read_and_stretch_and_forget_departed_containers():
    read_at = MONDAY + timedelta(hours=3)
    turns = Turns()

    def due(snapshot, the_plan, at):
        found = due_refreshes(snapshot, the_plan, at, everything=True, turns=turns)
        fresh = due_refreshes(snapshot, the_plan, at, everything=True)
        assert found == fresh  # the same answers as working every turn out again
        return {(r.container_id, r.kind): r.due for r in found}

    snapshot = fleet(200, backups_at=read_at, metrics_at=read_at)
    first = due(snapshot, plan(200), read_at)
    assert due(snapshot, plan(200), read_at) == first
    stretched = due(snapshot, plan(200, capacity=5), read_at)  # a stretched interval
    assert stretched != first
    reread = read_at + timedelta(minutes=7)  # every container read again
    assert due(fleet(200, backups_at=reread, metrics_at=reread), plan(200), reread) != first

    few = fleet(3, backups_at=reread, metrics_at=reread)
    turns.keep_only(few.containers)
    due(few, plan(3), reread)
    assert len(turns) == 6  # metrics and backups of the three that are left


def test_a_late_read_does_not_make_the_next_one_late():
    read_at = MONDAY + timedelta(hours=1)
    turn = backup_turns(fleet(1, backups_at=read_at, metrics_at=read_at), read_at)[0]
    for late in (timedelta(minutes=1), timedelta(minutes=20), MINUTES_30 + timedelta(minutes=1)):
        read = turn + late
        next_turn = backup_turns(fleet(1, backups_at=read, metrics_at=read), read)[0]
        # the turn after the read: never two reads for one turn, never more than an interval
        assert read < next_turn <= read + MINUTES_30
        assert (next_turn - turn) % MINUTES_30 == timedelta(0)


def spent_in_an_hour(pacer: RefreshPacer, the_plan, containers: int) -> dict[str, int]:
    spent = {"confirmations": 0, "metrics": 0}
    moment = MORNING
    for _ in range(720):  # every 5 s, with confirmations and metrics always due
        pacer.earn(the_plan, containers, moment, idle=())
        while pacer.spend_confirmation():
            spent["confirmations"] += 1
        while pacer.spend(Kind.METRICS):
            spent["metrics"] += 1
        moment += timedelta(seconds=5)
    return spent


def test_confirmations_are_paced_to_their_deadline_and_leave_metrics_alone_with_room():
    # 100 containers, 100 lists to confirm in 30 minutes: the room an auto status interval
    # leaves pays them, and metrics keep their 20 a minute.
    pace = confirmation_rate(100, MORNING)
    spent = spent_in_an_hour(RefreshPacer(), plan(100, confirmations=pace), 100)

    assert pace == 100 / (CONFIRM_WITHIN / timedelta(minutes=1))
    assert abs(spent["confirmations"] - 60.5 * pace) <= 2  # the first half minute comes at once
    assert abs(spent["metrics"] - 60.5 * 20) <= 2


def test_a_fleet_without_room_lends_its_metrics_share_to_the_confirmations():
    # 1,000 containers: the budget is stretched, so only the metrics share can pay.
    pace = confirmation_rate(1000, MORNING)
    the_plan = plan(1000, confirmations=pace)
    metrics_per_minute = 1000 / (the_plan.metrics_interval / timedelta(minutes=1))
    backups_per_minute = 1001 / (the_plan.backups_interval / timedelta(minutes=1))
    slack = the_plan.refresh_capacity_per_minute - metrics_per_minute - backups_per_minute
    spent = spent_in_an_hour(RefreshPacer(), the_plan, 1000)

    assert 0 < slack < pace  # the little room a stretched plan leaves is not enough
    assert abs(spent["confirmations"] - 60.5 * pace) <= 5
    assert abs(spent["metrics"] - 60.5 * (metrics_per_minute - (pace - slack))) <= 5


def test_a_small_fleet_crossing_the_schedule_stays_as_fresh_as_the_budget_allows(tmp_path):
    # Monday 00:00 to 02:45: the 02:05 confirmations fall inside the measured window.
    result = run_fleet(tmp_path, 10, timedelta(hours=2, minutes=45), history=timedelta(days=7))

    assert result.throttled == 0
    for kind in ("metrics", "backups"):
        assert result.freshness(kind) >= 0.9, (kind, result.worst[kind], result.best[kind])
