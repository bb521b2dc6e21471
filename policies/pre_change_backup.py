"""pre_change_backup: every change to a running container waits for a fresh backup.

```toml
[policies.pre_change_backup]
enabled = true
timeout = "15m"              # wait this long for the backup to complete
on_failure = "abort"         # or "proceed" (audited as such)
reuse_within = "0s"          # a completed backup this recent counts as the pre-change backup
```

Not a deciding policy: its options configure the executor's `BackupGate`,
which takes the backup before every gated change (or reuses one younger than
`reuse_within`) and, when it fails or times out, aborts the change or proceeds
as `on_failure` says.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar, Literal

from policies.base import OptionRule, PolicySpec, positive_duration


@dataclass(frozen=True)
class PreChangeBackupOptions:
    enabled: bool = True
    timeout: timedelta = timedelta(minutes=15)
    on_failure: Literal["abort", "proceed"] = "abort"
    reuse_within: timedelta = timedelta(0)

    RULES: ClassVar[tuple[OptionRule, ...]] = (positive_duration("timeout"),)


PRE_CHANGE_BACKUP = PolicySpec(name="pre_change_backup", options=PreChangeBackupOptions)
