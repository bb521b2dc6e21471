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
passes over the rows it missed, and the log says so in `notify.summary` rows
that the sink writes later: `details.sink`, and the spans passed over by hash
(passed_over.py). Told which sink wrote the file (`--sink`), the check accepts
a break in the chain when that sink's spans lead from the lines before the break
to the row the line after it links to (`_Spans`). Hashes, not ids: ids are not
hashed, so a file whose ids were edited cannot borrow a real summary. The rows
passed over are then named, not in the file. Without `--sink` the break is
broken, and the message names the sink whose summaries cover it: every sink
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
from daemon.audit.passed_over import spans_of
from daemon.audit.schema import AuditAction, AuditLog

REQUIRED_FIELDS = ("id", "at", "prev_hash", "hash")
# `notify test`'s sample row: shaped like a real one, but id 0, all-zero hashes, and marked.
SAMPLE_ID = 0
SAMPLE_HASH = "0" * 64
SAMPLE_DETAILS = {"test": True}
# Gaps in a file's chain kept while waiting for the summary rows that cover them: a sink
# leaves one each time it comes back from an outage longer than `summarize_after`, and
# its summary rows follow within a day of rows, so a file with more waiting at once is
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
    summarized: tuple[tuple[int, int], ...] = ()  # ids between two lines a sink passed over
    # (id, hash) of the line before each such gap: the chain cannot be followed across a
    # gap, so the lines before it are proven only if this row is the database's
    before_gaps: tuple[tuple[int, str], ...] = ()
    broken_line: int | None = None  # 1-based line number in the file
    problem: str | None = None

    @property
    def from_genesis(self) -> bool:
        """Whether the file starts at the log's very first row."""
        return self.anchor == GENESIS_HASH


@dataclass(frozen=True)
class _Gap:
    """Rows missing between two lines: the row after them does not link to the one before."""

    line: int  # the line of the row after the gap
    ids: tuple[int, int]  # the ids between the two lines (ids are not hashed: shown only)
    before: tuple[int, str]  # the line before the gap: its id and hash
    starts: frozenset[str]  # hashes a span passed over may start after (see `_Spans`)
    reaches: str  # the row after the gap's prev_hash: the hash of the last row missing
    problem: str


class _Spans:
    """The rows each sink passed over, as the spans of its `notify.summary` rows in the file
    say (passed_over.py): after_hash (excluded) -> through_hash.

    A gap is covered when a chain of one sink's spans leads from one of the gap's
    `starts` to the hash the row after the gap links to. Its starts are the hash of the
    line before it and that line's prev_hash: a sink writes a row, then moves its cursor,
    so after a crash in between its summary starts one row before the last line it
    wrote."""

    def __init__(self) -> None:
        self._by_sink: dict[str, dict[str, set[str]]] = {}

    def note(self, row: Mapping[str, Any]) -> bool:
        """Take a row's spans if it is a summary row with some; whether it was."""
        if row.get("action") != AuditAction.NOTIFY_SUMMARY or not row.get("details"):
            return False
        details = _parsed_details(row["details"])
        if not isinstance(details, dict) or not isinstance(details.get("sink"), str):
            return False
        spans = spans_of(details)
        for start, end in spans:
            self._by_sink.setdefault(details["sink"], {}).setdefault(start, set()).add(end)
        return bool(spans)

    def covering(self, gap: _Gap) -> list[str]:
        """The sinks whose spans cover the gap."""
        return [sink for sink, spans in self._by_sink.items() if _reaches(spans, gap)]


def _reaches(spans: Mapping[str, set[str]], gap: _Gap) -> bool:
    seen, waiting = set(gap.starts), list(gap.starts)
    while waiting:
        for end in spans.get(waiting.pop(), ()):
            if end == gap.reaches:
                return True
            if end not in seen:
                seen.add(end)
                waiting.append(end)
    return False


def verify_export(lines: Iterable[str], sink: str | None = None) -> ExportCheck:
    """Check an exported file's chain line by line; stop at the first broken line. With
    `sink` (the JSON-lines sink that wrote the file), a gap that sink's summary rows later
    in the file cover is not broken (see the module's docstring)."""
    checked = samples = 0
    first_id = last_id = anchor = last_hash = None
    gaps: list[_Gap] = []  # waiting for the summary rows that cover them
    summarized: list[tuple[int, int]] = []
    before_gaps: list[tuple[int, str]] = []
    spans = _Spans()
    last_prev = None  # the prev_hash of the line before (a gap's other start, see _Spans)

    def settle() -> None:
        for gap in list(gaps):
            if sink is not None and sink in spans.covering(gap):
                gaps.remove(gap)
                summarized.append(gap.ids)
                before_gaps.append(gap.before)

    def broken(line: int, problem: str) -> ExportCheck:
        settle()
        if gaps:
            problem += (
                f" (and the gap before line {gaps[0].line} was not covered by a summary row "
                "before this line)"
            )
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
            if row_id <= last_id:
                return broken(number, unlinked)
            settle()
            if len(gaps) == OPEN_GAPS_KEPT:
                return _broken(checked, gaps[0].line, _uncovered(gaps[0], spans, sink, number))
            starts = frozenset({last_prev, last_hash})
            gaps.append(
                _Gap(
                    number,
                    (last_id + 1, row_id - 1),
                    (last_id, last_hash),
                    starts,
                    row["prev_hash"],
                    unlinked,
                )
            )
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
        if spans.note(row):
            settle()
        last_id, last_hash, last_prev = row_id, row["hash"], row["prev_hash"]
    settle()
    if gaps:
        return _broken(checked, gaps[0].line, _uncovered(gaps[0], spans, sink))
    if checked == 0:
        tests = f", only {samples} `notify test` line(s)" if samples else ""
        return _broken(0, None, f"the file holds no audit rows yet{tests}: nothing to verify")
    return ExportCheck(
        ok=True,
        rows=checked,
        first_id=first_id,
        last_id=last_id,
        anchor=anchor,
        last_hash=last_hash,
        samples=samples,
        summarized=tuple(summarized),
        before_gaps=tuple(before_gaps),
    )


def _uncovered(gap: _Gap, spans: _Spans, sink: str | None, stopped: int | None = None) -> str:
    """What is wrong with a gap no summary of `sink` covers, and what might explain it."""
    others = [name for name in spans.covering(gap) if name != sink]
    if others:
        return (
            f"{gap.problem}; the notify.summary rows of sink {others[0]!r} in the file say "
            f"it passed over exactly these rows: if that sink wrote this file, verify it "
            f"with --sink {others[0]}"
        )
    where = (
        f"reading stopped at line {stopped}, with {OPEN_GAPS_KEPT} gaps waiting"
        if stopped is not None
        else "the file ends"
    )
    whose = f"sink {sink!r}" if sink is not None else "any sink"
    return f"{gap.problem}; no notify.summary row of {whose} covers it before {where}"


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
