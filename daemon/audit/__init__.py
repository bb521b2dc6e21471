"""The append-only, hash-chained audit log of every action the daemon takes.

Its modules (other packages and the tests import the names below, never a module):

- store.py: AuditStore, the one door: open, append, query, verify; this process's
  session and claims.
- schema.py: the tables, AuditAction and Outcome, new_action_id, and the migration
  at start.
- chain.py: how rows are hashed and linked, and how a log is verified against its head.
- history.py: what policies read: HistoryRow, HistoryQuery, Episode, and their SQL.
- episode_marks.py: where a start reads each policy's open episodes from, and
  MarkCheck, what `audit verify` finds of a mark.
- liveness.py: sessions, claims, and which unfinished actions of gone sessions to close.
- engine.py: the database itself: URL, engine, transactions, UTC timestamps, the errors.
- holds.py: Hold, the operators' "hands off" records beside the log, and their SQL.
- listing.py: `audit list`: the rows it selects, rendered as a table, JSON or CSV.
- outbox.py: the log as an outbox: each notification sink's cursor and the rows after it.
- recall.py: ConditionRule, the conditions rows open and clear (of RowKinds), and what a
  sink that keeps them re-reads when it starts delivering.
- export.py: `row_document`, a row as the one JSON document every consumer gets (`audit
  export`, the JSON-lines and webhook sinks), and `audit verify --file` of a file of them.
- passed_over.py: the rows a notification sink passed over, by hash: the `spans` its
  `notify.summary` rows record, which `audit verify --file --sink` follows.
"""

from daemon.audit.chain import GENESIS_HASH, canonical_json, row_hash
from daemon.audit.engine import (
    CONNECT_TIMEOUT,
    POSTGRES_EXTRA,
    TCP_USER_TIMEOUT,
    AuditBusyError,
    AuditError,
    AuditOpenError,
    AuditWriteError,
    create_audit_engine,
    driver_message,
    enable_wal,
    parse_url,
    postgres_connect_params,
    probe_database,
    psycopg_conninfo,
    sqlite_path,
)
from daemon.audit.episode_marks import SKEW_ALLOWANCE, MarkCheck
from daemon.audit.export import (
    SAMPLE_DETAILS,
    SAMPLE_HASH,
    SAMPLE_ID,
    ExportCheck,
    document_line,
    export_line,
    is_sample,
    read_lines,
    row_document,
    verify_export,
)
from daemon.audit.history import (
    EVENT_DETAIL,
    Episode,
    HistoryQuery,
    HistoryRow,
    RowKind,
)
from daemon.audit.holds import EXPIRY_ACTOR as HOLD_EXPIRY_ACTOR
from daemon.audit.holds import Hold, is_glob
from daemon.audit.listing import COLUMNS, render_csv, render_json, render_table
from daemon.audit.liveness import (
    INTERRUPTED_REASON,
    LEASE,
    Holder,
    InFlight,
    process_identity,
)
from daemon.audit.passed_over import SPANS_DETAIL, PassedOver
from daemon.audit.recall import ConditionRule, subject_of
from daemon.audit.schema import (
    ACTIONS,
    HEAD_ID,
    OUTCOMES,
    SESSIONS,
    AuditAction,
    AuditHead,
    AuditLog,
    Outcome,
    new_action_id,
)
from daemon.audit.store import AuditStore

__all__ = [
    "ACTIONS",
    "COLUMNS",
    "CONNECT_TIMEOUT",
    "EVENT_DETAIL",
    "GENESIS_HASH",
    "HEAD_ID",
    "HOLD_EXPIRY_ACTOR",
    "INTERRUPTED_REASON",
    "LEASE",
    "OUTCOMES",
    "POSTGRES_EXTRA",
    "SAMPLE_DETAILS",
    "SAMPLE_HASH",
    "SAMPLE_ID",
    "SESSIONS",
    "SKEW_ALLOWANCE",
    "SPANS_DETAIL",
    "TCP_USER_TIMEOUT",
    "AuditAction",
    "AuditBusyError",
    "AuditError",
    "AuditHead",
    "AuditLog",
    "AuditOpenError",
    "AuditStore",
    "AuditWriteError",
    "ConditionRule",
    "Episode",
    "ExportCheck",
    "HistoryQuery",
    "HistoryRow",
    "Hold",
    "Holder",
    "InFlight",
    "MarkCheck",
    "Outcome",
    "PassedOver",
    "RowKind",
    "canonical_json",
    "create_audit_engine",
    "document_line",
    "driver_message",
    "enable_wal",
    "export_line",
    "is_glob",
    "is_sample",
    "new_action_id",
    "parse_url",
    "postgres_connect_params",
    "probe_database",
    "process_identity",
    "psycopg_conninfo",
    "read_lines",
    "render_csv",
    "render_json",
    "render_table",
    "row_document",
    "row_hash",
    "sqlite_path",
    "subject_of",
    "verify_export",
]
