"""What `stacks-opsd once` prints for what it did not do: an action a hold keeps back, with
the hold (every cycle, not only the first, which audits it), and a note with its reason."""

import json
from datetime import datetime

from tests.e2e.test_policies_over_http import audit_rows, cli
from tests.support.processes import free_port, write_config


def test_once_says_a_hold_keeps_the_restart_of_a_crashed_container_back(simulator, tmp_path):
    web = simulator.seed("web")
    config = write_config(tmp_path, simulator.base_url, free_port())
    assert cli(config, simulator.key, "once").stdout.splitlines()[-1] == "nothing to do"
    held = cli(config, simulator.key, "hold", "web", "--for", "1h", "--reason", "debugging")
    assert held.returncode == 0, held.stderr
    hold = json.loads(cli(config, simulator.key, "holds", "--format", "json").stdout)[0]
    until = datetime.fromisoformat(hold["expires_at"]).isoformat(timespec="seconds")
    simulator.control("POST", f"containers/{web}/crash")

    for _ in range(2):  # the first cycle writes the pause note, the second does not
        once = cli(config, simulator.key, "once")
        assert once.returncode == 0, once.stderr
        assert once.stdout.splitlines() == [
            "polled 1 containers (1 error)",
            "policy:auto_restart: container.restart web: paused: held (hold 1 on 'web' by "
            f"{hold['set_by']} until {until}: debugging)",
        ]
    notes = [row for row in audit_rows(tmp_path / "audit.db") if row.outcome == "skipped"]
    assert len(notes) == 1 and "held (hold 1 on 'web'" in notes[0].reason


def test_once_prints_the_reason_of_a_note(simulator, tmp_path):
    web = simulator.seed("web")
    config = write_config(tmp_path, simulator.base_url, free_port())
    simulator.control("POST", f"containers/{web}/crash")
    restarted = cli(config, simulator.key, "once")
    assert (
        restarted.stdout.splitlines()[-1] == "policy:auto_restart: container.restart web: succeeded"
    )
    simulator.control("POST", f"containers/{web}/crash")

    backing_off = cli(config, simulator.key, "once")

    assert backing_off.returncode == 0, backing_off.stderr
    note = backing_off.stdout.splitlines()[-1]
    assert note.startswith(
        "policy:auto_restart: container.restart web: skipped: backoff: next restart at "
    ), note
    assert note.endswith("(restart 2, status error)")
