"""The hash chain: canonical JSON of a row and the SHA-256 that links it to the previous row.

    hash = sha256(prev_hash + canonical_json(row fields except id and hash))

Canonical JSON has sorted keys, no whitespace, UTF-8, `at` as ISO 8601 UTC, and
leaves out fields whose value is None, so adding a nullable column later does
not change the hash of rows written before it existed. The first row's
prev_hash is GENESIS_HASH.
"""

import hashlib
import json
from collections.abc import Mapping
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
