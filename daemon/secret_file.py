"""Secrets kept in files, read one way: the STACKS API key, the metrics listener's
basic-auth password, a webhook's signing secret and the sinks' header values.

A secret file holds one non-empty line of UTF-8 text (surrounding whitespace and a
final newline are dropped). Anything else is a `SecretFileError` that names the
file and what is wrong with it, never its content; each caller adds which setting
named the file and raises its own error (a config error, a sink's, a usage error).
"""

import contextlib
import grp
import os
import pwd
import stat
from dataclasses import dataclass, field


class SecretFileError(Exception):
    """The file cannot serve as a secret: unreadable, not text, empty, several lines."""


@dataclass(frozen=True)
class Secret:
    """A secret's text (never shown by repr), and the permission bits and group of its file."""

    text: str = field(repr=False)
    mode: int
    group: int  # the file's group id

    @property
    def shared(self) -> bool:
        """Someone besides this process's user may read or change the file: others have
        any permission, the group may write, or the group may read and holds another
        account. A file readable only by a group of the daemon's own (owner root, mode
        0440 or 0640) is how a Kubernetes Secret with `fsGroup`, or a key in /etc for a
        dedicated service group, is handed to the daemon: not shared. A group such as
        `users` or `adm`, with other members, is."""
        if self.mode & 0o007 or self.mode & 0o020:  # others: anything; the group: writing
            return True
        return bool(self.mode & 0o050) and not private_group(self.group)


def own_groups() -> set[int]:
    """This process's effective group and its supplementary groups."""
    return {os.getegid(), *os.getgroups()}


def private_group(group: int) -> bool:
    """One of this process's groups that no other account belongs to, as a listed member
    or as its primary group (a group the system does not list, such as a Kubernetes
    `fsGroup`, has no other members)."""
    if group not in own_groups():
        return False
    me = os.geteuid()
    try:
        members = set(grp.getgrgid(group).gr_mem)
    except KeyError:
        members = set()
    with contextlib.suppress(KeyError):  # a user the system does not list has no name
        members.discard(pwd.getpwuid(me).pw_name)
    return not members and not any(
        account.pw_gid == group and account.pw_uid != me for account in pwd.getpwall()
    )


def read_secret_file(path: str) -> Secret:
    """The one line of text in the file at `path`; SecretFileError if it has none."""
    try:
        with open(path, encoding="utf-8") as file:
            status = os.fstat(file.fileno())
            text = file.read().strip()
    except OSError as exc:
        raise SecretFileError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SecretFileError(f"{path} is not UTF-8 text") from None
    if not text:
        raise SecretFileError(f"{path} is empty")
    if "\n" in text:
        raise SecretFileError(f"{path} holds several lines; it must hold one")
    return Secret(text, stat.S_IMODE(status.st_mode), status.st_gid)
