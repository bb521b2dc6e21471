"""Which containers a policy applies to: `match` and `exclude` globs on the container name."""

from fnmatch import fnmatchcase
from functools import lru_cache


@lru_cache(maxsize=8192)  # every policy asks for every container at every evaluation
def name_matches(name: str, match: tuple[str, ...], exclude: tuple[str, ...]) -> bool:
    """True when `name` matches a `match` glob and no `exclude` glob (case-sensitive)."""
    if not any(fnmatchcase(name, pattern) for pattern in match):
        return False
    return not any(fnmatchcase(name, pattern) for pattern in exclude)
