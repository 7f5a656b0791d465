"""Failback between Regions (docs/DRS_BEHAVIOUR.md sections 6 and 7) and the recovery-instance rules.

Notation of section 7: A1 the original EC2 instance in the primary region, B1 its source server in the
recovery region, B3 the recovery instance (here the launch-into target), A2 the reversed (FAILBACK)
source server back in the primary region."""
from __future__ import annotations

import re

import pytest

from simlib import PRIMARY, RECOVERY, small_estate

# Simulated seconds per poll in sim.run_job: fewer round trips than the default 60.
POLL = 300

# Default replication timeline (config.Durations) of an 8 GiB server.
INITIATING = 120
INITIAL_SYNC = 200 * 8
CATCH_UP = 600


# ---------------------------------------------------------------------------------------- helpers
def _tags(item):
    return {t["Key"]: t["Value"] for t in item.get("Tags") or []}


def _instance(ec2, instance_id):
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def _server(drs, sid):
    (item,) = drs.describe_source_servers(filters={"sourceServerIDs": [sid]})["items"]
    return item


def _record(drs, instance_id):
    (item,) = drs.describe_recovery_instances(filters={"recoveryInstanceIDs": [instance_id]})["items"]
    return item


def _lag(server):
    text = server["dataReplicationInfo"].get("lagDuration")
    match = re.fullmatch(r"PT(\d+)S", text or "")
    assert match, text
    return int(match.group(1))


def _state(server):
    return server["dataReplicationInfo"]["dataReplicationState"]


def _arn_parts(arn):
    match = re.fullmatch(r"arn:aws:drs:([a-z0-9-]+):(\d{12}):source-server/(s-[0-9a-f]{17})", arn)
    assert match, arn
    return match.groups()


def _recover(sim, drs, sid, drill=False):
    job = drs.start_recovery(sourceServers=[{"sourceServerID": sid}], isDrill=drill)["job"]
    return sim.run_job(drs, job["jobID"], step=POLL)


def _launch_into(drs, sid, target):
    drs.update_launch_configuration(sourceServerID=sid, copyPrivateIp=False, copyTags=False,
                                    targetInstanceTypeRightSizingMethod="NONE", launchDisposition="STARTED",
                                    launchIntoInstanceProperties={"launchIntoEC2InstanceID": target})


# ---------------------------------------------------------------------------------------- reverse replication
def test_reverse_replication_creates_a_failback_server_that_syncs_over_time(sim, failed_over):
    west, east = sim.client("drs", region=RECOVERY), sim.client("drs", region=PRIMARY)
    b1, b3 = failed_over["b1"], failed_over["b3"]
    assert _record(west, b3)["failback"]["state"] == "FAILBACK_NOT_STARTED"

    arn = west.reverse_replication(recoveryInstanceID=b3)["reversedDirectionSourceServerArn"]
    region, account, a2 = _arn_parts(arn)
    assert (region, account) == (PRIMARY, "123456789012")
    server = _server(east, a2)
    assert server["arn"] == arn
    assert server["replicationDirection"] == "FAILBACK"
    assert server["sourceProperties"]["identificationHints"]["awsInstanceID"] == b3
    assert server["sourceCloudProperties"]["originRegion"] == RECOVERY
    assert _state(server) == "INITIATING"
    assert _server(west, b1)["reversedDirectionSourceServerArn"] == arn
    assert _record(west, b3)["failback"]["state"] == "FAILBACK_IN_PROGRESS"

    sim.advance(INITIATING + 60)
    assert _state(_server(east, a2)) == "INITIAL_SYNC"
    assert _record(west, b3)["failback"]["state"] == "FAILBACK_IN_PROGRESS"

    sim.advance(INITIAL_SYNC)   # just into CONTINUOUS, still catching up
    early = _server(east, a2)
    assert _state(early) == "CONTINUOUS"
    assert _record(west, b3)["failback"]["state"] == "FAILBACK_READY_FOR_LAUNCH"
    sim.advance(CATCH_UP / 2)
    middle = _server(east, a2)
    sim.advance(CATCH_UP)
    late = _server(east, a2)
    assert _state(late) == "CONTINUOUS"
    assert _lag(early) > _lag(middle) > _lag(late)
    assert _lag(late) < 60


