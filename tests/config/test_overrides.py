"""`[[overrides]]`: precedence (defaults < policy table < overrides in file order), the
line each effective value comes from, and validation that reports every mistake."""

from datetime import UTC, datetime, timedelta

from daemon.config import Config, describe
from policies import AutoRestartPolicy, build_policies, explain_options, policy_options
from tests.policies.factories import container, snapshot
from tests.support.golden import assert_golden

PRECEDENCE = """\
[policies.auto_restart]
max_restarts = 4
window = "30m"

[policies.weekly_pin]
keep_weeks = 6

[[overrides]]
match = ["shop-*"]
types = ["postgres"]
auto_restart.max_restarts = 2
auto_restart.backoff_initial = "1m"

[[overrides]]
match = ["shop-db"]
auto_restart.max_restarts = 1
weekly_pin.keep_weeks = 3

[overrides.backup_freshness]
max_age = "2d"
"""

# (name, type): every layer, only the first override (type), only the second (name), none.
CONTAINERS = [
    ("shop-db", "postgres"),
    ("shop-cache", "postgres"),
    ("shop-db", "redis"),
    ("blog", "wordpress"),
]


def _render(config: Config, label: str) -> str:
    lines = []
    for name, container_type in CONTAINERS:
        lines.append(f"{name} ({container_type})")
        explained = explain_options(
            config.policies, config.overrides, name, container_type, config.origin_of
        )
        for policy in ("auto_restart", "weekly_pin", "backup_freshness"):
            for option, effective in explained[policy].items():
                origin = effective.origin.replace(label, "config.toml")
                lines.append(f"  {policy}.{option} = {describe(effective.value)}  <- {origin}")
    return "\n".join(lines) + "\n"


def test_override_precedence_and_origins_golden(load_text, tmp_path):
    config = load_text(PRECEDENCE)
    assert_golden("override_precedence.txt", _render(config, str(tmp_path / "config.toml")))


def test_later_override_wins_and_types_narrow(load_text):
    config = load_text(PRECEDENCE)
    options = policy_options(config.policies, config.overrides)["auto_restart"]
    assert options.of("shop-db", "postgres").max_restarts == 1  # both; the later wins
    assert options.of("shop-db", "postgres").backoff_initial == timedelta(minutes=1)
    assert options.of("shop-cache", "postgres").max_restarts == 2  # first only
    assert options.of("shop-cache", "redis").max_restarts == 4  # type does not match
    assert options.of("blog", None).max_restarts == 4  # the table
    assert options.of("blog", None).backoff_max == timedelta(minutes=5)  # the default


def test_an_override_changes_what_the_policy_does_for_that_container_only(load_text):
    config = load_text(
        "[[overrides]]\nmatch = ['shop-db']\nauto_restart.enabled = false\n"
        "[policies.auto_restart]\nenabled = true\n"
    )
    policy = AutoRestartPolicy(policy_options(config.policies, config.overrides)["auto_restart"])
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    snap = snapshot(now, container("shop-db", "error"), container("blog", "error"))
    restarted = [d.container_name for d in policy.decide(snap, {}, now)]
    assert restarted == ["blog"]


def test_an_override_can_enable_a_policy_disabled_in_its_table(load_text):
    config = load_text(
        "[policies.auto_restart]\nenabled = false\n"
        "[[overrides]]\nmatch = ['shop-*']\nauto_restart.enabled = true\n"
    )
    assert [p.name for p in build_policies(config.policies, overrides=config.overrides)] == [
        "auto_restart",
        "weekly_pin",
    ]
    assert [p.name for p in build_policies(config.policies)] == ["weekly_pin"]


def test_every_override_mistake_is_reported_at_once(errors_of):
    errors = errors_of(
        "[policies.auto_restart]\nbackoff_max = '5m'\n\n"
        "[[overrides]]\n"
        "match = 'shop-*'\n"
        "auto_restat.max_restarts = 2\n"
        "auto_restart.max_restart = 2\n"
        "auto_restart.window = 'soon'\n"
        "auto_restart.backoff_initial = '1h'\n"
        "weekly_pin = 3\n"
        "pre_change_backup.timeout = '1h'\n"
        "\n[[overrides]]\ntypes = ['postgres']\n"
    )
    policies = "auto_restart, pre_change_backup, weekly_pin, backup_freshness"
    assert errors == [
        'config.toml: overrides[0].match: expected a list of strings, got "shop-*"',
        f"config.toml: overrides[0].auto_restat: unknown policy or key; valid: match, types, "
        f"{policies}",
        "config.toml: overrides[0].auto_restart.max_restart: unknown option of auto_restart; "
        "valid options: enabled, match, exclude, statuses, backoff_initial, backoff_max, "
        "reset_after, max_restarts, window",
        'config.toml: overrides[0].auto_restart.window: expected a duration like "5m", got "soon"',
        "config.toml: overrides[0].auto_restart.backoff_max: expected at least backoff_initial "
        '("1h"), got "5m"',
        "config.toml: overrides[0].weekly_pin: expected options of weekly_pin as dotted keys, "
        "like weekly_pin.enabled = ..., got 3",
        "config.toml: overrides[0].pre_change_backup: pre_change_backup applies one table to "
        "every change and cannot be overridden per container; set it in "
        "[policies.pre_change_backup]",
        "config.toml: overrides[1]: expected at least one policy option like "
        f"auto_restart.max_restarts = 2 (policies: {policies}), got none",
    ]


def test_overrides_must_be_tables(errors_of):
    assert errors_of("overrides = [1, 2]\n") == [
        "config.toml: overrides: expected [[overrides]] tables, got [1, 2]"
    ]
