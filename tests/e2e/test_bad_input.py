"""A user's mistake, as the command line shows it: one line per problem, the exit code the
README gives (1 runtime failure, 2 usage or configuration error), never a traceback."""

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.processes import command, free_port, write_config

KEY = "sk_stacks_" + "0123456789abcdef" * 4
UNREACHABLE_API = "http://127.0.0.1:9/api/v1"  # never called: every command here fails first


def cli(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command("--config", str(config), *args),
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "STACKS_API_KEY": KEY},
    )  # fmt: skip


def refused(result: subprocess.CompletedProcess, code: int) -> list[str]:
    """The error lines of a command that failed as a user's mistake should."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith("stacks-opsd: ") for line in lines), lines
    return [line.removeprefix("stacks-opsd: ") for line in lines]


@pytest.mark.parametrize("command_line", [("audit", "list"), ("audit", "export")])
def test_since_longer_than_the_duration_limit_is_a_usage_error(tmp_path, command_line):
    config = write_config(tmp_path, UNREACHABLE_API, free_port())
    result = cli(config, *command_line, "--since", "1000000d")
    assert refused(result, 2) == [
        '--since: invalid duration "1000000d": longer than the limit of 3650d (about ten years)'
    ]


def test_check_config_refuses_durations_longer_than_the_limit(tmp_path):
    config = write_config(
        tmp_path,
        UNREACHABLE_API,
        free_port(),
        '[policies.auto_restart]\nwindow = "1000000d"\n'
        '[[overrides]]\nmatch = ["shop-*"]\nauto_restart.reset_after = "1000000d"\n',
    )
    errors = refused(cli(config, "check-config"), 2)
    assert errors == [
        'config.toml: policies.auto_restart.window: expected a duration like "5m", got "1000000d"',
        'config.toml: overrides[0].auto_restart.reset_after: expected a duration like "5m", '
        'got "1000000d"',
    ]


NOT_A_DATABASE = (
    "file is not a database; point daemon.database_url at the audit database, or at a file "
    "that does not exist yet (the daemon creates it)"
)


@pytest.mark.parametrize(
    "command_line", [("run",), ("once",), ("audit", "list"), ("audit", "verify")]
)
def test_a_database_url_naming_another_file_is_one_line_and_exit_1(tmp_path, command_line):
    notes = tmp_path / "notes.txt"
    notes.write_text("not an audit database\n")
    config = write_config(tmp_path, UNREACHABLE_API, free_port(), database_url=f"sqlite:///{notes}")
    assert refused(cli(config, *command_line), 1) == [
        f"audit database sqlite:///{notes}: {NOT_A_DATABASE}"
    ]
    assert notes.read_text() == "not an audit database\n"


@pytest.mark.parametrize("command_line", [("once",), ("audit", "list")])
def test_a_database_url_naming_a_directory_is_one_line_and_exit_1(tmp_path, command_line):
    config = write_config(
        tmp_path, UNREACHABLE_API, free_port(), database_url=f"sqlite:///{tmp_path}"
    )
    assert refused(cli(config, *command_line), 1) == [
        f"audit database sqlite:///{tmp_path}: unable to open database file; check that it is "
        "a file, not a directory, and that this user may read and write it and its directory"
    ]


def test_check_config_finds_a_database_url_the_daemon_could_not_open(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not an audit database\n")
    config = write_config(tmp_path, UNREACHABLE_API, free_port(), database_url=f"sqlite:///{notes}")
    assert refused(cli(config, "check-config"), 2) == [
        f"audit database sqlite:///{notes}: {NOT_A_DATABASE}"
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["config.toml", "notes.txt"]


def test_check_config_passes_a_database_the_daemon_will_create(tmp_path):
    """systemd's StateDirectory= makes the directory only when the service starts."""
    config = write_config(
        tmp_path,
        UNREACHABLE_API,
        free_port(),
        database_url=f"sqlite:///{tmp_path / 'state' / 'audit.db'}",
    )
    result = cli(config, "check-config")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"config OK ({config}); API key format OK")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["config.toml"]