def test_failback_brings_the_original_instance_back_and_reprotects_it(sim, failed_over):
    west, east = sim.client("drs", region=RECOVERY), sim.client("drs", region=PRIMARY)
    ec2_east, ec2_west = sim.client("ec2", region=PRIMARY), sim.client("ec2", region=RECOVERY)
    a1, b3 = failed_over["a1"], failed_over["b3"]
    arn = west.reverse_replication(recoveryInstanceID=b3)["reversedDirectionSourceServerArn"]
    a2 = _arn_parts(arn)[2]
    sim.advance(INITIATING + INITIAL_SYNC + CATCH_UP + 60)
    assert _state(_server(east, a2)) == "CONTINUOUS" and _lag(_server(east, a2)) < 60

    original = _instance(ec2_east, a1)
    old_volumes = {b["Ebs"]["VolumeId"] for b in original["BlockDeviceMappings"]}
    ec2_east.stop_instances(InstanceIds=[a1])
    ec2_east.create_tags(Resources=[a1], Tags=[{"Key": "AWSDRS", "Value": "AllowLaunchingIntoThisInstance"}])
    _launch_into(east, a2, a1)
    job = _recover(sim, east, a2)

    assert job["initiatedBy"] == "START_RECOVERY"
    (item,) = job["participatingServers"]
    assert (item["launchStatus"], item["recoveryInstanceID"]) == ("LAUNCHED", a1)
    back = _instance(ec2_east, a1)
    assert back["State"]["Name"] == "running"
    assert back["PrivateIpAddress"] == failed_over["a1_ip"]
    assert [n["NetworkInterfaceId"] for n in back["NetworkInterfaces"]] == \
        [n["NetworkInterfaceId"] for n in original["NetworkInterfaces"]]
    new_volumes = {b["Ebs"]["VolumeId"] for b in back["BlockDeviceMappings"]}
    assert new_volumes and not new_volumes & old_volumes
    for volume in ec2_east.describe_volumes(VolumeIds=list(new_volumes))["Volumes"]:
        assert _tags(volume)["drs:recovered-from"] == a2
    assert _record(east, a1)["sourceServerID"] == a2
    # Failing back never touches the recovery-region instance (it is a launched-into target).
    assert _instance(ec2_west, b3)["State"]["Name"] == "running"

    reprotect = east.reverse_replication(recoveryInstanceID=a1)["reversedDirectionSourceServerArn"]
    region, _, protector = _arn_parts(reprotect)
    assert region == RECOVERY
    server = _server(west, protector)
    assert server["sourceProperties"]["identificationHints"]["awsInstanceID"] == a1
    assert server["sourceCloudProperties"]["originRegion"] == PRIMARY
    # Re-protection replicates toward the recovery region: FAILOVER, not FAILBACK ([model] ReplicationDirection).
    assert server["replicationDirection"] == "FAILOVER"
    assert _state(server) == "INITIATING"
    assert _server(east, a2)["reversedDirectionSourceServerArn"] == reprotect
    # DRS resumes the original source server instead of adding a second one for the same instance.
    assert protector == failed_over["b1"]
    protecting_a1 = [s for s in west.describe_source_servers()["items"]
                     if s["sourceProperties"]["identificationHints"]["awsInstanceID"] == a1]
    assert [s["sourceServerID"] for s in protecting_a1] == [protector]


