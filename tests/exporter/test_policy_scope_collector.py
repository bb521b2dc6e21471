"""What the policies expect of each container reaches the scrape, overrides applied, and a
config reload shows at the next scrape."""

from dataclasses import replace
from datetime import timedelta

from daemon.exporter import PolicyScopeCollector
from daemon.snapshot import ContainerView
from policies import Override, PoliciesConfig, policy_options
from tests.exporter.samples import T0, container, ids, labels, registry_with, series, snapshot, view
from tests.support.simulated_run import SimulatedRun, config_with

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


def test_an_override_by_container_type_applies_to_that_type_only():
    """`types` narrows an override: the postgres container gets it, the nodejs one not."""
    overrides = (
        Override(
            types=("postgres",),
            options={
                "backup_freshness": {"max_age": timedelta(hours=6)},
                "weekly_pin": {"enabled": False},
            },
        ),
    )
    options = policy_options(PoliciesConfig(), overrides)
    database = ContainerView(container("pg-main", type="postgres"), seen_at=T0)
    fleet = snapshot(view("web"), database)
    registry = registry_with(PolicyScopeCollector(lambda: fleet, lambda: options))
    assert series(registry, MAX_AGE) == {
        labels(**ids("web")): 26 * 3600.0,
        labels(**ids("pg-main")): 6 * 3600.0,
    }
    assert series(registry, PINNED) == {labels(**ids("web")): 1.0, labels(**ids("pg-main")): 0.0}


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


def scraped(run: SimulatedRun, name: str) -> dict[str, float]:
    return {
        sample.labels["name"]: sample.value
        for family in run.daemon.metrics.registry.collect()
        if family.name == name
        for sample in family.samples
    }


def test_a_config_reload_reaches_the_scrape_and_the_stale_backup_alerts(tmp_path):
    """Through the real Daemon: `apply_config` swaps what the exporter and the sinks see."""
    run = SimulatedRun(tmp_path, config_with(status_interval=timedelta(seconds=5)))
    handed: list[timedelta] = []
    observe = run.daemon.notifications.observe_backups

    def recording(views, max_age):
        handed.extend(max_age(view) for view in views)
        observe(views, max_age)

    run.daemon.notifications.observe_backups = recording
    try:
        web = run.seed("web")
        run.advance(timedelta(minutes=1))
        assert scraped(run, PINNED) == {"web": 1.0}
        assert scraped(run, MAX_AGE) == {"web": 26 * 3600.0}
        assert handed and set(handed) == {timedelta(hours=26)}

        relaxed = Override(
            match=("web",),
            options={
                "weekly_pin": {"enabled": False},
                "backup_freshness": {"max_age": timedelta(days=3)},
            },
        )
        run.daemon.apply_config(replace(run.daemon.config, overrides=(relaxed,)))
        # The policies decide with the very options the scrape shows.
        held = {policy.name: policy.options for policy in run.daemon.policies}
        assert all(held[name] is run.daemon.policy_options[name] for name in held)
        assert scraped(run, PINNED) == {"web": 0.0}
        assert scraped(run, MAX_AGE) == {"web": 3 * 86400.0}
        handed.clear()
        run.daemon.poller.invalidate_backups(web)  # its list is read again at the next refresh
        run.advance(timedelta(minutes=1))
        assert handed and set(handed) == {timedelta(days=3)}
    finally:
        run.close()
