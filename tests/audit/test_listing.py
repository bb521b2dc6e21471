"""`audit list`: the rows it selects (by container id or name, action, outcome, time, the
newest few), and its output: an aligned table, a JSON array, CSV with a header."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from daemon.audit import COLUMNS, AuditStore, new_action_id, render_csv, render_json, render_table


@pytest.fixture
def rows(tmp_path, clock) -> list:
    store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.db'}", "host:1", clock)
    action_id = new_action_id()
    store.append(
        "cli",
        "backup.pin",
        "started",
        action_id=action_id,
        container_id="usr-0000abcd-web",
        container_name="web",
        target="bk-1",
        reason='weekly, "quoted", with comma',
    )
    clock.advance(1.5)
    store.append(
        "cli",
        "backup.pin",
        "failed",
        action_id=action_id,
        container_id="usr-0000abcd-web",
        container_name="web",
        target="bk-1",
        http_status=404,
        error="backup not found",
        details={"attempt": 1},
        duration_ms=12,
    )
    result = store.query()
    store.close()
    return result


def test_csv_has_a_header_and_round_trips(rows) -> None:
    parsed = list(csv.DictReader(io.StringIO(render_csv(rows))))

    assert tuple(parsed[0].keys()) == COLUMNS
    assert parsed[0]["reason"] == 'weekly, "quoted", with comma'
    assert parsed[0]["at"] == "2026-01-05T00:00:00Z"
    assert parsed[1]["http_status"] == "404"
    assert parsed[1]["details"] == '{"attempt":1}'
    assert parsed[0]["error"] == ""


def test_json_is_an_array_of_full_rows(rows) -> None:
    parsed = json.loads(render_json(rows))

    assert [row["outcome"] for row in parsed] == ["started", "failed"]
    assert parsed[1]["details"] == {"attempt": 1}
    assert parsed[1]["at"] == "2026-01-05T00:00:01.500000Z"
    assert parsed[1]["hash"] == rows[1].hash
    assert json.loads(render_json([])) == []


def test_table_is_aligned_and_shows_errors(rows) -> None:
    lines = render_table(rows).splitlines()

    assert lines[0].split() == [
        "ID",
        "AT",
        "ACTOR",
        "ACTION",
        "CONTAINER",
        "TARGET",
        "OUTCOME",
        "REASON",
    ]
    assert lines[1].index("backup.pin") == lines[2].index("backup.pin") == lines[0].index("ACTION")
    assert "error: backup not found" in lines[2]
    assert "web" in lines[1]


def test_query_filters_for_audit_list(filled: AuditStore) -> None:
    assert [r.container_name for r in filled.query(container="db")] == ["db", "db"]
    assert len(filled.query(container="usr-0000abcd-web")) == 3
    assert [r.outcome for r in filled.query(action="container.restart", outcome="gave_up")] == [
        "gave_up",
    ]
    since = datetime(2026, 1, 5, 3, tzinfo=UTC)
    assert [r.outcome for r in filled.query(since=since)] == ["failed", "gave_up"]
    newest_two = filled.query(limit=2)
    assert [r.outcome for r in newest_two] == ["failed", "gave_up"]
    assert filled.query(container="nope") == []
