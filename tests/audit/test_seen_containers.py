"""`AuditStore.seen_containers`: the containers the audit log has rows about, by id, each with
the name its newest row carries; hold rows (a pattern, no container) are none of them."""

from datetime import timedelta

from daemon.audit import AuditStore, new_action_id


def test_each_container_once_with_its_newest_name(filled: AuditStore, clock):
    filled.append(
        "cli", "container.start", "succeeded", action_id=new_action_id(),
        container_id="usr-0000abcd-db", container_name="db-renamed",
    )  # fmt: skip
    assert filled.seen_containers() == {
        "usr-0000abcd-web": "web",
        "usr-0000abcd-db": "db-renamed",
    }


def test_a_hold_on_a_name_is_not_a_container_seen(store: AuditStore, clock):
    store.place_hold("shop-db", "migration", "ops@host", clock.now() + timedelta(hours=1), "cli")
    store.release_holds("shop-db", "ops@host", "cli")
    assert store.seen_containers() == {}
