"""Fixtures: one simulator process per test session (per xdist worker), reset before every test."""
import pytest

from simlib import Sim, SimulatorProcess


@pytest.fixture(scope="session")
def simulator_process():
    process = SimulatorProcess(time_scale=1.0)
    yield process
    process.stop()


@pytest.fixture
def sim(simulator_process):
    handle = Sim(simulator_process.url)
    handle.reset()
    return handle


@pytest.fixture
def estate(sim):
    """The default small estate: 3 servers in one wave, targets stopped and tagged."""
    from simlib import small_estate

    return sim.load_estate(small_estate(3, 1))
