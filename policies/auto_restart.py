"""auto_restart: restart crashed containers with kubelet-style crash-loop backoff.

```toml
[policies.auto_restart]
enabled = true
match = ["*"]                # container name globs; `exclude` likewise
exclude = []
statuses = ["error"]
backoff_initial = "10s"      # then doubles
backoff_max = "5m"
reset_after = "10m"          # running this long resets the backoff
max_restarts = 5             # within `window`; then give up until a human acts
window = "1h"
```
"""

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class AutoRestartOptions:
    enabled: bool = True
    match: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ("error",)
    backoff_initial: timedelta = timedelta(seconds=10)
    backoff_max: timedelta = timedelta(minutes=5)
    reset_after: timedelta = timedelta(minutes=10)
    max_restarts: int = 5
    window: timedelta = timedelta(hours=1)
