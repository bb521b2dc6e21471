"""The registry: one spec per policy, from which the `[policies]` table, its validation and
the deciding policies are derived; each spec's example shows every option with its default."""

import dataclasses
from dataclasses import replace
from datetime import timedelta

import pytest
import tomli

from daemon.config import PoliciesConfig, validate
from policies import (
    POLICY_OPTIONS,
    POLICY_SPECS,
    UnknownPolicyError,
    WeeklyPinPolicy,
    build_policies,
    options_class,
)
from tests.exporter.samples import view


def test_enabled_policies_are_built_with_their_options():
    config = PoliciesConfig()
    config = replace(
        config,
        backup_freshness=replace(config.backup_freshness, max_age=timedelta(hours=50)),
    )
    policies = build_policies(config)
    assert [p.name for p in policies] == ["auto_restart", "weekly_pin"]
    weekly = policies[1]
    assert isinstance(weekly, WeeklyPinPolicy)
    assert weekly.max_age(view("db")) == timedelta(hours=50)


def test_disabled_policies_are_not_built():
    config = PoliciesConfig()
    config = replace(config, auto_restart=replace(config.auto_restart, enabled=False))
    assert [p.name for p in build_policies(config)] == ["weekly_pin"]


def test_an_unknown_policy_name_lists_the_valid_ones():
    with pytest.raises(UnknownPolicyError) as caught:
        options_class("auto_restat")
    assert all(name in str(caught.value) for name in POLICY_OPTIONS)


def test_the_policies_table_has_each_specs_options_with_their_defaults():
    assert list(POLICY_OPTIONS) == [spec.name for spec in POLICY_SPECS]
    assert PoliciesConfig() == PoliciesConfig(
        **{spec.name: spec.options() for spec in POLICY_SPECS}
    )


@pytest.mark.parametrize("spec", POLICY_SPECS, ids=lambda spec: spec.name)
def test_each_spec_example_shows_every_option_with_its_default(spec):
    document = tomli.loads(spec.example)
    assert list(document["policies"]) == [spec.name]
    table = document["policies"][spec.name]
    assert list(table) == [field.name for field in dataclasses.fields(spec.options)]
    assert validate(spec.options, table, "example.toml") == (spec.options(), [])
