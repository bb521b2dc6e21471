"""When a STACKS request may be sent again, and what a failed answer proves about a change.

Reads (GET) are retried on any failure that asking again may cure: 5xx,
timeouts, dropped connections, unreadable bodies, and 429 once `Retry-After`
has passed (the wait itself lives in the rate budget).

Changes are different: STACKS may have applied one whose answer went missing.
The client sends every change (`PUT .../status`, `POST .../backup`, restore,
pin, unpin, delete, create...) at most once. Its failure is raised as is when
the answer proves STACKS did not apply it (`proves_not_applied`), and as
`UnconfirmedChange` otherwise, so the caller reads the state back instead of
sending the change again. Only the caller may send one again, after an answer
that proves it was not applied and may pass (`worth_resending`), and a fresh
check of the state.

Answers that prove a request was **not applied**:

- 429 Too Many Requests (STACKS refused it before doing anything);
- any other 4xx (refused: not processed by STACKS);
- 503 with the guide's "no capacity, added to the waitlist" body (`NoCapacityError`);
- a connection that could not be made (refused, DNS, connect or pool timeout):
  nothing was sent;
- the local rate budget gave no request (`BudgetExhausted`, `RequestDeferred`):
  nothing was sent.

Everything else is **ambiguous**: a 2xx whose body is unreadable, empty (204) or
not the documented shape, a 3xx (redirects are not followed, and a `303 See
Other` is how many servers answer a change they made), a 5xx, a timeout after
the request went out, a connection dropped before the answer.

Waits between failure retries use "full jitter" exponential backoff: a uniform
random delay in [0, min(cap, base * 2**attempt)], so many daemons recovering
from the same outage do not hammer STACKS in lockstep.
"""

import random
from dataclasses import dataclass, field

from daemon.stacks.errors import (
    ApiError,
    BudgetExhausted,
    NoCapacityError,
    RateLimitedError,
    StacksError,
    TransportError,
)


@dataclass
class Backoff:
    base: float = 0.5
    cap: float = 8.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (0 for the first retry)."""
        return self.rng.uniform(0.0, min(self.cap, self.base * 2**attempt))


def should_retry(error: StacksError) -> bool:
    """Whether a read that failed with `error` may be asked again."""
    return isinstance(error, RateLimitedError) or error.retryable


def proves_not_applied(error: StacksError) -> bool:
    """Whether the answer behind `error` proves STACKS did not apply the request."""
    if isinstance(error, BudgetExhausted | NoCapacityError):
        return True
    if isinstance(error, TransportError):
        return not error.sent
    if isinstance(error, ApiError):
        return error.http_status is not None and 400 <= error.http_status < 500
    return False


def worth_resending(error: StacksError) -> bool:
    """A change refused for a passing reason (429, no connection, no budget yet).

    The caller may send it again, after the wait and a fresh check of the state;
    a 4xx refusal other than 429 would be refused again.
    """
    if isinstance(error, RateLimitedError | BudgetExhausted):
        return True
    return isinstance(error, TransportError) and not error.sent
