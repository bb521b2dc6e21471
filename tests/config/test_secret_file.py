"""One reader for every secret kept in a file: one line of UTF-8 text, or an error that
names the file and never shows its content."""

import dataclasses
import os
from types import SimpleNamespace

import pytest

from daemon import secret_file
from daemon.cli.errors import UsageError
from daemon.cli.run_command import basic_auth
from daemon.config import Config
from daemon.secret_file import SecretFileError, own_groups, read_secret_file

SECRET = "hunter2-correct-horse"


def write(tmp_path, content: bytes, mode: int = 0o600) -> str:
    path = tmp_path / "secret"
    path.write_bytes(content)
    path.chmod(mode)
    return str(path)


def test_the_line_is_read_without_surrounding_whitespace(tmp_path):
    secret = read_secret_file(write(tmp_path, f"  {SECRET}\n".encode()))
    assert (secret.text, secret.shared) == (SECRET, False)
    assert SECRET not in repr(secret)


def test_a_file_others_may_read_or_the_group_may_change_is_flagged(tmp_path):
    for mode in (0o644, 0o604, 0o660, 0o620):
        secret = read_secret_file(write(tmp_path, SECRET.encode(), mode=mode))
        assert (secret.mode, secret.shared) == (mode, True)


def test_a_file_only_the_daemons_own_group_may_read_is_not_flagged(tmp_path, monkeypatch):
    """Owner root, group fsGroup, 0440: how Kubernetes mounts a Secret for the daemon; the
    group is the daemon's alone (the system does not even list it)."""
    secret = read_secret_file(write(tmp_path, SECRET.encode(), mode=0o440))
    assert secret.group in own_groups()  # a new file takes this process's group
    monkeypatch.setattr(secret_file.grp, "getgrgid", unlisted)
    monkeypatch.setattr(secret_file.pwd, "getpwall", lambda: [])
    assert (secret.mode, secret.shared) == (0o440, False)
    foreign = max(own_groups()) + 1000  # a group this process is not in
    assert dataclasses.replace(secret, group=foreign).shared
    assert not dataclasses.replace(secret, mode=0o400, group=foreign).shared


def test_a_file_a_group_with_other_accounts_may_read_is_flagged(tmp_path, monkeypatch):
    """`users`, `adm`, `wheel`: the daemon is in the group, and so are others."""
    secret = read_secret_file(write(tmp_path, SECRET.encode(), mode=0o640))
    listed = SimpleNamespace(gr_mem=["alice"])
    monkeypatch.setattr(secret_file.grp, "getgrgid", lambda gid: listed)
    assert secret.shared
    listed.gr_mem = []  # nobody listed, but bob's primary group it is
    bob = SimpleNamespace(pw_name="bob", pw_uid=os.geteuid() + 1, pw_gid=secret.group)
    monkeypatch.setattr(secret_file.pwd, "getpwall", lambda: [bob])
    assert secret.shared
    monkeypatch.setattr(secret_file.pwd, "getpwall", lambda: [])
    assert not secret.shared


def unlisted(gid: int):
    raise KeyError(gid)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\n  \n", "is empty"),
        (f"{SECRET}\nsecond-line\n".encode(), "holds several lines; it must hold one"),
        (b"\xff\xfe" + SECRET.encode(), "is not UTF-8 text"),
    ],
    ids=["empty", "two lines", "not text"],
)
def test_a_file_that_is_not_one_line_of_text_is_refused_without_showing_it(
    tmp_path, content, problem
):
    path = write(tmp_path, content)
    with pytest.raises(SecretFileError) as caught:
        read_secret_file(path)
    assert str(caught.value) == f"{path} {problem}"
    assert "second-line" not in str(caught.value) and SECRET not in str(caught.value)


def test_a_missing_file_says_why(tmp_path):
    path = str(tmp_path / "absent")
    with pytest.raises(SecretFileError, match=f"cannot read {path}: No such file or directory"):
        read_secret_file(path)


def test_the_metrics_password_file_is_read_the_same_way(tmp_path):
    """An empty password file once meant basic auth with an empty password."""
    config = Config()
    empty = write(tmp_path, b"\n")
    daemon = dataclasses.replace(
        config.daemon, basic_auth_user="prom", basic_auth_password_file=empty
    )
    with pytest.raises(UsageError) as caught:
        basic_auth(dataclasses.replace(config, daemon=daemon))
    assert str(caught.value) == (
        f"daemon.basic_auth_password_file: {empty} is empty; it must hold the password alone"
    )
    (tmp_path / "secret").write_text(SECRET)
    assert basic_auth(dataclasses.replace(config, daemon=daemon)) == ("prom", SECRET)
