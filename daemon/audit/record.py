"""The `audit_log` table (SPEC section 8): one row per step of an action, append-only.

An action writes a `started` row before its API call and an outcome row after
it; both share `action_id`. A pre-change backup and the change it guards share
`correlation_id`. `hash` is SHA-256 over `prev_hash` and the row's canonical
JSON, so editing or deleting any row breaks the chain. `at` is always UTC.

Besides the single-column ones, two indexes serve the policies' history: a
policy's rows since a moment (`actor`, `action`, `at`) and one container's rows
(`container_id`, `at`), so start-up reads only what the windows need.
"""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from daemon.audit.utc_datetime import UTCDateTime

ACTIONS = (
    "container.restart",
    "container.stop",
    "container.start",
    "container.delete",
    "backup.create",
    "backup.pin",
    "backup.unpin",
    "backup.restore",
)
OUTCOMES = (
    "started",
    "succeeded",
    "failed",
    "skipped",
    "dry_run",
    "aborted",
    "interrupted",
    "gave_up",
    "unknown",  # a change whose answer was ambiguous and whose effect a read-back could not confirm
)


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_actor_action_at", "actor", "action", "at"),
        Index("ix_audit_log_container_id_at", "container_id", "at"),
        {"sqlite_autoincrement": True},  # never reuse the id of a deleted row
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    instance: str
    actor: str
    action: str = Field(index=True)
    container_id: str | None = None
    container_name: str | None = None
    target: str | None = None
    outcome: str = Field(index=True)
    reason: str | None = None
    action_id: str = Field(index=True)
    correlation_id: str | None = Field(default=None, index=True)
    http_status: int | None = None
    error: str | None = None
    details: str | None = None
    duration_ms: int | None = None
    prev_hash: str
    hash: str = Field(unique=True)
