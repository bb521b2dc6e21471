"""`audit export` and `audit verify --file`: a contiguous piece of the chain, checked offline."""

import json
from datetime import timedelta

from daemon.audit import GENESIS_HASH, export_line, new_action_id, verify_export
from daemon.audit.export import OPEN_GAPS_KEPT


def exported(store, since=None) -> list[str]:
    return [export_line(row) for row in store.export_rows(since)]


def test_an_export_of_the_whole_log_verifies_from_genesis(filled):
    lines = exported(filled)
    assert len(lines) == 5
    check = verify_export(lines)
    assert check.ok, check.problem
    assert check.rows == 5
    assert check.from_genesis and check.anchor == GENESIS_HASH
    rows = [json.loads(line) for line in lines]
    assert check.last_hash == rows[-1]["hash"]
    assert [row["outcome"] for row in rows] == [
        "started",
        "succeeded",
        "succeeded",
        "failed",
        "gave_up",
    ]
    assert all(row["at"].endswith("Z") for row in rows)


def test_since_starts_at_the_first_row_in_the_window_and_verifies_from_its_prev_hash(filled, clock):
    # Rows are 1 h apart; the last one was written 1 h before now.
    lines = exported(filled, since=clock.now() - timedelta(hours=2, minutes=30))
    rows = [json.loads(line) for line in lines]
    assert [row["outcome"] for row in rows] == ["failed", "gave_up"]
    check = verify_export(lines)
    assert check.ok, check.problem
    assert not check.from_genesis
    everything = [json.loads(line) for line in exported(filled)]
    assert check.anchor == everything[2]["hash"]  # the row before the window


def test_a_row_written_with_an_earlier_clock_is_not_cut_out_of_the_middle(filled, clock):
    since = clock.now() - timedelta(minutes=90)
    clock.advance(-7200)  # another process whose clock is behind writes a row
    filled.append("cli", "container.start", "succeeded", action_id=new_action_id())
    rows = [json.loads(line) for line in exported(filled, since=since)]
    assert [row["outcome"] for row in rows] == ["gave_up", "succeeded"]
    assert verify_export([export_line(row) for row in filled.export_rows(since)]).ok


def test_nothing_in_the_window_exports_nothing(filled, clock):
    assert exported(filled, since=clock.now()) == []
    check = verify_export([])
    assert not check.ok and check.problem == "the file holds no audit rows yet: nothing to verify"


def test_a_file_with_only_notify_tests_sample_says_so():
    """The README's "try the sink first": the sink's file holds only the test line yet."""
    sample = {"id": 0, "at": "2026-01-05T00:00:00Z", "details": {"test": True},
              "prev_hash": "0" * 64, "hash": "0" * 64}  # fmt: skip
    check = verify_export([json.dumps(sample)])
    assert not check.ok
    assert check.problem == (
        "the file holds no audit rows yet, only 1 `notify test` line(s): nothing to verify"
    )


def tamper(lines: list[str], index: int, **changes) -> list[str]:
    row = json.loads(lines[index])
    row.update(changes)
    return [*lines[:index], json.dumps(row) + "\n", *lines[index + 1 :]]


def test_an_edited_row_is_the_first_broken_line(filled):
    lines = exported(filled)
    check = verify_export(tamper(lines, 3, outcome="succeeded"))
    assert not check.ok
    assert check.broken_line == 4
    assert "was altered" in check.problem


def test_a_row_delivered_twice_verifies_but_an_edited_copy_of_it_does_not(filled):
    """A sink delivers at least once, so a line may repeat; a copy with other contents
    under the same id and hash is a forgery, not a repeat."""
    lines = exported(filled)
    assert verify_export([*lines[:3], lines[2], *lines[3:]]).ok
    forged = tamper([*lines[:3], lines[2], *lines[3:]], 3, outcome="succeeded", reason="all good")
    check = verify_export(forged)
    assert not check.ok
    assert check.broken_line == 4
    assert "repeated with other contents" in check.problem


def test_a_removed_row_breaks_the_line_after_it(filled):
    lines = exported(filled)
    check = verify_export(lines[:2] + lines[3:])
    assert not check.ok
    assert check.broken_line == 3
    assert "does not link to the line before it" in check.problem


def test_reordered_rows_and_edited_ids_are_found(filled):
    lines = exported(filled)
    assert verify_export([lines[1], lines[0], *lines[2:]]).broken_line == 2
    first_id = json.loads(lines[0])["id"]
    edited = verify_export(tamper(lines, 1, id=first_id))
    assert edited.broken_line == 2
    assert "id was edited" in edited.problem


def test_garbage_lines_are_named_not_raised(filled):
    lines = exported(filled)
    assert "not JSON" in verify_export([*lines[:1], "{oops\n"]).problem
    assert verify_export([*lines[:1], "[1, 2]\n"]).broken_line == 2
    missing = verify_export([json.dumps({"id": 1}) + "\n"])
    assert missing.problem == "not an exported audit row: no at, prev_hash, hash"
    assert "not ISO 8601" in verify_export(tamper(lines, 0, at="yesterday")).problem


def test_blank_lines_are_ignored_but_count_in_line_numbers(filled):
    lines = exported(filled)
    with_blank = [lines[0], "\n", *tamper(lines, 1, reason="edited")[1:]]
    check = verify_export(with_blank)
    assert check.broken_line == 3


def test_an_altered_row_after_a_gap_is_named_with_the_gap(filled):
    """A gap waits for summary rows that might cover it; an altered row after it is the
    line reported, and the gap is named with it."""
    lines = exported(filled)
    check = verify_export(tamper(lines[:2] + lines[3:], 3, reason="edited"))
    assert not check.ok
    assert check.broken_line == 4
    assert "was altered" in check.problem
    assert "the gap before line 3 was not covered by a summary row" in check.problem


def test_a_file_with_a_gap_at_every_line_stops_early(filled):
    """A filtered sink's file (or an edited one) is not read to its end with every gap kept."""
    for index in range(60):
        filled.append(
            "cli", "container.stop", "failed", action_id=new_action_id(), reason=f"{index}"
        )
    every_other = exported(filled)[::2]
    check = verify_export(every_other)
    assert not check.ok
    assert check.broken_line == 2
    assert check.rows == OPEN_GAPS_KEPT + 2 < len(every_other)
