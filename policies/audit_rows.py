"""Reading the audit rows a policy is given: details as a dict, rows grouped per container."""

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from daemon.audit.record import AuditLog


def row_details(row: AuditLog) -> Mapping[str, Any]:
    """The row's `details` JSON as a dict (empty when absent or not an object)."""
    if not row.details:
        return {}
    try:
        value = json.loads(row.details)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def rows_by_container(rows: Iterable[AuditLog]) -> dict[str, list[AuditLog]]:
    """Rows grouped by `container_id`, each group oldest first."""
    grouped: dict[str, list[AuditLog]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r.at, r.id or 0)):
        if row.container_id is not None:
            grouped[row.container_id].append(row)
    return grouped
