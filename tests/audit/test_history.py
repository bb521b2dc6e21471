"""What policies read from the store: rows since a moment, filtered and in order, typed with
the details policies use parsed, and the open episodes older than a window."""

import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.exc import OperationalError

from daemon.audit import (
    AuditStore,
    Episode,
    HistoryQuery,
    HistoryRow,
    MarkCheck,
    RowKind,
    new_action_id,
)
from daemon.audit import store as store_module
from daemon.audit.schema import MARKS
from daemon.clock import ManualClock

START = datetime(2026, 1, 5, tzinfo=UTC)  # the ManualClock's default start
RESTARTER, OPERATOR, PINNER = "policy:auto_restart", "cli", "policy:weekly_pin"
RESTART, START_ACTION, PIN, UNPIN = (
    "container.restart",
    "container.start",
    "backup.pin",
    "backup.unpin",
)
GAVE_UP = Episode(
    key=("container_id",),
    opens=(RowKind(RESTARTER, RESTART, "gave_up"),),
    closes=(
        RowKind(RESTARTER, RESTART, "started"),
        RowKind(OPERATOR, START_ACTION, "succeeded"),
    ),
)
PINS = Episode(
    key=("container_id", "target"),
    opens=(RowKind(PINNER, PIN, "succeeded"),),
    closes=(RowKind(PINNER, UNPIN, "succeeded"),),
)


def append(store: AuditStore, actor: str, action: str, outcome: str, container: str, **fields):
    return store.append(
        actor,
        action,
        outcome,
        action_id=fields.pop("action_id", None) or new_action_id(),
        container_id=f"usr-0000abcd-{container}",
        container_name=container,
        **fields,
    )


def test_history_since_and_filters(filled: AuditStore, clock) -> None:
    start = datetime(2026, 1, 5, tzinfo=UTC)

    assert len(filled.history(start)) == 5
    assert [r.outcome for r in filled.history(start + timedelta(hours=2))] == [
        "succeeded",
        "failed",
        "gave_up",
    ]
    restarts = filled.history(
        start, actors=["policy:auto_restart"], container_ids=["usr-0000abcd-web"]
    )
    assert [r.outcome for r in restarts] == ["started", "succeeded", "gave_up"]
    assert [r.action for r in filled.history(start, actions=["backup.pin", "container.stop"])] == [
        "backup.pin",
        "container.stop",
    ]
    ids = [r.id for r in filled.history(start)]
    assert ids == sorted(ids)


def test_history_returns_aware_utc_times(filled: AuditStore) -> None:
    rows = filled.history(datetime(2026, 1, 5, tzinfo=UTC))
    assert rows[0].at == datetime(2026, 1, 5, tzinfo=UTC)
    assert rows[1].at == datetime(2026, 1, 5, 1, tzinfo=UTC)
    assert all(row.at.tzinfo is not None for row in rows)


