"""Creating and migrating the audit schema at start.

The tables: `audit_log` and `audit_head` (the chained history, record.py and
head.py), `audit_session` and `audit_claim` (who is alive and acting, liveness.py).

Missing tables are created; columns added to `AuditLog` or `AuditHead` since a
database was created are added (they are nullable, and the chain hash leaves out
None fields, so old rows still verify), and so are the log's indexes (building the history indexes
of record.py once on a year of rows takes seconds; every later start then reads
only what the policies' windows need). A database that predates `audit_head`
gets it seeded from its newest row. Concurrent starts serialise on the write
lock (SQLite) or an advisory lock (PostgreSQL), so two processes never race to
create tables.
"""

from sqlalchemy import Connection, Table, func, insert, inspect, select
from sqlmodel import SQLModel

from daemon.audit.chain import GENESIS_HASH
from daemon.audit.errors import AuditOpenError
from daemon.audit.head import HEAD_ID, AuditHead
from daemon.audit.liveness import CLAIMS, SESSIONS
from daemon.audit.record import AuditLog

LOG = AuditLog.__table__
HEAD = AuditHead.__table__

# pg_advisory_xact_lock key for schema changes: sha256("stacks-opsd audit schema")[:8], signed.
SCHEMA_LOCK_KEY = -0x0EE2_BE9A_05EE_EC06


def ensure_schema(conn: Connection, database: str) -> None:
    """Create or migrate the tables inside the caller's write transaction."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK_KEY})")
    existing = set(inspect(conn).get_table_names())
    SQLModel.metadata.create_all(conn, tables=[LOG, HEAD, SESSIONS, CLAIMS])
    if LOG.name in existing:
        _add_missing_columns(conn, database, LOG)
        _add_missing_indexes(conn)
    if HEAD.name in existing:
        _add_missing_columns(conn, database, HEAD)
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
    present = {index["name"] for index in inspect(conn).get_indexes(LOG.name)}
    for index in LOG.indexes:
        if index.name not in present:
            index.create(conn)


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
