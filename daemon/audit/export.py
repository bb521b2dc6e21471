"""An audit row as a JSON document, the one format every consumer gets, and the offline check
of a file of them.

`row_document(row)` is used by `audit export --format jsonl`, the JSON-lines
notification sink (one document per line) and the webhook sink (its `row`):

    {"id": 41, "at": "2026-01-05T03:00:01Z", "instance": "host:12", "actor": "policy:auto_restart",
     "action": "container.restart", ..., "details": {"event": "crash"},
     "prev_hash": "9f2c...", "hash": "03ab..."}

Every column of `audit_log` in schema order (None included), `at` in UTC ISO 8601,
and `details` parsed back into JSON. The database holds `details` as canonical
JSON text (chain.py's `canonical_json`, what was hashed), so the document's object
turns back into exactly those bytes and a file of documents can be checked
without the database; a `details` text that would not come back byte for byte
(written by something else) stays a string, hashed as it is.

An export is contiguous: it starts at the oldest row written at or after
`--since` and then takes every later row by id, so a row whose clock was a little
behind (another process) is never cut out of the middle. A JSON-lines sink with
no filters writes a contiguous piece too, from the row its cursor started at.

`verify_export` reads such a file and checks what the file alone can prove:

- each row hashes to its own `hash` (nothing in a row was edited);
- each row's `prev_hash` is the `hash` of the line before it (no row was
  removed, inserted or reordered between the first line and the last);
- ids grow line by line (`id` is not hashed; this catches edited ids).

A line that repeats the line before it exactly (same id and hash: delivery is at
least once, so a sink may write a row twice around a crash) is passed over, and
so is `notify test`'s sample (`is_sample`: id 0, all-zero hashes, `"test": true`),
which a JSON-lines sink writes into the same file; it belongs to no chain. A real
row made to look like one breaks the link of the line after it.

A JSON-lines sink that could not write for longer than its `summarize_after`
passes over the rows it missed, and the log says so in a `notify.summary` row
(`details.sink`, `first_id`..`last_id`) that the sink writes later. Told which
sink wrote the file (`--sink`), the check accepts the break in the chain there
when that sink's summary row follows in the file and names exactly the ids
between the two lines (ids are consecutive: SQLite reuses none, and PostgreSQL
skips one only when a write fails, which makes such a gap look tampered). The
rows passed over are then not proven, only named. Without `--sink` the gap is
broken, and the message names the sink whose summary explains it: every sink
receives every sink's summary rows, so rows cut from one sink's file would
otherwise hide behind another sink's summary.

The first row's `prev_hash` is the anchor: the all-zero genesis hash when the
export starts at the log's first row, else the hash of a row the file does not
hold. What the file alone cannot prove: that rows were not cut off before the
first line or after the last, or that the whole file was not rebuilt from
scratch (the chain has no secret, anyone can compute it). Compare the first
`prev_hash` and the last `hash` with the database (`audit verify` on it, or a
copy of the anchors kept elsewhere) to close that gap. Files written before
`details` was parsed (a string) verify as well.
"""

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from daemon.audit.chain import GENESIS_HASH, canonical_json, row_hash
from daemon.audit.listing import COLUMNS, format_time
from daemon.audit.schema import AuditAction, AuditLog

REQUIRED_FIELDS = ("id", "at", "prev_hash", "hash")
# `notify test`'s sample row: shaped like a real one, but id 0, all-zero hashes, and marked.
SAMPLE_ID = 0
SAMPLE_HASH = "0" * 64
SAMPLE_DETAILS = {"test": True}
# Gaps in a file's chain kept while waiting for the summary row that names them: a sink
# leaves one each time it comes back from an outage longer than `summarize_after`, and
# its summary row follows within a day of rows, so a file with more waiting at once is
# not one sink's (a filtered sink's file has a gap at almost every line).
OPEN_GAPS_KEPT = 20


