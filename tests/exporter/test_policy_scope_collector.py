"""What the policies expect of each container reaches the scrape, overrides applied, and a
config reload shows at the next scrape."""

from dataclasses import replace
from datetime import timedelta

from daemon.exporter import PolicyScopeCollector
from policies import Override, PoliciesConfig, policy_options
from tests.exporter.samples import ids, labels, registry_with, series, snapshot, view

MAX_AGE, PINNED = "stacks_opsd_backup_max_age_seconds", "stacks_opsd_weekly_pin_enabled"


def test_each_container_has_its_own_max_age_and_weekly_pin_scope():
    policies = PoliciesConfig()
    policies = replace(policies, weekly_pin=replace(policies.weekly_pin, exclude=("scratch-*",)))
    overrides = (
        Override(match=("shop-db",), options={"backup_freshness": {"max_age": timedelta(days=2)}}),
        Override(match=("legacy",), options={"weekly_pin": {"enabled": False}}),
    )
    options = policy_options(policies, overrides)
    fleet = snapshot(view("web"), view("shop-db"), view("scratch-1"), view("legacy"))
    registry = registry_with(PolicyScopeCollector(lambda: fleet, lambda: options))

    day = 86400.0
    assert series(registry, MAX_AGE) == {
        labels(**ids("web")): 26 * 3600.0,
        labels(**ids("shop-db")): 2 * day,
        labels(**ids("scratch-1")): 26 * 3600.0,
        labels(**ids("legacy")): 26 * 3600.0,
    }
    assert series(registry, PINNED) == {
        labels(**ids("web")): 1.0,
        labels(**ids("shop-db")): 1.0,
        labels(**ids("scratch-1")): 0.0,  # excluded by weekly_pin's own globs
        labels(**ids("legacy")): 0.0,  # disabled for it by an override
    }


def test_a_reloaded_config_shows_at_the_next_scrape_and_a_gone_container_goes():
    running = {"options": policy_options(PoliciesConfig())}
    fleet = {"now": snapshot(view("web"), view("db1"))}
    registry = registry_with(PolicyScopeCollector(lambda: fleet["now"], lambda: running["options"]))
    assert series(registry, MAX_AGE)[labels(**ids("web"))] == 26 * 3600.0

    policies = PoliciesConfig()
    stricter = replace(policies.backup_freshness, max_age=timedelta(hours=12))
    running["options"] = policy_options(replace(policies, backup_freshness=stricter))
    fleet["now"] = snapshot(view("web"))
    assert series(registry, MAX_AGE) == {labels(**ids("web")): 12 * 3600.0}
    assert series(registry, PINNED) == {labels(**ids("web")): 1.0}
