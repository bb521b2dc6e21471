"""The append-only, hash-chained audit log of every action the daemon takes.

store.py     AuditStore: open, append, query, verify; this process's session and claims
schema.py    the tables, AuditAction and Outcome, and the migration at start
chain.py     how rows are hashed and linked, and how a log is verified
history.py   what policies read: HistoryRow, HistoryQuery, Episode, and their SQL
liveness.py  sessions, claims, and reconciling the actions of sessions that are gone
engine.py    the database: URL, engine, transactions, UTC timestamps, the error tree
format.py    `audit list` output as a table, JSON or CSV
"""

from daemon.audit.chain import GENESIS_HASH, canonical_json, row_hash
from daemon.audit.engine import (
    CONNECT_TIMEOUT,
    POSTGRES_EXTRA,
    TCP_USER_TIMEOUT,
    AuditError,
    AuditOpenError,
    AuditWriteError,
    create_audit_engine,
    driver_message,
    enable_wal,
    parse_url,
    postgres_connect_params,
    psycopg_conninfo,
    sqlite_path,
)
from daemon.audit.history import Episode, HistoryQuery, HistoryRow, RowKind
from daemon.audit.listing import COLUMNS, render_csv, render_json, render_table
from daemon.audit.liveness import INTERRUPTED_REASON, LEASE, Holder, process_identity
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
    "GENESIS_HASH",
    "HEAD_ID",
    "INTERRUPTED_REASON",
    "LEASE",
    "OUTCOMES",
    "POSTGRES_EXTRA",
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
    "driver_message",
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
