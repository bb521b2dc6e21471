"""backup_freshness: export how old each container's newest completed backup is; no action.

```toml
[policies.backup_freshness]
max_age = "26h"              # exported for alerting; no action
```
"""

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class BackupFreshnessOptions:
    max_age: timedelta = timedelta(hours=26)
