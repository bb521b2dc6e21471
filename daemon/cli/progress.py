"""Progress of an operator command's long waits: a live line on a terminal, plain lines
otherwise, nothing with --quiet. Always on stderr (stdout holds the command's result).

    progress = Progress.for_command(quiet=args.quiet)
    with progress.waiting("backup of web"):
        ...                                   # Executor(..., on_backup_wait=progress.backup)

On a terminal the line is redrawn every second:

    backup of web: backup 42 in_progress, 12s of the 15m timeout

Elsewhere (a pipe, a log) a line is printed when the wait starts, whenever what it
waits for changes (the backup's status, another actor's action ending), and at
most every `PLAIN_EVERY` seconds while nothing changes, so a log shows the wait
is alive without a line per second.
"""

import argparse
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TextIO

from daemon.durations import format_duration
from daemon.executor import BackupWait

PLAIN_EVERY = 30.0  # seconds between two plain lines that say nothing new
LIVE_EVERY = 1.0


class Progress:
    def __init__(
        self,
        stream: TextIO,
        *,
        quiet: bool = False,
        live: bool | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        ticker: bool = True,
    ) -> None:
        """`live`: redraw one line (default: when `stream` is a terminal); `ticker`: a
        thread redraws it every second (tests call `tick()` themselves)."""
        self._stream = stream
        self._quiet = quiet
        self._live = stream.isatty() if live is None else live
        self._monotonic = monotonic
        self._ticker = ticker
        self._lock = threading.Lock()
        self._what: str | None = None
        self._detail = ""
        self._state: object = None
        self._started = 0.0
        self._printed_at = 0.0
        self._shown = ""

    @classmethod
    def for_command(cls, quiet: bool) -> "Progress":
        return cls(sys.stderr, quiet=quiet)

    @contextmanager
    def waiting(self, what: str) -> Iterator[None]:
        """Show progress while the block waits for `what`."""
        if self._quiet:
            yield
            return
        with self._lock:
            self._what, self._detail, self._state = what, "", None
            self._started = self._monotonic()
            if not self._live:
                self._plain(f"waiting for {what}")
        done = threading.Event()
        thread = None
        if self._live and self._ticker:
            thread = threading.Thread(target=self._tick_until, args=(done,), daemon=True)
            thread.start()
        try:
            yield
        finally:
            done.set()
            if thread is not None:
                thread.join()
            with self._lock:
                if self._live and self._shown:
                    self._stream.write("\r\033[K")
                    self._stream.flush()
                self._what, self._shown = None, ""

    def update(self, detail: str, state: object = None) -> None:
        """What the wait stands at now, shown at once if `state` (default: the detail
        itself) changed; a detail that only counts seconds passes `state` unchanged."""
        if self._quiet:
            return
        with self._lock:
            state = detail if state is None else state
            changed = state != self._state
            self._detail, self._state = detail, state
            if self._what is None:
                return
            if self._live:
                self._draw()
            elif changed or self._monotonic() - self._printed_at >= PLAIN_EVERY:
                self._plain(self._line())

    def backup(self, wait: BackupWait) -> None:
        """An executor's `on_backup_wait`: the backup's status against its timeout."""
        name = f"backup {wait.backup_id}" if wait.backup_id is not None else "backup"
        self.update(
            f"{name} {wait.status}, {format_duration_seconds(wait.elapsed.total_seconds())} of the "
            f"{format_duration(wait.timeout)} timeout",
            state=(wait.status, wait.backup_id),
        )

    def tick(self) -> None:
        """Redraw the live line (every second), or repeat a plain one after PLAIN_EVERY."""
        with self._lock:
            if self._what is None or self._quiet:
                return
            if self._live:
                self._draw()
            elif self._monotonic() - self._printed_at >= PLAIN_EVERY:
                self._plain(self._line())

    def _tick_until(self, done: threading.Event) -> None:
        while not done.wait(LIVE_EVERY):
            self.tick()

    def _line(self) -> str:
        elapsed = format_duration_seconds(self._monotonic() - self._started)
        detail = f": {self._detail}" if self._detail else ""
        return f"{self._what}{detail} (waiting {elapsed})"

    def _draw(self) -> None:
        self._shown = self._line()
        self._stream.write(f"\r\033[K{self._shown}")
        self._stream.flush()

    def _plain(self, line: str) -> None:
        self._printed_at = self._monotonic()
        self._stream.write(line + "\n")
        self._stream.flush()


def format_duration_seconds(seconds: float) -> str:
    return format_duration(timedelta(seconds=int(max(seconds, 0))))


def add_quiet_option(parser: argparse.ArgumentParser) -> None:
    """`--quiet`, shared by every command that waits (`backup`, `change`, `hold`)."""
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="show no progress while waiting (results and errors are still printed)",
    )
