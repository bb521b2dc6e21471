"""The JSON-lines sink: one audit row per line, with its chain, to a file or standard output.

    {"id":42,"at":"2026-01-05T03:00:00+00:00","instance":"host:123","actor":"policy:auto_restart",
     "action":"container.restart",...,"prev_hash":"5d1e...","hash":"a0c4..."}

For log shippers (Vector, Fluent Bit, Promtail) tailing the file. Each line is
the row's full document (`daemon.audit.row_document`, the format of `audit
export`), so the chain can be re-checked from the file alone: with no filters,
`stacks-opsd audit verify --file FILE` checks it (each line's `prev_hash` is the
previous row's `hash`; a filter that leaves rows out breaks that link). Lines
are appended, flushed and fsynced before the cursor moves, so after a crash a
row may appear twice, never not at all. `path = "-"` writes to standard output
(a container's log). The file is opened per write, so log rotation by rename works.
"""

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
            sys.stdout.write(line)
            sys.stdout.flush()
            return Receipt(status=None, answer="written to standard output")
        try:
            with open(self._path, "a", encoding="utf-8") as file:
                file.write(line)
                file.flush()
                os.fsync(file.fileno())
        except OSError as exc:
            raise SinkUnreachable(
                f"notification sink {self.name}: cannot append to {self._path}: {exc.strerror}; "
                "check that its directory exists and is writable"
            ) from None
        return Receipt(status=None, answer=f"appended to {self._path}")
