"""Rate-limit headers that lie (the `rate_headers` fault); the limiter still counts and enforces.

Every /api/v1 answer (429s included) first gets the honest X-RateLimit-* headers,
then the mode rewrites them; `Retry-After` is never touched. Modes:

- `honest`: as counted.
- `reset_in_past`: Reset is two windows earlier than the real one (always past).
- `missing`: none of the three headers.
- `remaining_above_limit`: Remaining = Limit + real remaining + 1.
- `limit_changes`: answers cycle through a Limit of the real one, twice it, half
  of it (at least 1), with Remaining consistent with each claimed Limit.
- `non_numeric`: Limit "60 per minute", Remaining "unknown", Reset an HTTP date.
- `zero_remaining_reset_past`: Remaining 0 and Reset in the past.
- `random`: each answer draws one of the six lying modes (seeded).
"""

import random
from datetime import UTC, datetime
from email.utils import format_datetime
from enum import StrEnum

from daemon.simulator.ratelimit import WINDOW

LIMIT, REMAINING, RESET = "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"
LIMIT_FACTORS = (1.0, 2.0, 0.5)


class RateHeaderMode(StrEnum):
    HONEST = "honest"
    RESET_IN_PAST = "reset_in_past"
    MISSING = "missing"
    REMAINING_ABOVE_LIMIT = "remaining_above_limit"
    LIMIT_CHANGES = "limit_changes"
    NON_NUMERIC = "non_numeric"
    ZERO_REMAINING_RESET_PAST = "zero_remaining_reset_past"
    RANDOM = "random"


RATE_HEADER_MODES = tuple(mode.value for mode in RateHeaderMode)
LYING_MODES = tuple(
    mode for mode in RateHeaderMode if mode not in (RateHeaderMode.HONEST, RateHeaderMode.RANDOM)
)


class RateHeaderSkew:
    """Rewrites the honest headers of each answer as its mode says."""

    def __init__(self, mode: str, seed: int) -> None:
        self.mode = RateHeaderMode(mode)
        self._rng = random.Random(seed)
        self._answers = 0

    def apply(self, headers: dict[str, str]) -> None:
        if self.mode is RateHeaderMode.HONEST or LIMIT not in headers:
            return
        mode = self._rng.choice(LYING_MODES) if self.mode is RateHeaderMode.RANDOM else self.mode
        limit, remaining, reset = int(headers[LIMIT]), int(headers[REMAINING]), int(headers[RESET])
        past = str(reset - 2 * WINDOW)
        if mode is RateHeaderMode.RESET_IN_PAST:
            headers[RESET] = past
        elif mode is RateHeaderMode.MISSING:
            for name in (LIMIT, REMAINING, RESET):
                del headers[name]
        elif mode is RateHeaderMode.REMAINING_ABOVE_LIMIT:
            headers[REMAINING] = str(limit + remaining + 1)
        elif mode is RateHeaderMode.LIMIT_CHANGES:
            claimed = max(1, round(limit * LIMIT_FACTORS[self._answers % len(LIMIT_FACTORS)]))
            self._answers += 1
            used = limit - remaining
            headers[LIMIT], headers[REMAINING] = str(claimed), str(max(0, claimed - used))
        elif mode is RateHeaderMode.NON_NUMERIC:
            headers[LIMIT] = f"{limit} per minute"
            headers[REMAINING] = "unknown"
            headers[RESET] = format_datetime(datetime.fromtimestamp(reset, UTC), usegmt=True)
        elif mode is RateHeaderMode.ZERO_REMAINING_RESET_PAST:
            headers[REMAINING], headers[RESET] = "0", past
