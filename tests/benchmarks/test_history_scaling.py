"""A tiny run of the history benchmark, so it keeps working: structure and facts, no timing.

The figures come from `make bench`; here a small fleet and a few hundred rows go
through the same code: the database built in bulk verifies, the daemon folds it
(weekly_pin's part after its first evaluation), the quiet rounds append nothing, and
the table shows every figure.
"""

import json
from datetime import timedelta

from daemon.audit import AuditStore
from daemon.clock import ManualClock
from tests.benchmarks import figures
from tests.benchmarks.history_database import build_history, container_id
from tests.benchmarks.history_scaling import (
    QUIET_ROUNDS,
    SATURDAY,
    build_and_verify,
    names,
    run_history,
)
from tests.benchmarks.jobs import main as run_job
from tests.benchmarks.table import markdown

CONTAINERS = 20


def test_a_bulk_built_history_verifies_and_holds_the_mix(tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    built = build_history(url, names(CONTAINERS), 2000, timedelta(days=70), SATURDAY)

    store = AuditStore.open(url, "test:1", ManualClock(SATURDAY))
    rows = store.query()
    assert store.verify().ok
    store.close()
    assert abs(built.rows - 2000) < 50 and len(rows) == built.rows
    assert all(SATURDAY - timedelta(days=70) <= row.at < SATURDAY for row in rows)
    kinds = {(row.actor, row.action, row.outcome) for row in rows}
    for kind in (
        ("policy:weekly_pin", "backup.pin", "succeeded"),
        ("policy:weekly_pin", "backup.unpin", "succeeded"),
        ("policy:auto_restart", "container.restart", "succeeded"),
        ("policy:auto_restart", "container.restart", "skipped"),
        ("policy:auto_restart", "container.restart", "gave_up"),
        ("cli", "backup.create", "succeeded"),
    ):
        assert kind in kinds
    assert {row.container_id for row in rows} <= {container_id(n) for n in names(CONTAINERS)}
    started = {row.action_id for row in rows if row.outcome == "started"}
    ended = {row.action_id for row in rows if row.outcome != "started"}
    assert len(started - ended) <= 2  # only actions cut off by the end of the span


def test_a_small_history_run_measures_every_figure(tmp_path):
    (tmp_path / "none").mkdir()
    (tmp_path / "some").mkdir()
    baseline = run_history(tmp_path / "none", CONTAINERS, 0, timedelta(0), probes=0)
    sized = run_history(tmp_path / "some", CONTAINERS, 600, timedelta(days=14), probes=1)

    assert baseline.rows == 0 and baseline.rows_folded == 0
    assert sized.verified and abs(sized.rows - 600) < 30 and sized.rows_folded > 0
    for result in (baseline, sized):
        assert result.first_evaluation_seconds > 0 and result.rss_bytes > 0
        assert len(result.quiet_evaluation_seconds) == QUIET_ROUNDS
        assert result.quiet_rows == 0  # nothing to do: quiet
    # another start, in a fresh process on a copy of the database as it was, read it too
    [probed] = sized.probe_first_evaluation_seconds
    assert probed > 0 and sized.first_evaluation == (probed + sized.first_evaluation_seconds) / 2
    assert not (tmp_path / "some" / "start-probe").exists()  # the copy is removed
    assert sized.states["weekly_pin"] > 0
    # weekly_pin's state is read after the first evaluation, while the lists are read
    assert sized.warm_up_evaluation_seconds and sized.warm_up_rows_folded > 0
    rows = figures.history_rows(baseline, [sized, sized])
    rows.append(figures.reconcile_row(baseline, sized))
    table = markdown(rows)
    assert "first evaluation after the first poll" in table and "0 rows:" in table
    assert "; starts from " in table  # the spread of the starts the median is taken from
    assert all(row.met is not None for row in rows[:-1])


def test_the_build_job_reports_json_with_its_verification(tmp_path, capsys):
    spec = {
        "job": "history-build",
        "url": f"sqlite:///{tmp_path / 'audit.db'}",
        "containers": CONTAINERS,
        "rows": 300,
        "span_days": 7,
        "seed": 2,
    }
    run_job(["jobs", json.dumps(spec)])
    result = json.loads(capsys.readouterr().out)
    assert result["verified"] and abs(result["rows"] - 300) < 20
    assert result["seconds"] > 0 and result["first_reconcile_seconds"] > 0


def test_building_is_deterministic_for_a_seed(tmp_path):
    urls = [f"sqlite:///{tmp_path / f'{n}.db'}" for n in range(2)]
    results = [build_and_verify(url, CONTAINERS, 300, timedelta(days=7), seed=3) for url in urls]
    hashes = []
    for url in urls:
        store = AuditStore.open(url, "test:1", ManualClock(SATURDAY))
        hashes.append([row.hash for row in store.query()])
        store.close()
    assert results[0]["rows"] == results[1]["rows"]
    assert hashes[0] == hashes[1]
