"""Fixtures shared by every test area."""

import pytest

from tests.support.processes import SimulatorProcess


@pytest.fixture
def simulator(tmp_path):
    """A real `stacks-opsd simulator` process on a free loopback port."""
    process = SimulatorProcess(tmp_path / "simulator.log")
    yield process
    process.stop()
