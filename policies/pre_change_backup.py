"""pre_change_backup: every change to a running container waits for a fresh backup.

```toml
[policies.pre_change_backup]
enabled = true
timeout = "15m"
on_failure = "abort"         # or "proceed" (audited as such)
reuse_within = "0s"          # a completed backup this recent counts as the pre-change backup
```
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal


@dataclass(frozen=True)
class PreChangeBackupOptions:
    enabled: bool = True
    timeout: timedelta = timedelta(minutes=15)
    on_failure: Literal["abort", "proceed"] = "abort"
    reuse_within: timedelta = timedelta(0)
