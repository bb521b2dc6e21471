"""The audit listing (`audit list`): which rows it selects, and how it renders them.

`list_statement` selects by time, container (id or name), action and outcome,
keeping the newest `limit` rows (AuditStore.query runs it). The rows are then
rendered for `--format table|json|csv`:

    ID  AT                    ACTOR     ACTION             CONTAINER  TARGET  OUTCOME  REASON
    12  2026-01-05T03:00:01Z  cli       container.restart  web        -       started  by hand

`json` is one JSON array of objects with every column (`details` parsed back to
an object); `csv` has a header row with every column in schema order.
"""

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, or_, select

from daemon.audit.schema import LOG, AuditLog

COLUMNS = tuple(column.name for column in LOG.columns)  # every column, in schema order
TABLE_HEADER = ("ID", "AT", "ACTOR", "ACTION", "CONTAINER", "TARGET", "OUTCOME", "REASON")


def list_statement(
    since: datetime | None,
    container: str | None,
    action: str | None,
    outcome: str | None,
    limit: int | None,
) -> Select:
    """Rows for `audit list`: `container` matches an id or a name; `limit` keeps the newest."""
    statement = select(LOG)
    if since is not None:
        statement = statement.where(LOG.c.at >= since)
    if container is not None:
        statement = statement.where(
            or_(LOG.c.container_id == container, LOG.c.container_name == container)
        )
    if action is not None:
        statement = statement.where(LOG.c.action == action)
    if outcome is not None:
        statement = statement.where(LOG.c.outcome == outcome)
    if limit is not None:
        newest = statement.order_by(LOG.c.id.desc()).limit(limit).subquery()
        return select(newest).order_by(newest.c.id)
    return statement.order_by(LOG.c.id)


def render_table(rows: Sequence[AuditLog]) -> str:
    """Aligned columns for a terminal; the reason column also shows any error."""
    lines = [TABLE_HEADER, *(_table_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(TABLE_HEADER) - 1)]
    rendered = [
        "  ".join(
            [*(cell.ljust(width) for cell, width in zip(line, widths, strict=False)), line[-1]]
        )
        for line in lines
    ]
    return "\n".join(text.rstrip() for text in rendered) + "\n"


def render_json(rows: Sequence[AuditLog]) -> str:
    """One JSON array of row objects."""
    return json.dumps([_json_row(row) for row in rows], indent=2, ensure_ascii=False) + "\n"


def render_csv(rows: Sequence[AuditLog]) -> str:
    """CSV with a header; empty cells for missing values, `details` as JSON text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if value is None else value for value in _flat_values(row)])
    return buffer.getvalue()


def format_time(moment: datetime) -> str:
    """`2026-01-05T03:00:01Z` (UTC, seconds, or microseconds when present)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _table_cells(row: AuditLog) -> tuple[str, ...]:
    reason = row.reason or ""
    if row.error:
        reason = f"{reason} (error: {row.error})" if reason else f"error: {row.error}"
    return (
        str(row.id),
        format_time(row.at),
        row.actor,
        row.action,
        row.container_name or row.container_id or "-",
        row.target or "-",
        row.outcome,
        reason or "-",
    )


def _flat_values(row: AuditLog) -> list[Any]:
    values = []
    for column in COLUMNS:
        value = getattr(row, column)
        values.append(format_time(value) if isinstance(value, datetime) else value)
    return values


def _json_row(row: AuditLog) -> dict[str, Any]:
    record = dict(zip(COLUMNS, _flat_values(row), strict=True))
    if row.details:
        record["details"] = json.loads(row.details)
    return record
