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


@pytest.fixture
def failed_over(sim):
    """One server recovered (not a drill) into its launch-into target in the recovery region (the names of
    docs/DRS_BEHAVIOUR.md section 7: b1 its source server there, b3 the target, a1 the original instance)."""
    from simlib import RECOVERY, small_estate

    estate = sim.load_estate(small_estate(1, 1))
    server = estate["servers"]["db-01"]
    drs = sim.client("drs", region=RECOVERY)
    drs.update_launch_configuration(sourceServerID=server["source_server_id"], copyPrivateIp=False, copyTags=False,
                                    targetInstanceTypeRightSizingMethod="NONE", launchDisposition="STARTED",
                                    launchIntoInstanceProperties={"launchIntoEC2InstanceID": server["target_instance_id"]})
    job = drs.start_recovery(sourceServers=[{"sourceServerID": server["source_server_id"]}], isDrill=False)["job"]
    job = sim.run_job(drs, job["jobID"], step=300)
    assert job["participatingServers"][0]["recoveryInstanceID"] == server["target_instance_id"]
    return {"b1": server["source_server_id"], "b3": server["target_instance_id"],
            "a1": server["source_instance_id"], "a1_ip": server["source_private_ip"], "estate": estate}
