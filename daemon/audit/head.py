"""The `audit_head` table: one row holding the newest hash and the row count.

Updated in the same transaction as every append, it lets `verify` notice rows
deleted from the end of the log (which the chain alone cannot show) and rows
added after it by something other than the store. It also keeps where
reconciliation starts (`open_from`), so a daemon starting on a year of rows
looks only at the actions that may still be unfinished.
"""

from sqlmodel import Field, SQLModel

HEAD_ID = 1


class AuditHead(SQLModel, table=True):
    __tablename__ = "audit_head"

    id: int = Field(default=HEAD_ID, primary_key=True, sa_column_kwargs={"autoincrement": False})
    row_count: int
    last_id: int | None = None
    last_hash: str
    open_from: int | None = None  # every `started` row before this id has its outcome row
