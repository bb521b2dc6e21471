"""Config errors about URLs show where the URL points, never its credentials or a webhook's
token: `check-config` prints them, and a refused reload logs them."""

import subprocess

import pytest

from tests.support.processes import command

PASSWORDS = ("ProxyPassw0rd-xyz", "hunter2-secret-pw", "Pa55word", "Pr0d", "TopSecretPw2")
SLACK_TOKEN = "abcdefghijklmnopqrstuvwx"


def test_bad_urls_are_reported_without_credentials_or_tokens(errors_of):
    errors = errors_of(
        f"""
[api]
base_url = "http://proxyuser:ProxyPassw0rd-xyz@proxy example/api"

[[notify]]
name = "hook"
kind = "webhook"
url = "https://bot:hunter2-secret-pw@hooks.example.org/a b"

[[notify]]
name = "chat"
kind = "slack"
url = "hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/{SLACK_TOKEN}"

[[notify]]
name = "am"
kind = "alertmanager"
url = "http://127.0.0.1:9093"
generator_url = "https://viewer:TopSecretPw2@status.example.org:0/x"
"""
    )
    assert errors == [
        "config.toml: api.base_url: expected an http:// or https:// URL, "
        'got "http://proxyuser:***@proxy example/api"',
        "config.toml: notify[0].url: expected an http:// or https:// URL with any space "
        'percent-encoded as %20 (kind "webhook" posts to it), got "https://hooks.example.org/..."',
        'config.toml: notify[1].url: expected an http:// or https:// URL (kind "slack" posts to '
        'it), got "hooks.slack.com/..."',
        "config.toml: notify[2].generator_url: expected an http:// or https:// URL with a host "
        'and, if any, a port from 1 to 65535, or "" for this daemon\'s /status, '
        'got "https://viewer:***@status.example.org:0/x"',
    ]
    shown = "\n".join(errors)
    assert not [secret for secret in (*PASSWORDS, SLACK_TOKEN, "T0AAAAAAA") if secret in shown]


def test_a_credential_in_a_value_of_the_wrong_type_is_hidden_too(errors_of):
    [error] = errors_of('[api]\nbase_url = ["https://user:ProxyPassw0rd-xyz@proxy/api"]\n')
    assert error.startswith("config.toml: api.base_url: expected a string, got [")
    assert "ProxyPassw0rd-xyz" not in error


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+psycopg://u:Pr0d@Secret:Pa55word@127.0.0.1:5432/db",
            "postgresql+psycopg://***@127.0.0.1:5432/db",
        ),
        (
            "postgresql+psycopg://u:Pr0d@Pa55word@127.0.0.1/db",
            "postgresql+psycopg://***@127.0.0.1/db",
        ),
    ],
)
def test_an_unencoded_at_in_the_database_password_is_a_config_error(errors_of, url, shown):
    assert errors_of(f'[daemon]\ndatabase_url = "{url}"\n') == [
        "config.toml: daemon.database_url: expected a URL that reads as user, password, host, "
        'port and database: percent-encode "@", ":" and "/" in the user name and password (as '
        f'%40, %3A and %2F), got "{shown}"'
    ]


def test_a_percent_encoded_password_and_one_in_the_query_are_accepted(load_text):
    for url in (
        "postgresql+psycopg://u:Pr0d%40Secret%3APa55word@127.0.0.1:5432/db",
        "postgresql+psycopg://u@127.0.0.1:5432/db?password=TopSecretPw2",
    ):
        assert load_text(f'[daemon]\ndatabase_url = "{url}"\n').daemon.database_url == url


def test_commands_refuse_an_unencoded_at_in_the_database_password_without_a_traceback(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        '[daemon]\ndatabase_url = "postgresql+psycopg://u:Pr0d@Secret:Pa55word@127.0.0.1:1/db"\n'
    )
    key = "sk_stacks_" + "ab" * 32
    for args in (("check-config",), ("audit", "list"), ("run",)):
        done = subprocess.run(
            command("--config", str(config), *args),
            capture_output=True, text=True, timeout=60,
            env={"STACKS_API_KEY": key, "PATH": "/usr/bin:/bin"},
        )  # fmt: skip
        assert done.returncode == 2, (args, done.stderr)
        assert "percent-encode" in done.stderr
        assert "Traceback" not in done.stderr
        assert "Pa55word" not in done.stdout + done.stderr
        assert "Secret" not in done.stdout + done.stderr
