"""The executor: performs policy and operator decisions through the pre-change backup gate.

Between the policies and STACKS. `Executor` (executor.py) takes a decision to one
`Report`, now or on its worker threads: it holds the container (in this process,
then across processes through the audit database), runs the change as one
`ChangeAttempt` (attempt.py) over the `CHANGES` table (changes.py), behind the
`BackupGate` (backup_gate.py), and writes every row through the `AuditTrail`
(audit_trail.py), which counts each outcome once in the metrics. A wait for a
backup reports how it stands (`BackupWait`) to an optional `on_backup_wait`.
"""

from daemon.executor.attempt import NotAudited, Report
from daemon.executor.backup_gate import BackupWait
from daemon.executor.executor import Executor

__all__ = [
    "BackupWait",
    "Executor",
    "NotAudited",
    "Report",
]
