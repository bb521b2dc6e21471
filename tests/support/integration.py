"""Integration gate: a missing real tool skips a test locally but fails it in CI.

CI sets STACKS_OPSD_REQUIRE_INTEGRATION=1; there a skipped check would be a passed
check that never ran, so `require` turns the skip into a failure.
"""

import os
import shutil

import pytest

REQUIRED = os.environ.get("STACKS_OPSD_REQUIRE_INTEGRATION") == "1"


def require(available: bool, what: str) -> None:
    """Skip (or fail, when integration is required) unless `available`."""
    if available:
        return
    if REQUIRED:
        pytest.fail(f"{what} is required (STACKS_OPSD_REQUIRE_INTEGRATION=1) but missing")
    pytest.skip(f"{what} is not available")


def require_tool(name: str) -> str:
    """Return the path of executable `name`, or skip/fail as `require` does."""
    path = shutil.which(name)
    require(path is not None, f"the `{name}` executable")
    return path or ""


def postgres_url() -> str:
    """The test PostgreSQL URL from STACKS_OPSD_TEST_POSTGRES_URL, or skip/fail."""
    url = os.environ.get("STACKS_OPSD_TEST_POSTGRES_URL", "")
    require(bool(url), "a PostgreSQL server (STACKS_OPSD_TEST_POSTGRES_URL)")
    return url
