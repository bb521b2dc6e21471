"""The audit schema: its tables, the names stored in them, and its migration at start.

Seven tables, all defined here:

- `audit_log` (SPEC section 8): one row per step of an action, append-only and
  hash-chained (chain.py). An action writes a `started` row before its API call
  and one outcome row after it; both share `action_id`. A pre-change backup and
  the change it guards share `correlation_id`. `at` is always UTC. Besides the
  single-column indexes, three serve the policies' history (history.py): a
  policy's rows since a moment (`actor`, `action`, `at`), one container's
  rows (`container_id`, `at`, then `actor`, `action`, `outcome`: which of them a
  read wants is seen in the index, so the rows of other kinds, most of a busy
  container's, are never read), and the rows of one outcome since a moment
  (`actor`, `action`, `outcome`, `at`: the rare openings of an episode, such as
  auto_restart's `gave_up`, from where its mark says they may be open, without
  reading every restart), so start-up reads only what the windows need. One more
  serves the rows about a container by its name (`container_name`, `at`): `audit
  list --container NAME`, and what an Alertmanager sink recalls at start
  (recall.py: its alerts are about names, which outlive a container's id). An index
  an earlier version made and this one replaced (`RETIRED_INDEXES`) is dropped at
  start.
- `audit_head`: one row holding the newest hash and the row count, updated in
  the same transaction as every append, so `verify` notices rows deleted from
  the end of the log and rows added after it by something other than the store.
  It also keeps where reconciliation starts (`open_from`), so a daemon starting
  on a year of rows looks only at the actions that may still be unfinished.
- `audit_session` and `audit_claim`: who is alive and acting (liveness.py).
  They are state, not history: not hash-chained.
- `notify_cursor`: per notification sink, the id of the last audit row it has
  delivered (daemon/notify/delivery.py). State, not history: not hash-chained.
- `audit_hold`: the operators' holds (holds.py), one row per hold, ended by a
  release or by its expiry. State shared by every instance and command; each
  change to it is written together with its hash-chained `hold.*` audit row.
- `audit_episode_mark`: per episode a policy declares (history.py), the stretch
  of time in which every such episode is closed, so a start reads its open
  episodes from its end instead of from the policy's whole horizon
  (episode_marks.py); a container's episode's mark lists the ones still open
  (`still_open`). State, not history: not hash-chained.

`action` and `outcome` hold the values of `AuditAction` and `Outcome`; as
`StrEnum`s they are the very strings stored.

Migration: missing tables are created; columns added to `AuditLog` or
`AuditHead` since a database was created are added (they are nullable, and the
chain hash leaves out None fields, so old rows still verify), and so are the
log's indexes (building the history indexes once on a year of rows takes
seconds). A database that predates `audit_head` gets it seeded from its newest
row. Concurrent starts serialise on the write lock (SQLite) or an advisory lock
(PostgreSQL), so two processes never race to create tables.
"""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, Exists, Index, Table, func, insert, inspect, select
from sqlalchemy.sql import ColumnElement
from sqlmodel import Field, SQLModel

from daemon.audit.chain import GENESIS_HASH
from daemon.audit.engine import AuditOpenError, UTCDateTime


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
    NOTIFY_SUMMARY = "notify.summary"  # undelivered rows a sink skipped, counted (daemon/notify)
    HOLD_SET = "hold.set"  # an operator paused automatic actions (holds.py)
    HOLD_RELEASE = "hold.release"
    HOLD_EXPIRE = "hold.expire"  # written once, by the leader, when a hold ran out


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


def new_action_id() -> str:
    """A fresh action id (32 lowercase hex characters) shared by an action's rows."""
    return uuid.uuid4().hex


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_actor_action_at", "actor", "action", "at"),
        Index(
            "ix_audit_log_container_id_at_kind", "container_id", "at", "actor", "action", "outcome"
        ),
        Index("ix_audit_log_container_name_at", "container_name", "at"),
        Index("ix_audit_log_actor_action_outcome_at", "actor", "action", "outcome", "at"),
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


HEAD_ID = 1  # the one row of audit_head


class AuditHead(SQLModel, table=True):
    __tablename__ = "audit_head"

    id: int = Field(default=HEAD_ID, primary_key=True, sa_column_kwargs={"autoincrement": False})
    row_count: int
    last_id: int | None = None
    last_hash: str
    open_from: int | None = None  # every `started` row before this id has its outcome row


class AuditSession(SQLModel, table=True):
    __tablename__ = "audit_session"

    session: str = Field(primary_key=True)
    instance: str
    role: str  # daemon, cli
    host: str
    pid: int
    process: str | None = None  # identity on its machine: boot id, PID namespace, pid, start
    opened_at: datetime = Field(sa_type=UTCDateTime)
    renewed_at: datetime = Field(sa_type=UTCDateTime)  # the writer's clock: for people only
    renewals: int = 0


class AuditClaim(SQLModel, table=True):
    __tablename__ = "audit_claim"

    container_id: str = Field(primary_key=True)
    session: str = Field(index=True)
    action: str
    action_id: str
    claimed_at: datetime = Field(sa_type=UTCDateTime)


