"""The append-only, hash-chained audit log of every action the daemon takes."""

from daemon.audit.chain import GENESIS_HASH, canonical_json, row_hash
from daemon.audit.database_url import parse_url, psycopg_conninfo, sqlite_path
from daemon.audit.engine import (
    CONNECT_TIMEOUT,
    TCP_USER_TIMEOUT,
    create_audit_engine,
    enable_wal,
    postgres_connect_params,
)
from daemon.audit.errors import AuditError, AuditOpenError, AuditWriteError
from daemon.audit.format import COLUMNS, render_csv, render_json, render_table
from daemon.audit.head import HEAD_ID, AuditHead
from daemon.audit.history import Episode, HistoryQuery, HistoryRow, RowKind
from daemon.audit.ids import new_action_id
from daemon.audit.liveness import LEASE, SESSIONS, Holder, process_identity
from daemon.audit.record import ACTIONS, OUTCOMES, AuditAction, AuditLog, Outcome
from daemon.audit.store import INTERRUPTED_REASON, AuditStore

__all__ = [
    "ACTIONS",
    "COLUMNS",
    "CONNECT_TIMEOUT",
    "GENESIS_HASH",
    "HEAD_ID",
    "INTERRUPTED_REASON",
    "LEASE",
    "OUTCOMES",
    "SESSIONS",
    "TCP_USER_TIMEOUT",
    "AuditAction",
    "AuditError",
    "AuditHead",
    "AuditLog",
    "AuditOpenError",
    "AuditStore",
    "AuditWriteError",
    "Episode",
    "HistoryQuery",
    "HistoryRow",
    "Holder",
    "Outcome",
    "RowKind",
    "canonical_json",
    "create_audit_engine",
    "enable_wal",
    "new_action_id",
    "parse_url",
    "postgres_connect_params",
    "process_identity",
    "psycopg_conninfo",
    "render_csv",
    "render_json",
    "render_table",
    "row_hash",
    "sqlite_path",
]
