"""A user's mistake, as the command line shows it: one line per problem, the exit code the
README gives (1 runtime failure, 2 usage or configuration error), never a traceback."""

import os
import socket
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
        "config.toml: policies.auto_restart.window: expected a duration of at most 3650d "
        '(about ten years), got "1000000d"',
        "config.toml: overrides[0].auto_restart.reset_after: expected a duration of at most "
        '3650d (about ten years), got "1000000d"',
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


def config_with(tmp_path: Path, daemon: str = "", notify: str = "", port: int = 0) -> Path:
    """A config whose [daemon] table gets the `daemon` lines and whose end gets `notify`."""
    config = write_config(tmp_path, UNREACHABLE_API, port or free_port(), notify)
    config.write_text(config.read_text().replace("[daemon]\n", f"[daemon]\n{daemon}", 1))
    return config


def test_a_basic_auth_user_with_a_colon_is_refused_by_check_config_and_run(tmp_path):
    password = tmp_path / "metrics.pw"
    password.write_text("s3cret\n")
    password.chmod(0o600)
    config = config_with(
        tmp_path, f'basic_auth_user = "me:you"\nbasic_auth_password_file = "{password}"\n'
    )
    expected = [
        "daemon.basic_auth_user: must be non-empty and must not contain ':' (basic auth puts "
        "one between the user and the password), got 'me:you'"
    ]
    assert refused(cli(config, "check-config"), 2) == expected
    assert refused(cli(config, "run"), 2) == expected
    assert not (tmp_path / "audit.db").exists()  # refused before anything is opened


def test_missing_tls_files_are_refused_by_check_config_and_run(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    config = config_with(tmp_path, f'tls_cert_file = "{cert}"\ntls_key_file = "{key}"\n')
    expected = [
        f"daemon.tls_cert_file, daemon.tls_key_file: cannot load the TLS certificate "
        f"'{cert}' with key '{key}': [Errno 2] No such file or directory; check both paths "
        "are readable PEM files and that the key matches the certificate"
    ]
    assert refused(cli(config, "check-config"), 2) == expected
    assert refused(cli(config, "run"), 2) == expected


def test_check_config_reads_every_sinks_files_as_run_does(tmp_path):
    config = config_with(
        tmp_path,
        notify=f"""
[[notify]]
name = "hook"
kind = "webhook"
url = "http://127.0.0.1:9/hook"
secret_file = "{tmp_path / "missing-secret"}"

[[notify]]
name = "team"
kind = "slack"
url = "http://127.0.0.1:9/slack"
headers_files = {{ Authorization = "{tmp_path}" }}
""",
    )
    expected = [
        f"notification sink hook: secret_file: cannot read {tmp_path / 'missing-secret'}: "
        "No such file or directory (relative paths start at the config file)",
        f"notification sink team: headers_files.Authorization: cannot read {tmp_path}: "
        "Is a directory (relative paths start at the config file)",
    ]
    assert refused(cli(config, "check-config"), 2) == expected
    assert refused(cli(config, "run"), 2) == expected


def test_check_config_binds_nothing_and_calls_nothing(tmp_path):
    """Its listener's port taken, the API unreachable: what it reads is all fine."""
    password, secret = tmp_path / "metrics.pw", tmp_path / "hook.secret"
    for path in (password, secret):
        path.write_text("s3cret\n")
        path.chmod(0o600)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        config = config_with(
            tmp_path,
            f'basic_auth_user = "prometheus"\nbasic_auth_password_file = "{password}"\n',
            f'[[notify]]\nname = "hook"\nkind = "webhook"\nurl = "http://127.0.0.1:9/hook"\n'
            f'secret_file = "{secret}"\n',
            port=port,
        )
        result = cli(config, "check-config")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith(f"config OK ({config}); API key format OK")
    assert not (tmp_path / "audit.db").exists()