class NotifyCursor(SQLModel, table=True):
    __tablename__ = "notify_cursor"

    sink: str = Field(primary_key=True)
    last_id: int  # every audit row up to this id was delivered to the sink (or summarized)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class AuditHold(SQLModel, table=True):
    __tablename__ = "audit_hold"

    id: int | None = Field(default=None, primary_key=True)
    pattern: str  # a container id, a name, or a name glob
    reason: str
    set_by: str  # who placed it: user@host of the command
    set_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    ended_by: str | None = None  # user@host of a release, or the instance that saw it expire
    end: str | None = None  # "released" or "expired"


class AuditEpisodeMark(SQLModel, table=True):
    __tablename__ = "audit_episode_mark"

    episode: str = Field(primary_key=True)  # Episode.mark_name: a declaration, read in a mode
    closed_before: datetime = Field(sa_type=UTCDateTime)  # every episode opened before is closed,
    read_from: datetime | None = Field(default=None, sa_type=UTCDateTime)  # from here (None: all)
    # but these: JSON [[id, at], ...] of the openings still open (None: none)
    still_open: str | None = None
    updated_at: datetime = Field(sa_type=UTCDateTime)


LOG: Table = AuditLog.__table__
HEAD: Table = AuditHead.__table__
SESSIONS: Table = AuditSession.__table__
CLAIMS: Table = AuditClaim.__table__
CURSORS: Table = NotifyCursor.__table__
HOLDS: Table = AuditHold.__table__
MARKS: Table = AuditEpisodeMark.__table__
HEAD_ROW = HEAD.c.id == HEAD_ID  # the condition that selects audit_head's one row


def has_outcome(action_id: str | ColumnElement[str]) -> Exists:
    """Whether an action has its outcome row (any of its rows but `started`), as SQL: for one
    id, or correlated to the `action_id` of an outer query's rows."""
    outcome = LOG.alias("outcome")
    return (
        select(outcome.c.id)
        .where(outcome.c.action_id == action_id, outcome.c.outcome != Outcome.STARTED)
        .exists()
    )


# Indexes of `audit_log` an earlier version made and this one replaced: dropped at start.
# (actor, action, outcome, container_id) served the openings of an episode read in full;
# read from a mark (`at` >= it), (actor, action, outcome, at) serves them.
RETIRED_INDEXES = frozenset(
    {"ix_audit_log_actor_action_outcome_container_id", "ix_audit_log_container_id_at"}
)

# pg_advisory_xact_lock key for schema changes: sha256("stacks-opsd audit schema")[:8], signed.
SCHEMA_LOCK_KEY = -0x0EE2_BE9A_05EE_EC06


def ensure_schema(conn: Connection, database: str) -> None:
    """Create or migrate the tables inside the caller's write transaction."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK_KEY})")
    existing = set(inspect(conn).get_table_names())
    SQLModel.metadata.create_all(conn, tables=[LOG, HEAD, SESSIONS, CLAIMS, CURSORS, HOLDS, MARKS])
    if LOG.name in existing:
        _add_missing_columns(conn, database, LOG)
        _add_missing_indexes(conn)
    if HEAD.name in existing:
        _add_missing_columns(conn, database, HEAD)
    if MARKS.name in existing:
        _add_missing_columns(conn, database, MARKS)
    if HEAD.name not in existing:
        _seed_head(conn)


def _add_missing_columns(conn: Connection, database: str, table: Table) -> None:
    present = {column["name"] for column in inspect(conn).get_columns(table.name)}
    quote = conn.dialect.identifier_preparer.quote
    for column in table.columns:
        if column.name in present:
            continue
        if not column.nullable:
            raise AuditOpenError(
                f"audit database {database}: table {table.name} has no required column "
                f"{column.name!r} and it cannot be added to existing rows; point "
                "daemon.database_url at a new database or add the column by hand"
            )
        column_type = column.type.compile(dialect=conn.dialect)
        conn.exec_driver_sql(
            f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(column.name)} {column_type}"
        )


def _add_missing_indexes(conn: Connection) -> None:
    """Create the indexes of `audit_log` it lacks, and drop those RETIRED_INDEXES names."""
    present = {index["name"] for index in inspect(conn).get_indexes(LOG.name)}
    for index in LOG.indexes:
        if index.name not in present:
            index.create(conn)
    quote = conn.dialect.identifier_preparer.quote
    for name in present & RETIRED_INDEXES:
        conn.exec_driver_sql(f"DROP INDEX {quote(name)}")


def _seed_head(conn: Connection) -> None:
    count = conn.execute(select(func.count()).select_from(LOG)).scalar_one()
    newest = conn.execute(select(LOG.c.id, LOG.c.hash).order_by(LOG.c.id.desc()).limit(1)).first()
    conn.execute(
        insert(HEAD).values(
            id=HEAD_ID,
            row_count=count,
            last_id=newest.id if newest else None,
            last_hash=newest.hash if newest else GENESIS_HASH,
        )
    )
