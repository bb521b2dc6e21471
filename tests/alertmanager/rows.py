"""Audit rows as the notification sink hands them over: JSON documents, `details` parsed."""

import json
from typing import Any

from daemon.audit import AuditLog, export_record


def document(row: AuditLog) -> dict[str, Any]:
    record = export_record(row.model_dump())
    if record["details"]:
        record["details"] = json.loads(record["details"])
    return record
