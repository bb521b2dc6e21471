"""Holds in the audit database (SQLite and PostgreSQL): shared, audited, expiring once."""

import sqlite3
import subprocess
from datetime import timedelta

import pytest

from daemon.audit import HOLD_EXPIRY_ACTOR, AuditStore
from daemon.clock import SystemClock
from tests.support.processes import command, free_port, write_config


def test_holds_are_shared_audited_and_expire_once(open_store, clock):
    cli, daemon, standby = open_store("cli:1"), open_store("daemon:1"), open_store("daemon:2")
    hold = cli.place_hold(
        "shop-*", "migration", "ann@laptop", clock.now() + timedelta(hours=2), "cli"
    )
    assert [h.id for h in daemon.active_holds()] == [hold.id]
    assert hold.covers("usr-abc12345-shop-db", "shop-db") and not hold.covers("x", "web")

    clock.advance(2 * 3600)  # the expiry moment itself ends it (expires_at is excluded)
    assert daemon.active_holds() == []
    assert [h.end for h in daemon.expire_holds()] == ["expired"]
    assert standby.expire_holds() == []  # audited once, whoever looks next
    rows = cli.query()
    assert [(r.action, r.actor, r.target) for r in rows] == [
        ("hold.set", "cli", str(hold.id)),
        ("hold.expire", HOLD_EXPIRY_ACTOR, str(hold.id)),
    ]
    assert rows[0].reason == "migration" and rows[0].container_name == "shop-*"
    assert cli.verify().ok


def test_release_ends_the_named_holds_and_a_glob_ends_the_matching_ones(open_store, clock):
    store = open_store()
    until = clock.now() + timedelta(hours=1)
    web = store.place_hold("web", "debug", "ann@laptop", until, "cli")
    shop = store.place_hold("shop-*", "deploy", "bob@ci", until, "cli")
    assert store.release_holds("nothing", "ann@laptop", "cli") == []
    assert [h.id for h in store.release_holds("web", "ann@laptop", "cli")] == [web.id]
    assert [h.id for h in store.active_holds()] == [shop.id]
    assert [h.id for h in store.release_holds("*", "ann@laptop", "cli")] == [shop.id]
    assert store.active_holds() == []
    released = [r for r in store.query() if r.action == "hold.release"]
    assert [r.reason for r in released] == ["released by ann@laptop"] * 2
    assert [h.end for h in store.recent_holds()] == ["released", "released"]


def lifecycle(store, clock) -> dict[str, int]:
    """A released hold, an expired one, an active one, and one with a secret in its reason."""
    until = clock.now() + timedelta(hours=1)
    held = {
        "released": store.place_hold("web", "debug", "ann@laptop", until, "cli").id,
        "expired": store.place_hold("db", "backup", "bob@ci", until, "cli").id,
        "active": store.place_hold("shop-*", "deploy", "bob@ci", until, "cli").id,
        "secret": store.place_hold(
            "api", "PGPASSWORD=hunter2 \udcff", "ann@laptop", until, "cli"
        ).id,
    }
    store.release_holds("web", "ann@laptop", "cli")
    clock.advance(3600)
    store.expire_holds()
    return held


def test_holds_that_went_through_every_end_agree_with_their_rows(open_store, clock):
    store = open_store()
    held = lifecycle(store, clock)
    assert store.check_holds() == []
    shown = {hold.id: hold.reason for hold in store.recent_holds()}
    assert shown[held["secret"]] == "PGPASSWORD=[redacted] ?"  # as its hold.set row shows it


@pytest.mark.parametrize(
    ("tampering", "problem"),
    [
        ("UPDATE audit_hold SET expires_at = :later WHERE id = :active", "edited"),
        ("UPDATE audit_hold SET reason = 'nothing' WHERE id = :active", "edited"),
        ("UPDATE audit_hold SET pattern = '*' WHERE id = :active", "edited"),
        ("DELETE FROM audit_hold WHERE id = :active", "deleted"),
        ("UPDATE audit_hold SET ended_at = NULL, ended_by = NULL, \"end\" = NULL "
         "WHERE id = :released", "its rows say released"),
        ("UPDATE audit_hold SET \"end\" = 'released' WHERE id = :expired", "its rows say expired"),
        ("INSERT INTO audit_hold (id, pattern, reason, set_by, set_at, expires_at) VALUES "
         "(:new, 'web', 'x', 'eve@x', :later, :later)", "no hold.set row: inserted"),
    ],
    ids=["expiry", "reason", "pattern", "deleted", "unended", "end", "invented"],
)  # fmt: skip
def test_a_hold_changed_by_hand_is_named(open_store, clock, raw_sql, sql_time, tampering, problem):
    """The daemon obeys audit_hold, which is state, not chained: `audit verify` checks it
    against the hold rows, so a hold lengthened, dropped or invented by hand is named."""
    store = open_store()
    held = lifecycle(store, clock)
    later = sql_time(clock.now() + timedelta(days=365))
    raw_sql(tampering, later=later, new=max(held.values()) + 1, **held)
    problems = store.check_holds()
    assert len(problems) == 1 and problem in problems[0], problems


def test_audit_verify_names_a_hold_lengthened_by_hand(tmp_path):
    config = write_config(tmp_path, "http://127.0.0.1:9/api/v1", free_port())
    store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.db'}", "test:1", SystemClock())
    try:
        until = SystemClock().now() + timedelta(hours=1)
        hold = store.place_hold("web", "debug", "ann@laptop", until, "cli")
    finally:
        store.close()

    def verify() -> subprocess.CompletedProcess:
        return subprocess.run(
            command("--config", str(config), "audit", "verify"),
            capture_output=True,
            text=True,
            timeout=60,
        )

    ok = verify()
    assert ok.returncode == 0 and "holds agree with their rows" in ok.stdout, ok.stderr
    with sqlite3.connect(tmp_path / "audit.db") as conn:
        conn.execute("UPDATE audit_hold SET expires_at = '2099-01-01 00:00:00.000000'")
    tampered = verify()
    assert tampered.returncode == 1
    assert f"audit_hold TAMPERED: hold {hold.id} is not what its hold.set row" in tampered.stderr


def test_a_hold_an_older_version_placed_agrees_with_its_row(open_store, clock, monkeypatch):
    """Redaction rules change between versions: a hold placed when `PGPASSWORD=...` was not
    yet redacted holds it as typed, in the table and in its row alike. Today's rules must
    not call that genuine hold edited."""
    store = open_store()
    with monkeypatch.context() as older:
        older.setattr("daemon.audit.store.redact_text", lambda text: text)
        older.setattr("daemon.audit.store.redact_value", lambda value: value)
        hold = store.place_hold(
            "db", "PGPASSWORD=hunter2", "ann@laptop", clock.now() + timedelta(hours=1), "cli"
        )
    assert store.recent_holds()[0].reason == "PGPASSWORD=hunter2"  # as that version stored it
    assert store.check_holds() == []
    assert [r.target for r in store.query()] == [str(hold.id)]
