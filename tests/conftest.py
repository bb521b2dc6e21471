"""Fixtures shared by every test area."""

from collections.abc import Callable, Iterator

import pytest

from daemon.config import Config, ConfigError, load_config
from tests.reliability.crash_setup import fresh_postgres_database
from tests.support.processes import SimulatorProcess

# Files of real processes and waits, minutes in all: run first (see below).
SLOW_FIRST = ("reliability", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow directories' files first. With `--dist loadfile` the two workers take files
    in this order, so the long ones are spread over both from the start, and the run does
    not end with one worker idle while the other runs the last long file."""
    items.sort(key=lambda item: item.path.parent.name not in SLOW_FIRST)


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
