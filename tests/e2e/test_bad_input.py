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
