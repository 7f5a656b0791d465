"""The simulator starts, builds an estate, and serves DRS and EC2 on one endpoint."""

import time


def test_estate_is_built_and_served(sim, estate):
    drs = sim.client("drs")
    servers = drs.describe_source_servers()["items"]
    assert {s["sourceServerID"] for s in servers} == {e["source_server_id"] for e in estate["servers"].values()}
    ec2 = sim.client("ec2")
    ids = [e["target_instance_id"] for e in estate["servers"].values()]
    found = ec2.describe_instances(InstanceIds=ids)["Reservations"]
    states = {i["InstanceId"]: i["State"]["Name"] for r in found for i in r["Instances"]}
    assert states == {i: "stopped" for i in ids}


def test_request_log_records_service_and_mutation(sim, estate):
    sim.clear_requests()
    drs = sim.client("drs")
    drs.describe_source_servers()
    server_id = next(iter(estate["servers"].values()))["source_server_id"]
    drs.update_launch_configuration(sourceServerID=server_id, copyTags=False)
    log = sim.requests(service="drs")
    assert [(r["operation"], r["mutating"], r["status"]) for r in log] == [
        ("DescribeSourceServers", False, 200), ("UpdateLaunchConfiguration", True, 200)]


def test_request_log_records_serving_seconds(sim, estate):
    """Each entry carries the seconds the simulator spent serving it: more than nothing, and never more than the
    client waited for the answer (moto's EC2 and the DRS model alike)."""
    sim.clear_requests()
    started = time.perf_counter()
    sim.client("drs").describe_source_servers()
    sim.client("ec2").describe_instances()
    waited = time.perf_counter() - started
    log = sim.requests()
    assert [r["service"] for r in log] == ["drs", "ec2"]
    assert all(isinstance(r["seconds"], float) and r["seconds"] > 0 for r in log)
    assert sum(r["seconds"] for r in log) < waited
