"""Which containers a policy applies to: `match` and `exclude` globs on the container name."""

from fnmatch import fnmatchcase


def name_matches(name: str, match: tuple[str, ...], exclude: tuple[str, ...]) -> bool:
    """True when `name` matches a `match` glob and no `exclude` glob (case-sensitive)."""
    if not any(fnmatchcase(name, pattern) for pattern in match):
        return False
    return not any(fnmatchcase(name, pattern) for pattern in exclude)
