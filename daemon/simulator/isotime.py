"""Time as the STACKS API writes it: ISO 8601 with milliseconds and `Z`; Docker's "Up 2 hours"."""

from datetime import UTC, datetime
from functools import lru_cache


@lru_cache(maxsize=8192)  # every list answer writes each container's created_at again
def iso(moment: datetime) -> str:
    """`2026-02-25T10:30:00.000Z`."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def docker_duration(seconds: float) -> str:
    """The human duration Docker prints in `docker ps` (go-units HumanDuration)."""
    if seconds < 1:
        return "Less than a second"
    if seconds < 2:
        return "1 second"
    if seconds < 60:
        return f"{int(seconds)} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600 / 24 / 365)} years"
