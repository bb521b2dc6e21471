"""Reading the audit rows a policy is given: details as a dict, rows grouped per container,
and which rows count (what a dry run wrote counts only while dry-running)."""

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from daemon.audit.record import AuditLog

EMPTY: Mapping[str, Any] = MappingProxyType({})


def row_details(row: AuditLog) -> Mapping[str, Any]:
    """The row's `details` JSON as a read-only dict (empty when absent or not an object)."""
    return _parsed(row.details) if row.details else EMPTY


@lru_cache(maxsize=16384)
def _parsed(details: str) -> Mapping[str, Any]:
    # Policies read the same rows every evaluation: each distinct text is parsed once.
    try:
        value = json.loads(details)
    except ValueError:
        return EMPTY
    return MappingProxyType(value) if isinstance(value, dict) else EMPTY


def rows_by_container(rows: Iterable[AuditLog]) -> dict[str, list[AuditLog]]:
    """Rows grouped by `container_id`, each group oldest first."""
    grouped: dict[str, list[AuditLog]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r.at, r.id or 0)):
        if row.container_id is not None:
            grouped[row.container_id].append(row)
    return grouped


def counts(row: AuditLog, dry_run: bool) -> bool:
    """Whether `row` is part of what really happened, for a policy in this mode.

    A dry run's rows (outcome `dry_run`, or a note it marked `dry_run`) are never
    attempts or completions once dry run is off; while it is on they count, so a
    dry run shows the backoff and pins the real run would have.
    """
    return dry_run or (row.outcome != "dry_run" and not row_details(row).get("dry_run"))
