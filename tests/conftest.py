"""Fixtures shared by every test area."""

from collections.abc import Callable, Iterator

import pytest

from daemon.config import Config, ConfigError, load_config
from tests.reliability.crash_setup import fresh_postgres_database
from tests.support.processes import SimulatorProcess

# The files that take a minute or more, longest first, then the directories of real
# processes and waits (minutes in all): run first (see below).
LONGEST_FILES = (
    "reliability/test_soak.py",
    "deploy/test_backup_morning.py",
    "e2e/test_simulated_run.py",
    "polling/test_refresh_rotation.py",
)
SLOW_FIRST = ("reliability", "e2e")


def run_order(item: pytest.Item) -> tuple[int, int]:
    where = f"{item.path.parent.name}/{item.path.name}"
    if where in LONGEST_FILES:
        return 0, LONGEST_FILES.index(where)
    return (1 if item.path.parent.name in SLOW_FIRST else 2), 0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest files first, then the slow directories' files. With `--dist loadfile
    --no-loadscope-reorder` the two workers take files in this order (xdist's own order
    puts files with fewer tests last, and the longest files hold one test each), so the
    long ones are spread over both from the start, and the run does not end with one
    worker idle while the other runs the last long file. (The sort is stable: a file's
    tests keep their order.)"""
    items.sort(key=run_order)


@pytest.fixture
def simulator(tmp_path):
    """A real `stacks-opsd simulator` process on a free loopback port."""
    process = SimulatorProcess(tmp_path / "simulator.log")
    yield process
    process.stop()


@pytest.fixture
def load_text(tmp_path) -> Callable[[str], Config]:
    """Write TOML text to a temporary config.toml and load it (no environment)."""

    def load(text: str) -> Config:
        path = tmp_path / "config.toml"
        path.write_text(text, encoding="utf-8")
        return load_config(str(path), env={})

    return load


@pytest.fixture
def errors_of(load_text) -> Callable[[str], list[str]]:
    """Every error loading this TOML text reports."""

    def errors(text: str) -> list[str]:
        with pytest.raises(ConfigError) as caught:
            load_text(text)
        return caught.value.errors

    return errors


@pytest.fixture(params=["postgresql", "sqlite"])
def shared_database(request, tmp_path) -> Iterator[str]:
    """One audit database for several processes: a fresh PostgreSQL database, or a SQLite
    file in a directory of its own."""
    if request.param == "postgresql":
        with fresh_postgres_database() as url:
            yield url
    else:
        (tmp_path / "shared").mkdir()
        yield f"sqlite:///{tmp_path / 'shared' / 'audit.db'}"