def is_sample(document: Mapping[str, Any]) -> bool:
    """Whether a row document is `notify test`'s sample (its `details` parsed or as text)."""
    details = document.get("details")
    if isinstance(details, str):
        details = _parsed_details(details)
    return (
        document.get("id") == SAMPLE_ID
        and document.get("hash") == document.get("prev_hash") == SAMPLE_HASH
        and details == SAMPLE_DETAILS
    )


def row_document(row: AuditLog | Mapping[str, Any]) -> dict[str, Any]:
    """The row as JSON-ready values: every column in schema order, `at` as UTC ISO 8601,
    `details` parsed (see the module's docstring)."""
    document: dict[str, Any] = {}
    for column in COLUMNS:
        value = row.get(column) if isinstance(row, Mapping) else getattr(row, column)
        if isinstance(value, datetime):
            value = format_time(value)
        elif column == "details" and isinstance(value, str):
            value = _parsed_details(value)
        document[column] = value
    return document


def document_line(document: Mapping[str, Any]) -> str:
    """A row document as one JSON line (with its newline)."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"


def export_line(row: AuditLog | Mapping[str, Any]) -> str:
    """One row as one JSON line (with its newline)."""
    return document_line(row_document(row))


def _parsed_details(text: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, dict) and canonical_json(value) == text:
        return value
    return text  # would not turn back into the hashed bytes: keep them


@dataclass(frozen=True)
class ExportCheck:
    """What `verify_export` found: the anchors on success, the first broken line otherwise."""

    ok: bool
    rows: int  # rows checked (including a broken one)
    first_id: int | None = None
    last_id: int | None = None
    anchor: str | None = None  # the first row's prev_hash
    last_hash: str | None = None
    samples: int = 0  # `notify test` lines passed over
    summarized: tuple[tuple[int, int], ...] = ()  # ids a sink passed over, as the file says
    broken_line: int | None = None  # 1-based line number in the file
    problem: str | None = None

    @property
    def from_genesis(self) -> bool:
        """Whether the file starts at the log's very first row."""
        return self.anchor == GENESIS_HASH


@dataclass
class _Gap:
    """Rows missing between two lines: the row after them does not link to the one before."""

    line: int  # the line of the row after the gap
    after_id: int
    before_id: int
    problem: str
    named_by: tuple[int, str] | None = None  # a summary row naming exactly this gap: id, sink

    def named_by_summary(self, row: Mapping[str, Any]) -> str | None:
        """The sink a `notify.summary` row says passed over exactly the ids of this gap (a
        range inside it would leave a removed row unexplained), or None."""
        if row.get("action") != AuditAction.NOTIFY_SUMMARY:
            return None
        details = _parsed_details(row["details"]) if row.get("details") else None
        if not isinstance(details, dict) or not isinstance(details.get("sink"), str):
            return None
        first, last = details.get("first_id"), details.get("last_id")
        exact = first == self.after_id + 1 and last == self.before_id - 1
        return details["sink"] if exact and isinstance(first, int) else None

    def explained(self) -> str:
        if self.named_by is None:
            return self.problem + "; no notify.summary row later in the file names these ids"
        summary, sink = self.named_by
        return (
            f"{self.problem}; row {summary} (notify.summary) says sink {sink!r} passed over "
            f"exactly ids {self.after_id + 1}..{self.before_id - 1}: if that sink wrote "
            f"this file, verify it with --sink {sink}"
        )


