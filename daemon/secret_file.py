"""Secrets kept in files, read one way: the STACKS API key, the metrics listener's
basic-auth password, a webhook's signing secret and the sinks' header values.

A secret file holds one non-empty line of UTF-8 text (surrounding whitespace and a
final newline are dropped). Anything else is a `SecretFileError` that names the
file and what is wrong with it, never its content; each caller adds which setting
named the file and raises its own error (a config error, a sink's, a usage error).
"""

import os
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
        """Someone besides this process's user and groups may read or change the file:
        others have any permission, the group may write, or the group may read and is
        not one of this process's groups. A file readable by the daemon's own group (owner
        root, mode 0440 or 0640) is how a Kubernetes Secret with `fsGroup`, or a key in
        /etc for a service group, is handed to the daemon: not shared."""
        if self.mode & 0o007 or self.mode & 0o020:  # others: anything; the group: writing
            return True
        return bool(self.mode & 0o050) and self.group not in own_groups()


def own_groups() -> set[int]:
    """This process's effective group and its supplementary groups."""
    return {os.getegid(), *os.getgroups()}


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
