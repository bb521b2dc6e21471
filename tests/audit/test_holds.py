"""Holds in the audit database (SQLite and PostgreSQL): shared, audited, expiring once."""

from datetime import timedelta

from daemon.audit import HOLD_EXPIRY_ACTOR


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
