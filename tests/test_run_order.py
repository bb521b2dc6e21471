"""The suite's own order (conftest.py): the files it runs first are there to run."""

from pathlib import Path

from tests.conftest import LONGEST_FILES, SLOW_FIRST

TESTS = Path(__file__).parent


def test_every_file_named_to_run_first_exists():
    """A renamed long file would silently lose its place at the front of the run, and the
    run would end on it again with one worker idle."""
    assert [name for name in LONGEST_FILES if not (TESTS / name).is_file()] == []
    assert [name for name in SLOW_FIRST if not (TESTS / name).is_dir()] == []
