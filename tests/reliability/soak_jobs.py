"""The daemon's jobs as the real scheduler runs them: a failure is logged, counted, not raised.

`SimulatedRun` calls the jobs directly; wrapped with the scheduler's own
`guarded`, an exception that would only be logged in `stacks-opsd run` is
logged here too, and `ErrorRecords` collects every ERROR record of the
`daemon` and `policies` loggers so the soak can require there were none.
"""

import logging

from daemon.runtime import Daemon
from daemon.service import guarded

JOBS = ("leadership", "heartbeat", "status_cycle", "refresh")
LOGGERS = ("daemon", "policies")


def guard_jobs(daemon: Daemon) -> None:
    for name in JOBS:
        setattr(daemon, name, guarded(name, getattr(daemon, name)))


class ErrorRecords(logging.Handler):
    """ERROR and worse records of the daemon's loggers, while in a `with` block."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self) -> list[str]:
        formatter = logging.Formatter("%(name)s: %(message)s")
        return [formatter.format(record) for record in self.records]

    def __enter__(self) -> "ErrorRecords":
        for name in LOGGERS:
            logging.getLogger(name).addHandler(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for name in LOGGERS:
            logging.getLogger(name).removeHandler(self)
