"""`audit export` from a real daemon's database, then `audit verify --file` on it, pristine and
tampered: what an operator does to hand the audit to someone without the database."""

import json
import subprocess

from tests.support.processes import free_port, run_cli, write_config


def cli(config, *args: str, key: str = "") -> subprocess.CompletedProcess:
    return run_cli(config, *args, key=key)


def test_an_export_verifies_offline_and_a_tampered_copy_names_its_first_broken_line(
    simulator, tmp_path
):
    web = simulator.seed("web")
    config = write_config(tmp_path, simulator.base_url, free_port())
    for _ in range(2):
        simulator.control("POST", f"containers/{web}/crash")
        assert cli(config, "once", key=simulator.key).returncode == 0

    export = cli(config, "audit", "export", "--since", "7d", "--format", "jsonl")
    assert export.returncode == 0, export.stderr
    lines = export.stdout.splitlines(keepends=True)
    rows = [json.loads(line) for line in lines]
    assert len(rows) >= 3
    assert {"hash", "prev_hash", "id", "action_id"} <= set(rows[0])
    assert f"exported {len(rows)} rows" in export.stderr
    pristine = tmp_path / "export.jsonl"
    pristine.write_text(export.stdout)

    # The database is not needed: a config pointing nowhere still checks the file.
    (tmp_path / "elsewhere").mkdir()
    elsewhere = write_config(
        tmp_path / "elsewhere",
        simulator.base_url,
        free_port(),
        database_url="sqlite:////nonexistent/dir/audit.db",
    )
    ok = cli(elsewhere, "audit", "verify", "--file", str(pristine))
    assert ok.returncode == 0, ok.stderr
    assert (
        f"{len(rows)} rows, ids {rows[0]['id']}..{rows[-1]['id']}, hash chain intact" in ok.stdout
    )
    assert "starts at the log's first row" in ok.stdout
    assert rows[-1]["hash"] in ok.stdout
    assert "not proven" in ok.stdout

    edited = dict(rows[1], outcome="failed")
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("".join([lines[0], json.dumps(edited) + "\n", *lines[2:]]))
    broken = cli(elsewhere, "audit", "verify", "--file", str(tampered))
    assert broken.returncode == 1
    assert f"TAMPERED: line 2: row id {rows[1]['id']} was altered" in broken.stderr

    removed = tmp_path / "removed.jsonl"
    removed.write_text("".join([lines[0], *lines[2:]]))
    gap = cli(elsewhere, "audit", "verify", "--file", str(removed))
    assert gap.returncode == 1
    assert "line 2: " in gap.stderr and "does not link to the line before it" in gap.stderr

    missing = cli(elsewhere, "audit", "verify", "--file", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2
    assert "cannot read export file" in missing.stderr
