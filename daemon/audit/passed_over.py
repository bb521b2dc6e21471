"""The rows a notification sink passed over, by hash: the `spans` of its `notify.summary` rows.

A sink down longer than its `summarize_after` counts the rows it missed in a summary
row instead of sending them (daemon/notify/delivery.py). The summary names them by
hash, in `details.spans`: a list of `[after_hash, through_hash]`, each the rows after
the row with hash `after_hash` through the row with hash `through_hash`. `audit
verify --file --sink` follows them across the gaps they leave in the sink's file
(export.py): hashes, not ids, since ids are not hashed.

A sink down for days passes over its own earlier summaries too. So a summary takes
in the spans of the summaries of its sink that it passes over, and joins two spans
that meet at a row it passes over: a continuous outage ends as one span however many
summaries it took, and the summary that reaches the file names it whole. Spans that
meet at a row the sink did write (it came back for a moment between two outages)
stay apart, so each gap in the file keeps its own.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from daemon.audit.history import details_object
from daemon.audit.schema import AuditAction, AuditLog

SPANS_DETAIL = "spans"

Span = tuple[str, str]  # after_hash, through_hash


def spans_of(details: Mapping[str, Any]) -> list[Span]:
    """The well-formed spans in a summary row's details (anything else is ignored)."""
    value = details.get(SPANS_DETAIL)
    if not isinstance(value, list):
        return []
    return [
        (item[0], item[1])
        for item in value
        if isinstance(item, list) and len(item) == 2 and all(isinstance(h, str) for h in item)
    ]


class PassedOver:
    """The spans one summary of `sink` records, from the rows it passes over, in id order."""

    def __init__(self, sink: str) -> None:
        self._sink = sink
        self._spans: set[Span] = set()  # taken from the sink's summaries passed over
        self._after: str | None = None  # this summary's own span
        self._through: str | None = None
        self._joins: set[str] = set()  # hashes of rows whose next row is passed over

    def take(self, rows: Iterable[AuditLog]) -> None:
        for row in rows:
            if self._after is None:
                self._after = row.prev_hash
            self._joins.add(row.prev_hash)
            self._through = row.hash
            if row.action == AuditAction.NOTIFY_SUMMARY and row.target == self._sink:
                self._spans.update(spans_of(details_object(row.details)))

    def joined(self) -> list[list[str]]:
        """The spans, two that meet at a row passed over made one, in a stable order."""
        spans = set(self._spans)
        if self._after is not None and self._through is not None:
            spans.add((self._after, self._through))
        while meeting := next(
            (
                (first, then)
                for first in spans
                if first[1] in self._joins
                for then in spans
                if then[0] == first[1]
            ),
            None,
        ):
            first, then = meeting
            spans -= {first, then}
            spans.add((first[0], then[1]))
        return [list(span) for span in sorted(spans)]