@pytest.mark.parametrize("behaviour", ["return_existing", "conflict"])
def test_repeated_reverse_replication(sim, failed_over, behaviour):
    west, east = sim.client("drs", region=RECOVERY), sim.client("drs", region=PRIMARY)
    sim.set_config(behaviour={"repeated_reverse_replication": behaviour})
    arn = west.reverse_replication(recoveryInstanceID=failed_over["b3"])["reversedDirectionSourceServerArn"]
    if behaviour == "return_existing":
        again = west.reverse_replication(recoveryInstanceID=failed_over["b3"])["reversedDirectionSourceServerArn"]
        assert again == arn
    else:
        with pytest.raises(west.exceptions.ConflictException) as caught:
            west.reverse_replication(recoveryInstanceID=failed_over["b3"])
        assert caught.value.response["resourceType"] == "RECOVERY_INSTANCE"
    failback = [s for s in east.describe_source_servers()["items"] if s["replicationDirection"] == "FAILBACK"]
    assert [s["arn"] for s in failback] == [arn]


def test_reverse_replication_needs_drs_initialised_in_the_origin_region(sim):
    ec2_east = sim.client("ec2", region=PRIMARY)
    image = next(i["ImageId"] for i in ec2_east.describe_images(
        Filters=[{"Name": "architecture", "Values": ["x86_64"]}])["Images"] if i.get("Platform") != "windows")
    a1 = ec2_east.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.medium")["Instances"][0]
    seeded = sim.control("POST", "source-servers", {"instance_id": a1["InstanceId"], "source_region": PRIMARY,
                                                    "recovery_region": RECOVERY})
    west, east = sim.client("drs", region=RECOVERY), sim.client("drs", region=PRIMARY)
    job = _recover(sim, west, seeded["sourceServerID"])
    recovery_instance = job["participatingServers"][0]["recoveryInstanceID"]
    with pytest.raises(east.exceptions.UninitializedAccountException):
        east.describe_source_servers()

    with pytest.raises(west.exceptions.UninitializedAccountException):
        west.reverse_replication(recoveryInstanceID=recovery_instance)
    assert _record(west, recovery_instance)["failback"]["state"] == "FAILBACK_NOT_STARTED"
    assert _server(west, seeded["sourceServerID"]).get("reversedDirectionSourceServerArn") is None

    east.initialize_service()
    arn = west.reverse_replication(recoveryInstanceID=recovery_instance)["reversedDirectionSourceServerArn"]
    assert _server(east, _arn_parts(arn)[2])["replicationDirection"] == "FAILBACK"


# ---------------------------------------------------------------------------------------- recovery instances
def test_disconnect_is_refused_once_reverse_replication_started_and_delete_keeps_ec2(sim, failed_over):
    west, ec2 = sim.client("drs", region=RECOVERY), sim.client("ec2", region=RECOVERY)
    b3 = failed_over["b3"]
    west.reverse_replication(recoveryInstanceID=b3)
    with pytest.raises(west.exceptions.ConflictException) as caught:
        west.disconnect_recovery_instance(recoveryInstanceID=b3)
    assert caught.value.response["resourceType"] == "RECOVERY_INSTANCE"
    assert _record(west, b3)["failback"]["state"] == "FAILBACK_IN_PROGRESS"

    west.delete_recovery_instance(recoveryInstanceID=b3)
    assert west.describe_recovery_instances()["items"] == []
    assert _instance(ec2, b3)["State"]["Name"] == "running"


def test_delete_recovery_instance_requires_disconnect_and_keeps_ec2(sim, failed_over):
    west, ec2 = sim.client("drs", region=RECOVERY), sim.client("ec2", region=RECOVERY)
    b1, b3 = failed_over["b1"], failed_over["b3"]
    with pytest.raises(west.exceptions.ConflictException) as caught:
        west.delete_recovery_instance(recoveryInstanceID=b3)
    assert caught.value.response["resourceType"] == "RECOVERY_INSTANCE"
    assert _record(west, b3)["recoveryInstanceID"] == b3

    west.disconnect_recovery_instance(recoveryInstanceID=b3)
    record = _record(west, b3)
    assert record["dataReplicationInfo"]["dataReplicationState"] == "DISCONNECTED"
    assert record["ec2InstanceState"] == "RUNNING"

    west.delete_recovery_instance(recoveryInstanceID=b3)
    assert west.describe_recovery_instances()["items"] == []
    assert _server(west, b1).get("recoveryInstanceId") is None
    assert _instance(ec2, b3)["State"]["Name"] == "running"


