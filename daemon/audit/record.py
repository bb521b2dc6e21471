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
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from daemon.audit.utc_datetime import UTCDateTime


class AuditAction(StrEnum):
    """What an audit row is about (the `action` column)."""

    CONTAINER_RESTART = "container.restart"
    CONTAINER_STOP = "container.stop"
    CONTAINER_START = "container.start"
    CONTAINER_DELETE = "container.delete"
    BACKUP_CREATE = "backup.create"
    BACKUP_PIN = "backup.pin"
    BACKUP_UNPIN = "backup.unpin"
    BACKUP_RESTORE = "backup.restore"


class Outcome(StrEnum):
    """The `outcome` column: `started` before a request, then exactly one of the others."""

    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # STACKS did not apply it
    SKIPPED = "skipped"
    DRY_RUN = "dry_run"
    ABORTED = "aborted"
    INTERRUPTED = "interrupted"
    GAVE_UP = "gave_up"
    UNKNOWN = "unknown"  # an ambiguous answer that a read-back could not confirm


ACTIONS = tuple(AuditAction)
OUTCOMES = tuple(Outcome)


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
