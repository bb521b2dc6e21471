"""The rules beside each section's fields accept every sensible value at the edges, and one
mistake gives one message."""

from datetime import timedelta

import pytest


@pytest.mark.parametrize(
    "text",
    [
        '[daemon]\nlisten = "[::1]:9847"\n',
        '[daemon]\nlisten = "localhost:1"\n',
        '[daemon]\nlisten = "0.0.0.0:65535"\n',
        '[daemon]\ndatabase_url = "postgresql+psycopg://ops:secret@db.internal:5432/ops"\n',
        '[daemon]\ndatabase_url = "sqlite:////var/lib/stacks-opsd/audit.db"\n',
        '[daemon]\nlog_format = "json"\n',
        '[daemon]\ntls_cert_file = "/etc/tls.crt"\ntls_key_file = "/etc/tls.key"\n',
        '[daemon]\nbasic_auth_user = "prom"\nbasic_auth_password_file = "/etc/pw"\n',
        '[api]\nbase_url = "http://127.0.0.1:8080/api/v1"\n',
        "[api]\nrate_limit_per_minute = 1\nreserve_for_actions = 0\n",
        '[policies.auto_restart]\nbackoff_initial = "5m"\nbackoff_max = "5m"\n',
        '[policies.auto_restart]\nstatuses = ["error", "pending"]\nmatch = []\n',
        "[policies.auto_restart]\nmax_restarts = 1\n",
        '[policies.pre_change_backup]\non_failure = "proceed"\nreuse_within = "1h"\n',
        '[policies.weekly_pin]\nweekday = "monday"\nat = "23:59"\nkeep_weeks = 1\n',
    ],
)
def test_edge_values_are_accepted(load_text, text):
    load_text(text)


def test_backoff_max_is_compared_with_the_configured_initial(load_text):
    config = load_text('[policies.auto_restart]\nbackoff_initial = "1s"\nbackoff_max = "2s"\n')
    assert config.policies.auto_restart.backoff_max == timedelta(seconds=2)


def test_a_rule_is_skipped_when_the_key_it_needs_is_wrong(errors_of):
    errors = errors_of('[policies.auto_restart]\nbackoff_initial = "later"\nbackoff_max = "1s"\n')
    assert errors == [
        'config.toml: policies.auto_restart.backoff_initial: expected a duration like "5m", '
        'got "later"'
    ]


def test_every_error_of_every_section_is_reported_in_one_pass(errors_of):
    errors = errors_of(
        "\n".join(
            [
                "[api]",
                'timeout = "soon"',
                "reserve_for_actions = 99",
                "[daemon]",
                'listen = "nowhere"',
                "colour = true",
                "[poll]",
                "status_interval = -1",
                "[policies.auto_restart]",
                'backoff_max = "soon"',
                "[policies.weekly_pin]",
                "keep_weeks = 0",
                "[policies.nightly]",
                "enabled = true",
            ]
        )
    )
    assert [error.split(": ")[1] for error in errors] == [
        "api.timeout",
        "api.reserve_for_actions",
        "daemon.colour",
        "daemon.listen",
        "poll.status_interval",
        "policies.auto_restart.backoff_max",
        "policies.weekly_pin.keep_weeks",
        "policies.nightly",
    ]
