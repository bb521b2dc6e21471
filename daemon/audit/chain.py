"""The hash chain: how a row is hashed and linked, and how a log is verified against its head.

    hash = sha256(prev_hash + canonical_json(row fields except id and hash))

Canonical JSON has sorted keys, no whitespace, UTF-8, `at` as ISO 8601 UTC, and
leaves out fields whose value is None, so adding a nullable column later does
not change the hash of rows written before it existed. The first row's
prev_hash is GENESIS_HASH.

Verifying walks the rows oldest first. Each row must link to the previous row's
hash (a deletion or insertion in the middle breaks this) and hash to its own
contents (an edit breaks this). The `audit_head` record, updated with every
append, then catches what the chain cannot: rows deleted from the end, or
appended by something other than the store. An edited, deleted or inserted row
shows as the first broken id. This module knows no SQL: the store reads the rows
and the head in one snapshot and hands them here.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64

UNHASHED_FIELDS = frozenset({"id", "hash"})


def canonical_json(value: Any) -> str:
    """Deterministic JSON text: sorted keys, compact separators, no NaN."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def row_hash(fields: Mapping[str, Any]) -> str:
    """The hash of a row given all its fields (`id` and `hash` are ignored)."""
    hashed = {
        name: _hashable(value)
        for name, value in fields.items()
        if name not in UNHASHED_FIELDS and value is not None
    }
    payload = str(fields["prev_hash"]) + canonical_json(hashed)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _hashable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    problem: str | None = None


def verify_chain(rows: Iterable[Mapping[str, Any]], head: Mapping[str, Any] | None) -> VerifyResult:
    """Verify `rows` (ordered by id) against each other and against the `head` record."""
    expected_prev = GENESIS_HASH
    checked = 0
    head_position: int | None = None
    first_after_head: int | None = None
    first_id: int | None = None
    for row in rows:
        checked += 1
        row_id = row["id"]
        first_id = row_id if first_id is None else first_id
        if row["prev_hash"] != expected_prev:
            return _broken(
                checked,
                row_id,
                f"row {row_id} does not link to the row before it: a row before it was "
                f"deleted or altered, or row {row_id} was inserted",
            )
        if row_hash(row) != row["hash"]:
            return _broken(
                checked, row_id, f"row {row_id} was altered: its hash does not match its contents"
            )
        expected_prev = row["hash"]
        if head is not None and row["hash"] == head["last_hash"]:
            head_position = checked
        elif head_position is not None and first_after_head is None:
            first_after_head = row_id
    return _against_head(checked, head, head_position, first_after_head, first_id)


def _against_head(
    checked: int,
    head: Mapping[str, Any] | None,
    head_position: int | None,
    first_after_head: int | None,
    first_id: int | None,
) -> VerifyResult:
    if head is None:
        if checked == 0:
            return VerifyResult(ok=True, checked=0)
        return _broken(
            checked,
            None,
            "the audit_head record is missing: it was deleted, and rows may have been "
            "deleted from the end of the log",
        )
    if head["row_count"] == 0 and checked == 0:
        return VerifyResult(ok=True, checked=0)
    if head["row_count"] == 0:
        return _broken(
            checked, first_id, f"row {first_id} and later were added outside the audit store"
        )
    if head_position is None:
        missing = head["row_count"] - checked
        what = f"{missing} row(s) are missing from the end" if missing > 0 else "rows were changed"
        return _broken(
            checked,
            head["last_id"],
            f"the newest recorded row (id {head['last_id']}) is not in the log: {what}",
        )
    if first_after_head is not None:
        return _broken(
            checked,
            first_after_head,
            f"row {first_after_head} and later were added outside the audit store "
            f"(after the newest recorded row {head['last_id']})",
        )
    if head["row_count"] != checked:
        return _broken(
            checked,
            None,
            f"audit_head records {head['row_count']} rows but the chain has {checked}: "
            "the audit_head record was altered",
        )
    return VerifyResult(ok=True, checked=checked)


def _broken(checked: int, row_id: int | None, problem: str) -> VerifyResult:
    return VerifyResult(ok=False, checked=checked, first_broken_id=row_id, problem=problem)
