"""The JSON-lines sink: one audit row per line, with its chain, to a file or standard output.

    {"id":42,"at":"2026-01-05T03:00:00+00:00","instance":"host:123","actor":"policy:auto_restart",
     "action":"container.restart",...,"prev_hash":"5d1e...","hash":"a0c4..."}

For log shippers (Vector, Fluent Bit, Promtail) tailing the file. Each line is
the row's full document (`daemon.audit.row_document`, the format of `audit
export`), so the chain can be re-checked from the file alone: with no filters,
`stacks-opsd audit verify --file FILE` checks it (each line's `prev_hash` is the
previous row's `hash`; a filter that leaves rows out breaks that link). Lines
are appended, flushed and fsynced before the cursor moves, so after a crash a
row may appear twice, never not at all. A line is appended whole or not at all:
a write cut short (a full disk, a file size limit) is truncated back to where
the line began, so the retry's line starts after a newline, not in the middle of
a partial one. `path = "-"` writes to standard output (a container's log). The
file is opened per write, so log rotation by rename works.
"""

import errno
import os
import sys

from daemon.audit import document_line
from daemon.notify.settings import STDOUT, NotifyConfig
from daemon.notify.sink import Notification, Receipt, Sink, SinkEnvironment, SinkUnreachable


def json_line(notification: Notification) -> str:
    return document_line(notification.row)


class JsonLinesSink(Sink):
    kind = "jsonl"

    def __init__(self, settings: NotifyConfig, environment: SinkEnvironment | None = None) -> None:
        super().__init__(settings, environment)
        self._path = settings.path

    def send(self, notification: Notification) -> Receipt:
        line = json_line(notification)
        if self._path == STDOUT:
            try:
                sys.stdout.write(line)
                sys.stdout.flush()
            except OSError as exc:  # its reader is gone (a broken pipe), ...
                raise SinkUnreachable(
                    "cannot write to standard output: "
                    f"{exc.strerror}; check that what reads it (a log shipper, the "
                    "container runtime) is running"
                ) from None
            return Receipt(status=None, answer="written to standard output")
        try:
            self._append(line.encode())
        except OSError as exc:
            raise SinkUnreachable(
                f"cannot append to {self._path}: {exc.strerror}; "
                "check that its directory exists and is writable"
            ) from None
        return Receipt(status=None, answer=f"appended to {self._path}")

    def _append(self, line: bytes) -> None:
        """Append `line` and fsync it, or leave the file as it was (OSError)."""
        with open(self._path, "ab", buffering=0) as file:
            start = file.seek(0, os.SEEK_END)
            try:
                rest = memoryview(line)
                while rest:  # a write may be short: each takes at least a byte, or raises
                    written = file.write(rest)
                    if not written:
                        raise OSError(errno.EIO, os.strerror(errno.EIO))
                    rest = rest[written:]
                os.fsync(file.fileno())
            except OSError:
                file.truncate(start)
                raise
