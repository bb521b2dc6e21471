"""weekly_pin: pin one completed backup per container and ISO week, keep `keep_weeks`.

```toml
[policies.weekly_pin]
enabled = true
match = ["*"]
exclude = []
weekday = "sunday"           # UTC
at = "03:00"                 # UTC, after the 02:00 scheduled backup
keep_weeks = 8               # older weekly pins made by the daemon are unpinned
```
"""

from dataclasses import dataclass
from datetime import time
from typing import Literal

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


@dataclass(frozen=True)
class WeeklyPinOptions:
    enabled: bool = True
    match: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    weekday: Weekday = "sunday"
    at: time = time(3, 0)
    keep_weeks: int = 8
