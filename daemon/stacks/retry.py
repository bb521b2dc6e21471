"""When a failed STACKS request is sent again, and how long to wait before it.

Only requests that are safe to repeat are retried on failure: GETs, `PUT
.../status` (setting the same state twice is the same as once) and backup
pin/unpin. A create, backup, restore, connect, delete... is never repeated after a
5xx or timeout, because STACKS may already have done it. 429 is different: STACKS
rejected the request before doing anything, so any method may be sent again once
`Retry-After` has passed (the wait itself lives in the rate budget).

Waits between failure retries use "full jitter" exponential backoff: a uniform
random delay in [0, min(cap, base * 2**attempt)], so many daemons recovering
from the same outage do not hammer STACKS in lockstep.
"""

import random
from dataclasses import dataclass, field

from daemon.stacks.errors import RateLimitedError, StacksError


@dataclass
class Backoff:
    base: float = 0.5
    cap: float = 8.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (0 for the first retry)."""
        return self.rng.uniform(0.0, min(self.cap, self.base * 2**attempt))


def should_retry(error: StacksError, *, idempotent: bool) -> bool:
    """Whether `error` may be answered by sending the same request again."""
    if isinstance(error, RateLimitedError):
        return True  # not processed by STACKS, whatever the method
    return idempotent and error.retryable
