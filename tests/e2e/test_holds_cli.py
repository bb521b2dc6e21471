"""`hold` and `release` as an operator reads them, with only the audit database (no daemon,
no API key): the expiry says UTC, a pattern naming no container the database has seen is
warned about (and held anyway), and a release that leaves the container held says by what."""

import json
import re
import subprocess
from datetime import timedelta

import pytest

from daemon.audit import AuditStore, new_action_id
from daemon.clock import SystemClock
from tests.support.processes import command, free_port, write_config

HELD = re.compile(
    r"held (?P<pattern>\S+) until (?P<until>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC "
    r"\(hold (?P<id>\d+)\): automatic actions paused; "
)


@pytest.fixture
def config(tmp_path):
    """A config whose audit database has rows about one container, shop-db."""
    path = write_config(tmp_path, "http://127.0.0.1:9/api/v1", free_port())
    store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.db'}", "test:1", SystemClock())
    try:
        action_id = new_action_id()
        for outcome in ("started", "succeeded"):
            store.append(
                "policy:auto_restart", "container.restart", outcome, action_id=action_id,
                container_id="usr-0000abcd-shop-db", container_name="shop-db", reason="crashed",
            )  # fmt: skip
    finally:
        store.close()
    return path


def cli(config, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command("--config", str(config), *args), capture_output=True, text=True, timeout=60
    )


def hold(config, pattern: str, duration: str, reason: str) -> tuple[re.Match, str]:
    """Place a hold; its printed line, parsed, and what it said on stderr."""
    placed = cli(config, "hold", pattern, "--for", duration, "--reason", reason, "--no-wait")
    assert placed.returncode == 0, placed.stderr
    line = HELD.match(placed.stdout)
    assert line and line["pattern"] == pattern, placed.stdout
    return line, placed.stderr


def test_a_hold_on_a_name_no_container_had_warns_and_is_placed_anyway(config):
    typo, warned = hold(config, "shop-bd", "1h", "typo")
    assert warned == (
        "stacks-opsd: warning: 'shop-bd' matches no container this database has seen; check "
        "the name (similar names it has seen: shop-db). The hold is placed: a container "
        "created later under that name is held too\n"
    )
    listed = cli(config, "holds")
    assert f"{typo['id']}   shop-bd  {typo['until']}" in listed.stdout


def test_a_hold_placed_before_the_database_has_rows_about_containers_says_so(tmp_path):
    config = write_config(tmp_path, "http://127.0.0.1:9/api/v1", free_port())
    AuditStore.open(f"sqlite:///{tmp_path / 'audit.db'}", "test:1", SystemClock()).close()
    _, warned = hold(config, "web", "1h", "deploy")
    assert warned.startswith(
        "stacks-opsd: warning: 'web' matches no container this database has seen; check the "
        "name (it has no rows about any container yet). The hold is placed"
    )


@pytest.mark.parametrize("pattern", ["shop-db", "shop-*", "usr-0000abcd-shop-db"])
def test_a_hold_on_a_container_the_database_has_seen_says_nothing_more(config, pattern):
    _, warned = hold(config, pattern, "1h", "deploy")
    assert warned == ""


def test_spaces_around_a_pattern_are_dropped_so_it_holds_and_releases_the_container(config):
    placed = cli(config, "hold", " shop-db", "--for", "1h", "--reason", "deploy", "--no-wait")
    assert placed.returncode == 0, placed.stderr
    held = HELD.match(placed.stdout)
    assert held and held["pattern"] == "shop-db", placed.stdout
    assert placed.stderr == ""  # it names the container the database has seen

    released = cli(config, "release", "shop-db ")
    assert released.returncode == 0, released.stderr
    assert released.stdout.splitlines() == [f"released hold {held['id']} on shop-db (deploy)"]


def test_releasing_one_of_two_overlapping_holds_says_what_still_holds_the_container(config):
    broad, _ = hold(config, "shop-*", "2h", "deploy")
    narrow, _ = hold(config, "shop-db", "30m", "migration")

    released = cli(config, "release", "shop-db")
    assert released.returncode == 0, released.stderr
    assert released.stdout.splitlines() == [
        f"released hold {narrow['id']} on shop-db (migration)",
        f"shop-db is still held by hold {broad['id']} on 'shop-*' until {broad['until']} UTC "
        "(deploy)",
    ]

    last = cli(config, "release", "shop-*")
    assert last.returncode == 0, last.stderr
    assert last.stdout.splitlines() == [f"released hold {broad['id']} on shop-* (deploy)"]


def test_releasing_a_glob_names_the_seen_containers_another_hold_still_covers(config):
    broad, _ = hold(config, "shop-*", "2h", "deploy")
    narrow, _ = hold(config, "usr-0000abcd-shop-db", "30m", "migration")  # by id

    released = cli(config, "release", "shop-*")
    assert released.returncode == 0, released.stderr
    assert released.stdout.splitlines() == [
        f"released hold {broad['id']} on shop-* (deploy)",
        f"shop-db is still held by hold {narrow['id']} on 'usr-0000abcd-shop-db' until "
        f"{narrow['until']} UTC (migration)",
    ]


def test_a_hold_placed_stays_placed_when_its_hints_cannot_be_read(config, monkeypatch, capsys):
    """The read behind the hints fails (a statement timeout on a big PostgreSQL log) after
    the hold is in force: `hold` and `release` say what they did, exit 0, and say what
    they could not check."""
    from daemon.audit.store import AuditReadError
    from daemon.cli.main import main

    def times_out(store):
        raise AuditReadError("audit database X: cannot read: canceling statement")

    monkeypatch.setattr(AuditStore, "seen_containers", times_out)
    assert main(["--config", str(config), "hold", "shop-db", "--for", "1h", "--reason", "x"]) == 0
    assert main(["--config", str(config), "hold", "shop-*", "--for", "1h", "--reason", "y"]) == 0
    assert main(["--config", str(config), "release", "shop-db"]) == 0
    out, err = capsys.readouterr()
    assert "held shop-db until" in out and "released hold 1 on shop-db (x)" in out
    assert err.count("could not check which containers it names") == 3
    assert "matches no container" not in err


def test_a_hold_that_expired_while_no_daemon_ran_is_listed_as_expired(config, tmp_path):
    store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.db'}", "test:1", SystemClock())
    try:
        expires_at = SystemClock().now() - timedelta(minutes=5)
        placed = store.place_hold("shop-db", "migration", "ana@ops-1", expires_at, "cli")
    finally:
        store.close()

    table = cli(config, "holds", "--all")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[1].split()[-1] == "expired"

    listed = cli(config, "holds", "--all", "--format", "json")
    hold = json.loads(listed.stdout)[0]
    assert (hold["id"], hold["end"]) == (placed.id, "expired")
    assert hold["ended_at"] == hold["expires_at"] == placed.expires_at.isoformat()
    assert json.loads(cli(config, "holds", "--format", "json").stdout) == []  # not active
