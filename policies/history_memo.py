"""HistoryMemo: what a policy derives from its audit history, kept while the history is the same.

The engine hands each policy the same row objects at every evaluation until rows
are appended or age out of the policy's window (see daemon/policy_history.py).
Folding thousands of rows into per-container state at every status interval
would be the policies' main cost, so the derived value is kept and derived
again only when the rows handed over differ. Rows are compared by identity, one
by one, so a kept value is never stale: the decision stays a pure function of
(snapshot, history, now).
"""

import operator
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from daemon.audit.record import AuditLog

T = TypeVar("T")


class HistoryMemo(Generic[T]):
    def __init__(self, derive: Callable[[Sequence[AuditLog]], T]) -> None:
        self._derive = derive
        self._kept: tuple[tuple[AuditLog, ...], T] | None = None

    def __call__(self, history: Sequence[AuditLog]) -> T:
        """`derive(history)`; the caller must not change what it returns."""
        kept = self._kept  # one read: `states()` may also be asked from the /status thread
        if kept is not None and same_rows(kept[0], history):
            return kept[1]
        rows = tuple(history)
        value = self._derive(rows)
        self._kept = (rows, value)
        return value


def same_rows(kept: Sequence[AuditLog], history: Sequence[AuditLog]) -> bool:
    return len(kept) == len(history) and all(map(operator.is_, kept, history))
