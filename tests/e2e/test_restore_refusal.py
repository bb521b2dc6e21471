"""`change CONTAINER restore ID` with an id that is not the container's: refused (exit 2),
naming the backups STACKS lists for it (the 02:00 scheduled ones too), newest first."""

import subprocess
from datetime import datetime

import httpx

from tests.support.processes import free_port, run_cli, write_config

SHOWN = 10  # the newest backups the refusal names


def cli(config, key: str, *args: str) -> subprocess.CompletedProcess:
    return run_cli(config, *args, key=key)


def stacks(simulator, method: str, path: str) -> dict:
    response = httpx.request(
        method,
        f"{simulator.base_url}{path}",
        headers={"Authorization": f"Bearer {simulator.key}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def described(backup: dict) -> str:
    created = datetime.fromisoformat(backup["created_at"]).strftime("%Y-%m-%d %H:%M:%S")
    pinned = ", pinned" if backup["pinned"] else ""
    return (
        f"stacks-opsd:   backup {backup['id']}: created {created} UTC, {backup['status']}{pinned}"
    )


def test_an_unknown_backup_id_is_refused_naming_the_newest_backups_stacks_lists(
    simulator, tmp_path
):
    web = simulator.seed("web")
    simulator.control("PATCH", "assumptions", manual_backup_seconds=[1, 2])
    simulator.control("POST", "clock/advance", seconds=86400)  # past 02:00: a scheduled one
    for made_to_fail in [False] * 10 + [True]:  # the newest one failed
        simulator.control("POST", "backups/fail", container_id=web, enabled=made_to_fail)
        stacks(simulator, "POST", f"/containers/{web}/backup")
        simulator.control("POST", "clock/advance", seconds=60)
    listed = stacks(simulator, "GET", f"/containers/{web}/backups?limit=100")["data"]
    assert len(listed) == 12 and listed[-1]["backup_type"] == "scheduled"
    newest = sorted(listed, key=lambda b: b["created_at"], reverse=True)
    stacks(simulator, "POST", f"/backups/{newest[3]['id']}/pin")
    newest[3]["pinned"] = 1
    config = write_config(tmp_path, simulator.base_url, free_port())

    refused = cli(config, simulator.key, "change", "web", "restore", "999")

    assert refused.returncode == 2
    assert refused.stdout == ""
    assert refused.stderr.splitlines() == [
        "stacks-opsd: backup 999 is not one of web's backups; STACKS lists these for it, "
        "newest first:",
        *(described(backup) for backup in newest[:SHOWN]),
        "stacks-opsd:   and 2 more",
    ]
    assert ", failed" in refused.stderr and ", pinned" in refused.stderr
    assert "audit list" not in refused.stderr


def test_an_unknown_backup_id_of_a_container_without_backups_says_there_are_none(
    simulator, tmp_path
):
    simulator.seed("web")
    config = write_config(tmp_path, simulator.base_url, free_port())

    refused = cli(config, simulator.key, "change", "web", "restore", "7")

    assert refused.returncode == 2
    assert refused.stderr == (
        "stacks-opsd: backup 7 is not one of web's backups: STACKS lists none for it\n"
    )