def verify_export(lines: Iterable[str], sink: str | None = None) -> ExportCheck:
    """Check an exported file's chain line by line; stop at the first broken line. With
    `sink` (the JSON-lines sink that wrote the file), a gap that sink's summary row later
    in the file names is not broken. A gap waits for its summary row; the first broken
    line reported is still the first in the file, and a file with more than
    `OPEN_GAPS_KEPT` gaps waiting (a filtered sink's file, an edited one) stops there."""
    checked = samples = 0
    first_id = last_id = anchor = last_hash = None
    gaps: list[_Gap] = []
    summarized: list[tuple[int, int]] = []

    def broken(line: int | None, problem: str) -> ExportCheck:
        if gaps:  # an earlier line broke already
            return _broken(checked, gaps[0].line, gaps[0].explained())
        return _broken(checked, line, problem)

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        checked += 1
        row, problem = _parse(line)
        if row is None:
            return broken(number, problem)
        if is_sample(row):
            checked, samples = checked - 1, samples + 1
            continue
        row_id = row["id"]
        if row_id == last_id and row["hash"] == last_hash:
            if row_hash(row) != row["hash"]:
                return broken(
                    number,
                    f"row id {row_id} is repeated with other contents: its hash does not "
                    "match them (a forged copy of the line before)",
                )
            checked -= 1  # the same row again (at-least-once delivery): nothing to check
            continue
        if anchor is None:
            anchor, first_id = row["prev_hash"], row_id
        elif row["prev_hash"] != last_hash:
            unlinked = (
                f"row id {row_id} does not link to the line before it (prev_hash "
                f"{_short(row['prev_hash'])}, expected {_short(last_hash)}): a row between "
                "them was removed, or this row was inserted or moved"
            )
            if row_id <= last_id or len(gaps) == OPEN_GAPS_KEPT:
                return broken(number, unlinked)
            gaps.append(_Gap(number, last_id, row_id, unlinked))
        elif row_id <= last_id:
            return broken(
                number,
                f"row id {row_id} does not follow id {last_id}: the id was edited "
                "(ids are not covered by the hash)",
            )
        if row_hash(row) != row["hash"]:
            return broken(
                number, f"row id {row_id} was altered: its hash does not match its contents"
            )
        for gap in list(gaps):
            named = gap.named_by_summary(row)
            if named is not None and named == sink:
                gaps.remove(gap)
                summarized.append((gap.after_id + 1, gap.before_id - 1))
            elif named is not None:
                gap.named_by = (row_id, named)
        last_id, last_hash = row_id, row["hash"]
    if gaps or checked == 0:
        tests = f", only {samples} `notify test` line(s)" if samples else ""
        return broken(None, f"the file holds no audit rows yet{tests}: nothing to verify")
    return ExportCheck(
        ok=True,
        rows=checked,
        first_id=first_id,
        last_id=last_id,
        anchor=anchor,
        last_hash=last_hash,
        samples=samples,
        summarized=tuple(sorted(summarized)),
    )


def read_lines(path: str) -> Iterator[str]:
    """The lines of an export file, read lazily (raises OSError as `open` does)."""
    with open(path, encoding="utf-8", errors="replace") as file:
        yield from file


def _parse(line: str) -> tuple[dict[str, Any] | None, str]:
    try:
        value = json.loads(line)
    except ValueError as error:
        return None, f"not JSON ({error.msg} at column {error.colno})"
    if not isinstance(value, dict):
        return None, f"not a JSON object but {type(value).__name__}"
    missing = [field for field in REQUIRED_FIELDS if field not in value]
    if missing:
        return None, f"not an exported audit row: no {', '.join(missing)}"
    if not isinstance(value["id"], int) or isinstance(value["id"], bool):
        return None, f"the id is {value['id']!r}, not an integer"
    for field in ("prev_hash", "hash"):
        if not isinstance(value[field], str):
            return None, f"{field} is {value[field]!r}, not a hash"
    try:
        value["at"] = datetime.fromisoformat(value["at"])
    except (TypeError, ValueError):
        return None, f"the time {value['at']!r} is not ISO 8601"
    if value["at"].tzinfo is None:
        return None, f"the time {value['at'].isoformat()} has no time zone"
    if isinstance(value.get("details"), dict):
        value["details"] = canonical_json(value["details"])  # the text that was hashed
    return value, ""


def _short(value: str | None) -> str:
    return f"{value[:12]}..." if value else "none"


def _broken(rows: int, line: int | None, problem: str) -> ExportCheck:
    return ExportCheck(ok=False, rows=rows, broken_line=line, problem=problem)
