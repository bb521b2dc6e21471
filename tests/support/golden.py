"""Golden files: text a test expects, kept under tests/golden/ and reviewed like code.

    assert_golden("explain_shop-db.txt", output)

A mismatch fails with a diff. After an intended change of the output, rewrite the
files with STACKS_OPSD_UPDATE_GOLDEN=1 and review `git diff tests/golden/`.
"""

import difflib
import os
from pathlib import Path

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden"
UPDATE_VARIABLE = "STACKS_OPSD_UPDATE_GOLDEN"


def assert_golden(name: str, actual: str) -> None:
    path = GOLDEN_DIR / name
    if os.environ.get(UPDATE_VARIABLE) == "1":
        path.write_text(actual, encoding="utf-8")
        return
    if not path.exists():
        raise AssertionError(
            f"no golden file tests/golden/{name}; run with {UPDATE_VARIABLE}=1 to write it"
        )
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                f"tests/golden/{name}",
                "actual",
            )
        )
        raise AssertionError(
            f"output differs from tests/golden/{name} ({UPDATE_VARIABLE}=1 rewrites it):\n{diff}"
        )