def test_naive_since_is_refused(filled: AuditStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        filled.history(datetime(2026, 1, 5))


def test_rows_are_typed_with_the_details_policies_use_parsed(store: AuditStore, clock) -> None:
    append(store, RESTARTER, RESTART, "skipped", "web", details={"event": "running"})
    append(store, PINNER, PIN, "succeeded", "db", target="7", details={"iso_week": "2026-W02"})
    append(store, RESTARTER, RESTART, "gave_up", "web", details={"dry_run": True, "restarts": 5})

    running, pinned, dry = store.history(START)

    assert all(type(row) is HistoryRow for row in (running, pinned, dry))
    assert (running.event, running.iso_week, running.dry_run) == ("running", None, False)
    assert (pinned.target, pinned.iso_week, pinned.container_id) == (
        "7",
        "2026-W02",
        "usr-0000abcd-db",
    )
    assert dry.dry_run and not dry.counts(dry_run=False) and dry.counts(dry_run=True)
    assert running.at == START and running.at.tzinfo is not None


def test_rows_appended_after_an_id_are_read_without_anything_older(store: AuditStore) -> None:
    first = append(store, RESTARTER, RESTART, "started", "web")
    append(store, PINNER, PIN, "started", "db")
    assert store.last_id() == first.id + 1
    assert [row.action for row in store.history(after_id=first.id)] == [PIN]
    assert store.history(after_id=store.last_id()) == []


def test_a_gave_up_no_reset_followed_is_read_however_old(store: AuditStore, clock) -> None:
    append(store, RESTARTER, RESTART, "started", "web")
    append(store, RESTARTER, RESTART, "gave_up", "web", details={"event": "gave_up"})
    append(store, RESTARTER, RESTART, "skipped", "web", details={"event": "running"})
    append(store, RESTARTER, RESTART, "gave_up", "api")
    append(store, OPERATOR, START_ACTION, "succeeded", "api")  # a reset: api's episode is over
    append(store, RESTARTER, RESTART, "gave_up", "db")
    clock.advance(90 * 86400)
    append(store, RESTARTER, RESTART, "started", "db")  # restarted since: it was reset
    window = clock.now() - timedelta(hours=2)

    rows = store.history_from_latest(
        GAVE_UP, window, (RESTARTER, OPERATOR), (RESTART, START_ACTION)
    )

    assert [(row.container_id, row.outcome, row.event) for row in rows] == [
        ("usr-0000abcd-web", "gave_up", "gave_up"),
        ("usr-0000abcd-web", "skipped", "running"),
    ]


def test_a_dry_runs_gave_up_opens_nothing_for_a_live_reader(store: AuditStore, clock) -> None:
    append(store, RESTARTER, RESTART, "gave_up", "web", details={"dry_run": True})
    clock.advance(86400)
    window = clock.now()

    live = store.history_from_latest(GAVE_UP, window, (RESTARTER,), (RESTART,))
    dry = store.history_from_latest(GAVE_UP, window, (RESTARTER,), (RESTART,), dry_run=True)

    assert live == []
    assert [row.outcome for row in dry] == ["gave_up"]


def test_pins_still_held_are_read_with_what_followed_them(store: AuditStore, clock) -> None:
    for target in ("1", "2"):
        append(store, PINNER, PIN, "started", "db", target=target)
        append(store, PINNER, PIN, "succeeded", "db", target=target)
        clock.advance(7 * 86400)
    append(store, PINNER, UNPIN, "succeeded", "db", target="1")  # pin 1 is over
    append(store, PINNER, UNPIN, "skipped", "db", target="2")  # pin 2 kept (stale backups)
    append(store, RESTARTER, RESTART, "started", "db")  # not weekly_pin's
    clock.advance(30 * 86400)
    window = clock.now() - timedelta(weeks=3)

    rows = store.history_from_latest(PINS, window, (PINNER,), (PIN, UNPIN))
    forgotten = Episode(PINS.key, PINS.opens, PINS.closes, not_before=window)

    assert [(row.action, row.outcome, row.target) for row in rows] == [
        (PIN, "succeeded", "2"),
        (UNPIN, "skipped", "2"),
    ]
    assert store.history_from_latest(forgotten, window, (PINNER,), (PIN, UNPIN)) == []


# The queries of both episodes, for a live reader and a dry-running one (as open_episodes).
DECLARED = [
    HistoryQuery(START, actors, actions, episode, dry_run)
    for episode, actors, actions in (
        (GAVE_UP, (RESTARTER, OPERATOR), (RESTART, START_ACTION)),
        (PINS, (PINNER,), (PIN, UNPIN)),
    )
    for dry_run in (False, True)
]


def marks(database_url: str) -> dict[str, tuple]:
    """The episode marks as the store reads them (aware UTC): (closed_before, read_from)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            found = conn.execute(select(MARKS.c.episode, MARKS.c.closed_before, MARKS.c.read_from))
            return {
                episode: (closed_before, read_from) for episode, closed_before, read_from in found
            }
    finally:
        engine.dispose()


def open_episodes(store: AuditStore, window: datetime, **read) -> list[list[HistoryRow]]:
    """What a start reads of both episodes, for a live reader and a dry-running one."""
    return [
        store.history_from_latest(
            GAVE_UP, window, (RESTARTER, OPERATOR), (RESTART, START_ACTION), dry_run, **read
        )
        for dry_run in (False, True)
    ] + [
        store.history_from_latest(PINS, window, (PINNER,), (PIN, UNPIN), dry_run, **read)
        for dry_run in (False, True)
    ]


def without_marks(store: AuditStore, raw_sql, window: datetime) -> list[list[HistoryRow]]:
    """What a start reads with no mark (the whole log), the marks left as they were."""
    columns = "episode, closed_before, read_from, still_open, updated_at"
    saved = raw_sql(f"SELECT {columns} FROM audit_episode_mark")
    raw_sql("DELETE FROM audit_episode_mark")
    try:
        return open_episodes(store, window, save_mark=False)
    finally:
        for values in saved:
            raw_sql(
                f"INSERT INTO audit_episode_mark ({columns}) VALUES (:a, :b, :c, :d, :e)",
                **dict(zip("abcde", values, strict=True)),
            )


def test_starts_from_the_marks_find_what_reads_of_the_whole_log_find(
    open_store, database_url, raw_sql, clock
) -> None:
    store = open_store()
    chance = random.Random(7)
    held: dict[str, list[str]] = {name: [] for name in ("a", "b", "c", "d")}
    for week in range(16):
        for name, pins in held.items():
            pins.append(f"{name}-{week}")
            append(store, PINNER, PIN, "started", name, target=pins[-1])
            append(store, PINNER, PIN, "succeeded", name, target=pins[-1])
            if len(pins) > 3:  # unpinned, or kept (stale backups) for a while
                outcome = "succeeded" if chance.random() < 0.7 else "skipped"
                append(store, PINNER, UNPIN, outcome, name, target=pins[0])
                if outcome == "succeeded":
                    pins.pop(0)
            clock.advance(3600)
            if name == "a" and week >= 5:  # given up in week 5, never reset since
                if week == 5:
                    append(store, RESTARTER, RESTART, "gave_up", name)
            elif chance.random() < 0.3:  # given up (a dry run's, now and then), reset later
                dry_run = {"dry_run": True} if chance.random() < 0.3 else None
                append(store, RESTARTER, RESTART, "gave_up", name, details=dry_run)
            elif chance.random() < 0.3:
                append(store, OPERATOR, START_ACTION, "succeeded", name)
            elif chance.random() < 0.3:
                append(store, RESTARTER, RESTART, "started", name)
        clock.advance(7 * 86400 - 4 * 3600)
        window = clock.now() - timedelta(weeks=3)

        from_marks = open_episodes(store, window)  # from the marks the last week's start left
        assert from_marks == without_marks(store, raw_sql, window)
        checks = store.check_marks(DECLARED)
        assert len(checks) == 4 and all(check.declared for check in checks)
        assert [check.missed for check in checks] == [None] * 4  # `audit verify`: they hold

    live_pins = {row.target for row in from_marks[2] if row.outcome == "succeeded"}
    assert live_pins and live_pins == {pin for pins in held.values() for pin in pins[:-3]}
    given_up = {row.container_id for row in from_marks[0] if row.outcome == "gave_up"}
    assert "usr-0000abcd-a" in given_up  # however long ago, until a reset
    # The marks moved on: a start reads weeks, not the whole log.
    assert min(closed for closed, _ in marks(database_url).values()) > START + timedelta(weeks=4)


def test_a_start_reads_from_the_mark_not_the_whole_log(store: AuditStore, raw_sql, clock) -> None:
    append(store, RESTARTER, RESTART, "gave_up", "web")
    append(store, RESTARTER, RESTART, "started", "web")  # reset
    clock.advance(30 * 86400)
    window = clock.now() - timedelta(hours=2)
    assert store.history_from_latest(GAVE_UP, window, (RESTARTER,), (RESTART,)) == []
    # A give-up written long before the mark (only by hand: the store writes the present)
    # is not read: the start read from the mark.
    raw_sql(
        "UPDATE audit_log SET outcome = 'gave_up' WHERE outcome = 'started'",
    )

    assert store.history_from_latest(GAVE_UP, window, (RESTARTER,), (RESTART,)) == []
    assert (
        store.history_from_latest(GAVE_UP, window, (RESTARTER,), (RESTART,), dry_run=True) != []
    )  # another mark: a dry-running reader has read nothing yet


def gave_up_mark(database_url: str) -> tuple:
    """The live reader's mark of GAVE_UP: (closed_before, read_from, still_open)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            columns = (MARKS.c.closed_before, MARKS.c.read_from, MARKS.c.still_open)
            found = conn.execute(
                select(*columns).where(MARKS.c.episode == GAVE_UP.mark_name(False))
            )
            return tuple(found.one())
    finally:
        engine.dispose()


def read_gave_up(store: AuditStore, clock) -> list[tuple]:
    """A start's read of the give-ups still open: (container, outcome) of each row."""
    window = clock.now() - timedelta(hours=2)
    rows = store.history_from_latest(
        GAVE_UP, window, (RESTARTER, OPERATOR), (RESTART, START_ACTION)
    )
    return [(row.container_id.removeprefix("usr-0000abcd-"), row.outcome) for row in rows]


def test_a_container_given_up_months_ago_does_not_hold_the_mark_back(
    store: AuditStore, database_url, raw_sql, clock
) -> None:
    """The mark lists the give-ups still open and ends at the window: a start reads the
    give-ups since the last one and the listed ones, not every give-up since the oldest."""
    web = append(store, RESTARTER, RESTART, "gave_up", "web")  # never reset
    for _ in range(60):  # db gives up and is reset every day
        clock.advance(86400)
        append(store, RESTARTER, RESTART, "gave_up", "db")
        append(store, RESTARTER, RESTART, "started", "db")
    assert read_gave_up(store, clock) == [("web", "gave_up")]

    closed_before, read_from, still_open = gave_up_mark(database_url)
    assert closed_before == clock.now() - timedelta(hours=2, days=1)  # not web's give-up - 1 day
    assert read_from is None
    assert [row_id for row_id, _ in json.loads(still_open)] == [web.id]
    # db's resets, undone by hand: a read of the whole log would find db given up since
    # the first; a start from the mark reads neither those give-ups nor their resets.
    raw_sql("UPDATE audit_log SET outcome = 'observed' WHERE outcome = 'started'")
    clock.advance(3600)
    assert read_gave_up(store, clock) == [("web", "gave_up")]
    assert [check.missed for check in store.check_marks(DECLARED[:1])] == [None]


def test_a_listed_give_up_ends_with_a_reset_and_gives_way_to_a_newer_one(
    store: AuditStore, database_url, clock
) -> None:
    append(store, RESTARTER, RESTART, "gave_up", "web")
    clock.advance(30 * 86400)
    assert read_gave_up(store, clock) == [("web", "gave_up")]  # listed from now on

    append(store, OPERATOR, START_ACTION, "succeeded", "web")  # the operator's reset
    clock.advance(30 * 86400)
    assert read_gave_up(store, clock) == []
    assert gave_up_mark(database_url)[2] is None  # nothing listed any more

    append(store, RESTARTER, RESTART, "gave_up", "web")
    clock.advance(30 * 86400)
    assert read_gave_up(store, clock) == [("web", "gave_up")]  # listed again
    newer = append(store, RESTARTER, RESTART, "gave_up", "web")  # web's latest give-up now
    clock.advance(30 * 86400)
    window = clock.now() - timedelta(hours=2)
    rows = store.history_from_latest(
        GAVE_UP, window, (RESTARTER, OPERATOR), (RESTART, START_ACTION)
    )
    assert [row.id for row in rows] == [newer.id]  # read from the newer one, not the listed
    assert [row_id for row_id, _ in json.loads(gave_up_mark(database_url)[2])] == [newer.id]


@pytest.mark.parametrize(
    ("garbled", "said"),
    [
        ("not a list", "not JSON"),
        ('[[1, "yesterday"]]', "not a UTC time"),
        ('[[1, "2026-01-01T00:00:00"]]', "not a UTC time"),  # no offset
        ('[[1e400, "2026-01-01T00:00:00+00:00"]]', "not [id, time]"),
        ('[[true, "2026-01-01T00:00:00+00:00"]]', "not [id, time]"),
        ('{"1": "2026-01-01T00:00:00+00:00"}', "not [id, time]"),
    ],
)
def test_a_mark_whose_list_cannot_be_read_is_replaced_after_a_read_of_the_whole_log(
    store: AuditStore, raw_sql, clock, caplog, garbled, said
) -> None:
    append(store, RESTARTER, RESTART, "gave_up", "web")
    clock.advance(30 * 86400)
    read_gave_up(store, clock)
    raw_sql(
        "UPDATE audit_episode_mark SET still_open = :garbled WHERE episode = :name",
        garbled=garbled,
        name=GAVE_UP.mark_name(False),
    )
    [check] = store.check_marks(DECLARED[:1])
    assert check.mark is None and said in (check.wrong_list or "")

    assert read_gave_up(store, clock) == [("web", "gave_up")]  # the whole log, not nothing
    assert "cannot be read" in caplog.text and "whole history" in caplog.text
    [check] = store.check_marks(DECLARED[:1])
    assert check.wrong_list is None and check.missed is None  # replaced, and it holds


def test_a_list_edited_by_hand_is_found_out(store: AuditStore, raw_sql, clock) -> None:
    web = append(store, RESTARTER, RESTART, "gave_up", "web")
    started = append(store, RESTARTER, RESTART, "started", "db")
    clock.advance(30 * 86400)
    read_gave_up(store, clock)  # lists web's give-up
    name = GAVE_UP.mark_name(False)

    def listing(still_open: list) -> MarkCheck:
        raw_sql(
            "UPDATE audit_episode_mark SET still_open = :listed WHERE episode = :name",
            listed=json.dumps(still_open),
            name=name,
        )
        [check] = store.check_marks(DECLARED[:1])
        return check

    moved = listing([[web.id, clock.now().isoformat()]])  # a start would not read it now
    assert moved.missed is not None and moved.missed.id == web.id
    assert f"lists row {web.id} at {clock.now().isoformat()}" in (moved.wrong_list or "")
    older = listing([[web.id, (START - timedelta(days=1)).isoformat()]])
    assert older.missed is None  # still read by its id, but the list is not as written
    assert "written at" in (older.wrong_list or "")
    other = listing([[web.id, web.at.isoformat()], [started.id, started.at.isoformat()]])
    assert other.missed is None and "opens no episode" in (other.wrong_list or "")
    gone = listing([[web.id, web.at.isoformat()], [10**6, web.at.isoformat()]])
    assert f"row {10**6}, which is not in the log" in (gone.wrong_list or "")
    assert listing([[web.id, web.at.isoformat()]]).wrong_list is None  # as the store wrote it


def test_a_list_on_a_mark_of_pins_hides_nothing(store: AuditStore, raw_sql, clock) -> None:
    """Only a container's episode's mark is read with its list: one written by hand on
    weekly_pin's is ignored by starts and by `audit verify` alike."""
    pin = append(store, PINNER, PIN, "succeeded", "db", target="7")  # open: never unpinned
    clock.advance(30 * 86400)
    window = clock.now() - timedelta(weeks=3)
    assert store.history_from_latest(PINS, window, (PINNER,), (PIN, UNPIN)) != []
    raw_sql(
        "UPDATE audit_episode_mark SET closed_before = :later, still_open = :listed "
        "WHERE episode = :name",
        later=clock.now(),
        listed=json.dumps([[pin.id, pin.at.isoformat()]]),
        name=PINS.mark_name(False),
    )

    checks = {check.episode: check for check in store.check_marks(DECLARED)}

    missed = checks[PINS.mark_name(False)].missed
    assert missed is not None and missed.id == pin.id
    assert store.history_from_latest(PINS, window, (PINNER,), (PIN, UNPIN)) == []  # why


def test_a_mark_lists_nothing_opened_before_the_horizon_it_was_read_with(
    store: AuditStore, database_url, clock
) -> None:
    """A container's episode with a horizon (none is declared today): a read with a later
    horizon leaves out the give-ups before it, so its mark says nothing of them, and a
    read with an earlier horizon reads them again."""
    start = clock.now()
    clock.advance(5 * 86400)
    append(store, RESTARTER, RESTART, "gave_up", "web")  # on day 5
    clock.advance(30 * 86400)

    def read(horizon_days: int) -> list[str]:
        episode = replace(GAVE_UP, not_before=start + timedelta(days=horizon_days))
        window = clock.now() - timedelta(hours=2)
        rows = store.history_from_latest(episode, window, (RESTARTER,), (RESTART,))
        return [row.outcome for row in rows]

    assert read(-1) == ["gave_up"]
    assert read(10) == []  # forgotten: before the horizon
    assert gave_up_mark(database_url)[1] == start + timedelta(days=10)  # read_from
    assert read(2) == ["gave_up"]  # an earlier horizon (day 2): the whole of it again
    assert read(-1) == ["gave_up"]


def test_a_longer_horizon_is_read_whole_again(store: AuditStore, clock) -> None:
    append(store, PINNER, PIN, "succeeded", "db", target="old")  # kept: backups were stale
    clock.advance(70 * 7 * 86400)
    append(store, PINNER, PIN, "succeeded", "db", target="new")
    clock.advance(4 * 7 * 86400)
    window = clock.now() - timedelta(weeks=3)

    def held(horizon_weeks: int) -> list[str | None]:
        episode = replace(PINS, not_before=clock.now() - timedelta(weeks=horizon_weeks))
        rows = store.history_from_latest(episode, window, (PINNER,), (PIN, UNPIN))
        return [row.target for row in rows]

    assert held(60) == ["new"]  # keep_weeks 8: the old pin is forgotten
    assert held(82) == ["old", "new"]  # keep_weeks 30: remembered
    assert held(60) == ["new"]  # keep_weeks 8 again
    assert held(82) == ["old", "new"]  # and 30 again


def test_a_give_up_written_on_a_clock_behind_is_read(open_store, database_url, clock) -> None:
    ahead = ManualClock(clock.now() + timedelta(hours=3))
    fast = AuditStore.open(database_url, "fast:1", ahead)  # another instance's clock
    try:
        fast.history_from_latest(
            GAVE_UP, ahead.now() - timedelta(hours=2), (RESTARTER,), (RESTART,)
        )
    finally:
        fast.close()
    store = open_store()
    clock.advance(600)
    append(store, RESTARTER, RESTART, "gave_up", "web")  # 2 h 50 min before the fast clock
    clock.advance(86400)

    rows = store.history_from_latest(
        GAVE_UP, clock.now() - timedelta(hours=2), (RESTARTER,), (RESTART,)
    )

    assert [(row.container_id, row.outcome) for row in rows] == [("usr-0000abcd-web", "gave_up")]


def test_a_read_that_saves_no_mark_leaves_the_database_as_it_was(
    store: AuditStore, database_url, clock
) -> None:
    append(store, PINNER, PIN, "succeeded", "db", target="1")
    clock.advance(30 * 86400)

    rows = store.history_from_latest(PINS, clock.now(), (PINNER,), (PIN, UNPIN), save_mark=False)

    assert [row.target for row in rows] == ["1"]
    assert marks(database_url) == {}


def test_a_mark_that_cannot_be_saved_is_logged_and_the_rows_are_read(
    store: AuditStore, clock, monkeypatch, caplog
) -> None:
    append(store, PINNER, PIN, "succeeded", "db", target="1")
    clock.advance(30 * 86400)

    def locked(*_args) -> None:
        raise OperationalError("UPDATE audit_episode_mark", {}, Exception("database is locked"))

    monkeypatch.setattr(store_module, "save_mark", locked)
    rows = store.history_from_latest(PINS, clock.now(), (PINNER,), (PIN, UNPIN))

    assert [(row.action, row.target) for row in rows] == [(PIN, "1")]
    assert "could not save where the open episodes of policy:weekly_pin backup.pin" in caplog.text
    assert "database is locked" in caplog.text
    assert "blocked" not in caplog.text  # nothing waits for it


def still_open(checks: list[MarkCheck]) -> dict[str, tuple | None]:
    """Each checked mark's name -> the episode it wrongly says is closed (None: it holds)."""
    return {
        check.episode: None
        if check.missed is None
        else (check.missed.container_id, check.missed.target, check.missed.outcome)
        for check in checks
        if check.declared
    }


def test_a_mark_edited_by_hand_is_found_out(store: AuditStore, raw_sql, clock) -> None:
    append(store, RESTARTER, RESTART, "gave_up", "web")  # open: never reset
    append(store, PINNER, PIN, "succeeded", "db", target="7")  # open: never unpinned
    clock.advance(30 * 86400)
    window = clock.now() - timedelta(hours=2)
    open_episodes(store, window)  # a start: the marks end before the open episodes
    assert set(still_open(store.check_marks(DECLARED)).values()) == {None}

    # Someone moves the live reader's marks past the open episodes (and empties the list of
    # the ones still open of a container's episode): a start would forget them.
    raw_sql(
        "UPDATE audit_episode_mark SET closed_before = :later, still_open = NULL "
        "WHERE episode IN (:gave_up, :pins)",
        later=clock.now(),
        gave_up=GAVE_UP.mark_name(False),
        pins=PINS.mark_name(False),
    )

    assert still_open(store.check_marks(DECLARED)) == {
        GAVE_UP.mark_name(False): ("usr-0000abcd-web", None, "gave_up"),
        GAVE_UP.mark_name(True): None,  # the dry-running reader's marks were left alone
        PINS.mark_name(False): ("usr-0000abcd-db", "7", "succeeded"),
        PINS.mark_name(True): None,
    }
    assert store.history_from_latest(GAVE_UP, window, (RESTARTER,), (RESTART,)) == []  # why


def test_a_give_up_written_on_a_clock_days_behind_makes_the_mark_false(
    store: AuditStore, database_url, clock
) -> None:
    store.history_from_latest(GAVE_UP, clock.now(), (RESTARTER,), (RESTART,))  # marks now - 1d
    late = AuditStore.open(database_url, "slow:1", ManualClock(clock.now() - timedelta(days=2)))
    try:
        append(late, RESTARTER, RESTART, "gave_up", "web")  # written now, dated 2 days ago
    finally:
        late.close()

    found = still_open(store.check_marks(DECLARED))

    assert found[GAVE_UP.mark_name(False)] == ("usr-0000abcd-web", None, "gave_up")
    # The next start would indeed miss it: what the check is for.
    window = clock.now() - timedelta(hours=2)
    assert store.history_from_latest(GAVE_UP, window, (RESTARTER,), (RESTART,)) == []


def test_marks_no_query_declares_are_not_checked(store: AuditStore, raw_sql, clock) -> None:
    store.history_from_latest(GAVE_UP, clock.now(), (RESTARTER,), (RESTART,))
    raw_sql(
        "INSERT INTO audit_episode_mark (episode, closed_before, updated_at) "
        "VALUES (:episode, :closed, :closed)",
        episode="policy:old backup.pin succeeded 0123456789abcdef",
        closed=clock.now(),
    )

    checks = {check.episode: check.declared for check in store.check_marks(DECLARED)}

    assert checks == {
        "policy:old backup.pin succeeded 0123456789abcdef": False,
        GAVE_UP.mark_name(False): True,
    }


def test_a_mark_says_nothing_of_episodes_opened_before_it_was_read_from(
    store: AuditStore, clock
) -> None:
    append(store, PINNER, PIN, "succeeded", "db", target="old")  # never unpinned
    clock.advance(20 * 7 * 86400)
    horizon = replace(PINS, not_before=clock.now() - timedelta(weeks=10))  # forgets "old"
    assert store.history_from_latest(horizon, clock.now(), (PINNER,), (PIN, UNPIN)) == []

    assert still_open(store.check_marks(DECLARED))[PINS.mark_name(False)] is None


def test_a_lost_pin_the_list_showed_absent_closes_its_episode(database_url, store, clock) -> None:
    """weekly_pin's own declaration: a pin whose answer was lost and that the next list
    showed unpinned was never the daemon's, so a start neither reads it again nor keeps
    its mark behind it (which would make every start read from there for a year)."""
    from policies import BackupFreshnessOptions, WeeklyPinOptions, WeeklyPinPolicy

    week = {"iso_week": "2026-W02"}
    absent = append(store, PINNER, PIN, "interrupted", "db", target="1", details=week)
    append(store, PINNER, PIN, "skipped", "db", target="1", details={"event": "lost_pin_absent"})
    clock.advance(3 * 86400)  # more than the mark's allowance for clocks behind (a day)
    pinned = append(store, PINNER, PIN, "unknown", "db", target="2", details=week)
    append(store, PINNER, PIN, "skipped", "db", target="2", details={"event": "lost_pin_pinned"})
    append(store, PINNER, PIN, "succeeded", "db", target="3", details=week)
    clock.advance(5 * 7 * 86400)
    query = WeeklyPinPolicy(WeeklyPinOptions(), BackupFreshnessOptions()).history_query(clock.now())
    assert query.episode is not None

    rows = store.history_from_latest(query.episode, query.since, query.actors, query.actions)

    assert [(row.target, row.outcome) for row in rows] == [
        ("2", "unknown"),
        ("2", "skipped"),
        ("3", "succeeded"),
    ]
    [(closed_before, _)] = marks(database_url).values()
    assert absent.at < closed_before <= pinned.at  # the mark starts at pin 2, not pin 1
