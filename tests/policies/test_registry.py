"""The registry builds the enabled deciding policies from the loaded config."""

from dataclasses import replace
from datetime import timedelta

import pytest

from daemon.config import PoliciesConfig
from policies import (
    POLICY_OPTIONS,
    UnknownPolicyError,
    WeeklyPinPolicy,
    build_policies,
    options_class,
)


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
    assert weekly.freshness.max_age == timedelta(hours=50)


def test_disabled_policies_are_not_built():
    config = PoliciesConfig()
    config = replace(config, auto_restart=replace(config.auto_restart, enabled=False))
    assert [p.name for p in build_policies(config)] == ["weekly_pin"]


def test_an_unknown_policy_name_lists_the_valid_ones():
    with pytest.raises(UnknownPolicyError) as caught:
        options_class("auto_restat")
    assert all(name in str(caught.value) for name in POLICY_OPTIONS)