def test_terminate_recovery_instances_terminates_even_a_launched_into_target(sim, failed_over):
    # The dangerous call: it terminates the EC2 instance, here the pre-provisioned target (section 4).
    west, ec2 = sim.client("drs", region=RECOVERY), sim.client("ec2", region=RECOVERY)
    b1, b3 = failed_over["b1"], failed_over["b3"]
    job = west.terminate_recovery_instances(recoveryInstanceIDs=[b3])["job"]
    assert (job["type"], job["initiatedBy"], job["status"]) == ("TERMINATE", "TERMINATE_RECOVERY_INSTANCES", "PENDING")

    done = sim.run_job(west, job["jobID"], step=POLL)
    assert [(p["sourceServerID"], p["launchStatus"]) for p in done["participatingServers"]] == [(b1, "TERMINATED")]
    assert _instance(ec2, b3)["State"]["Name"] == "terminated"
    assert west.describe_recovery_instances()["items"] == []
    assert _server(west, b1).get("recoveryInstanceId") is None


# ---------------------------------------------------------------------------------------- replication
def test_stop_and_start_replication_change_the_replication_state(sim, failed_over):
    west = sim.client("drs", region=RECOVERY)
    b1 = failed_over["b1"]
    assert _state(_server(west, b1)) == "CONTINUOUS"

    stopped = west.stop_replication(sourceServerID=b1)["sourceServer"]
    assert _state(stopped) == "STOPPED"
    assert _state(_server(west, b1)) == "STOPPED"
    with pytest.raises(west.exceptions.ConflictException):
        west.stop_replication(sourceServerID=b1)

    started = west.start_replication(sourceServerID=b1)["sourceServer"]
    assert _state(started) == "INITIATING"
    with pytest.raises(west.exceptions.ConflictException):
        west.start_replication(sourceServerID=b1)
    sim.advance(INITIATING + 10)
    assert _state(_server(west, b1)) == "INITIAL_SYNC"
    sim.advance(INITIAL_SYNC)
    assert _state(_server(west, b1)) == "CONTINUOUS"


def test_recovery_of_a_server_that_never_finished_initial_sync_fails_at_snapshot(sim, failed_over):
    west, east = sim.client("drs", region=RECOVERY), sim.client("drs", region=PRIMARY)
    ec2_east = sim.client("ec2", region=PRIMARY)
    a1 = failed_over["a1"]
    arn = west.reverse_replication(recoveryInstanceID=failed_over["b3"])["reversedDirectionSourceServerArn"]
    a2 = _arn_parts(arn)[2]
    ec2_east.stop_instances(InstanceIds=[a1])
    ec2_east.create_tags(Resources=[a1], Tags=[{"Key": "AWSDRS", "Value": "AllowLaunchingIntoThisInstance"}])
    _launch_into(east, a2, a1)
    volumes = [b["Ebs"]["VolumeId"] for b in _instance(ec2_east, a1)["BlockDeviceMappings"]]

    job = _recover(sim, east, a2)   # the snapshot phase ends long before INITIAL_SYNC does
    assert job["status"] == "COMPLETED"
    assert job["participatingServers"][0]["launchStatus"] == "FAILED"
    events = [e["event"] for e in east.describe_job_log_items(jobID=job["jobID"])["items"]]
    assert events == ["JOB_START", "SNAPSHOT_START", "SNAPSHOT_FAIL", "JOB_END"]
    assert east.describe_recovery_snapshots(sourceServerID=a2)["items"] == []
    a1_now = _instance(ec2_east, a1)
    assert a1_now["State"]["Name"] == "stopped"
    assert [b["Ebs"]["VolumeId"] for b in a1_now["BlockDeviceMappings"]] == volumes
