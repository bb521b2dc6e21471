"""Errors of the audit store, one tree, translated once from database errors.

    AuditError                  anything the audit store could not do
    ├── AuditOpenError          the database could not be opened, created or migrated
    ├── AuditWriteError         a row was NOT recorded (append, reconcile); act on nothing
    └── AuditReadError          rows could not be read (history, query, verify)

Messages name the database with its password hidden
(`postgresql+psycopg://user:***@host/db`) and say what to do; they never carry
row contents beyond what was already redacted.
"""


class AuditError(Exception):
    """The audit store could not do what was asked."""


class AuditOpenError(AuditError):
    """The audit database could not be opened, created or migrated."""


class AuditWriteError(AuditError):
    """An audit row was not recorded; the action it describes must not proceed."""


class AuditReadError(AuditError):
    """Audit rows could not be read."""
