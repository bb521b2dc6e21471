"""`[[notify]]` tables: validated in one pass, every error as `file: notify[i].key: expected ...`,
relative file paths resolved next to the config file; and sink files read at start."""

from datetime import timedelta

import pytest

from daemon.notify import NotifyConfig, SinkConfigError, build_sinks


def test_a_valid_table_loads_with_its_defaults_and_resolved_paths(load_text, tmp_path):
    config = load_text(
        """
[[notify]]
name = "ops"
kind = "webhook"
url = "https://hooks.example.org/x"
secret_file = "hook-secret"
headers_files = { Authorization = "/etc/stacks-opsd/auth" }
outcomes = ["gave_up", "aborted"]

[[notify]]
name = "lines"
kind = "jsonl"
path = "audit.jsonl"
"""
    )
    ops, lines = config.notify
    assert ops.secret_file == str(tmp_path / "hook-secret")
    assert ops.headers_files == {"Authorization": "/etc/stacks-opsd/auth"}
    assert ops.outcomes == ("gave_up", "aborted")
    assert (ops.timeout, ops.summarize_after) == (timedelta(seconds=10), timedelta(hours=24))
    assert lines.path == str(tmp_path / "audit.jsonl")


def test_every_error_of_every_table_is_reported_at_once(errors_of):
    assert errors_of(
        """
[[notify]]
name = "ops"
kind = "webhook"
url = "hooks.example.org"
secret_file = "s"
timeout = "soon"

[[notify]]
name = "lines"
kind = "jsonl"
url = "https://x.example.org"
outcomes = ["gaveup"]
headers_files = { A = 3 }

[[notify]]
name = "bad name"
kind = "teams"
"""
    ) == [
        'config.toml: notify[0].timeout: expected a duration like "5m", got "soon"',
        'config.toml: notify[0].url: expected an http:// or https:// URL (kind "webhook" '
        'posts to it), got "hooks.example.org"',
        "config.toml: notify[1].headers_files: expected a string for 'A', got 3",
        'config.toml: notify[1].url: expected no url (kind "jsonl" writes to `path`), '
        'got "https://x.example.org"',
        'config.toml: notify[1].path: expected a file path, or "-" for standard output, got ""',
        'config.toml: notify[1].outcomes: expected outcome names or "*"; outcomes: started, '
        "succeeded, failed, skipped, dry_run, aborted, interrupted, gave_up, unknown, "
        'got ["gaveup"]',
        "config.toml: notify[2].name: expected a sink name of letters, digits, '_', '.' and "
        "'-' (it is a metric label), got \"bad name\"",
        'config.toml: notify[2].kind: expected one of "webhook", "slack", "alertmanager", '
        '"jsonl", got "teams"',
    ]


def test_an_alertmanager_sink_takes_match_but_no_row_filter(errors_of, load_text):
    """A filter would hide the rows that clear an alert (an operator's start, a success),
    which would then fire for ever, and after a restart differ from what was sent."""
    table = """
[[notify]]
name = "am"
kind = "alertmanager"
url = "http://127.0.0.1:9093"
match = ["web-*"]
"""
    assert load_text(table).notify[0].match == ("web-*",)
    assert errors_of(table + 'actors = ["policy:*"]\noutcomes = ["gave_up"]\n') == [
        f'config.toml: notify[0].{name}: expected ["*"] for an alertmanager sink: its alerts '
        "are cleared by later rows (a start, a success), which a filter would hide, leaving "
        f'the alert firing; `match` picks the containers, got ["{value}"]'
        for name, value in (("actors", "policy:*"), ("outcomes", "gave_up"))
    ]


def test_two_sinks_with_one_name_are_refused(errors_of):
    table = '[[notify]]\nname = "ops"\nkind = "jsonl"\npath = "-"\n'
    assert errors_of(table + table) == [
        'config.toml: notify: expected [[notify]] tables with different names, got ["ops", "ops"]'
    ]


def test_a_notify_table_that_is_not_an_array_of_tables_is_refused(errors_of):
    assert errors_of('[notify]\nname = "ops"\n') == [
        "config.toml: notify: expected an array of tables ([[notify]]), got a table"
    ]


def test_unreadable_secret_files_are_reported_for_every_sink_at_start(tmp_path):
    settings = [
        NotifyConfig(
            name=name,
            kind="webhook",
            url="http://127.0.0.1:9/hook",
            secret_file=str(tmp_path / f"{name}-secret"),
        )
        for name in ("a", "b")
    ]
    with pytest.raises(SinkConfigError) as caught:
        build_sinks(settings)
    assert str(caught.value).splitlines() == [
        f"notification sink {name}: secret_file: cannot read {tmp_path / f'{name}-secret'}: "
        "No such file or directory (relative paths start at the config file)"
        for name in ("a", "b")
    ]
