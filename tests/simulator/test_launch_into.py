"""Launch into an existing instance (docs/DRS_BEHAVIOUR.md section 4) and launches of new instances.

A successful launch-into keeps the target's identity (instance ID, network interface, private IP) and
swaps its volumes; each launch-into precondition failing on its own ends the server with LAUNCH_FAILED,
a rawError naming it, and the target untouched."""
from __future__ import annotations

import pytest
import requests

from simlib import small_estate

# Simulated seconds per poll in sim.run_job: fewer round trips than the default 60.
POLL = 300

MISSING_INSTANCE = "i-0123456789abcdef0"


# ---------------------------------------------------------------------------------------- helpers
def _tags(item):
    return {t["Key"]: t["Value"] for t in item.get("Tags") or []}


def _instance(ec2, instance_id):
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def _instance_ids(ec2):
    return {i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]}


def _volumes(ec2, volume_ids):
    return {v["VolumeId"]: v for v in ec2.describe_volumes(VolumeIds=list(volume_ids))["Volumes"]}


def _snapshot(ec2, instance_id):
    """What must not change on a target a launch did not use."""
    instance = _instance(ec2, instance_id)
    return {
        "state": instance["State"]["Name"],
        "volumes": sorted((b["DeviceName"], b["Ebs"]["VolumeId"]) for b in instance["BlockDeviceMappings"]),
        "eni": [n["NetworkInterfaceId"] for n in instance["NetworkInterfaces"]],
        "ip": instance["PrivateIpAddress"],
        "type": instance["InstanceType"],
        "groups": sorted(g["GroupId"] for g in instance["SecurityGroups"]),
        "tags": _tags(instance),
    }


def _launch_into(drs, sid, target, **overrides):
    settings = {"copyPrivateIp": False, "copyTags": False, "targetInstanceTypeRightSizingMethod": "NONE",
                "launchDisposition": "STARTED", "licensing": {"osByol": False}}
    settings.update(overrides)
    return drs.update_launch_configuration(sourceServerID=sid, **settings,
                                           launchIntoInstanceProperties={"launchIntoEC2InstanceID": target})


def _recover(sim, drs, sid, drill=False):
    job = drs.start_recovery(sourceServers=[{"sourceServerID": sid}], isDrill=drill)["job"]
    return sim.run_job(drs, job["jobID"], step=POLL)


def _log(drs, job_id, event):
    return [e for e in drs.describe_job_log_items(jobID=job_id)["items"] if e["event"] == event]


def _set_template_default(ec2, template_id, **data):
    """A new default version of the server's EC2 launch template with the given data merged in."""
    current = ec2.describe_launch_template_versions(LaunchTemplateId=template_id)["LaunchTemplateVersions"]
    latest = max(current, key=lambda v: v["VersionNumber"])["LaunchTemplateData"]
    version = ec2.create_launch_template_version(LaunchTemplateId=template_id,
                                                 LaunchTemplateData={**latest, **data})["LaunchTemplateVersion"]
    ec2.modify_launch_template(LaunchTemplateId=template_id, DefaultVersion=str(version["VersionNumber"]))
    return version


# ---------------------------------------------------------------------------------------- success
@pytest.mark.parametrize("server_overrides, disposition, launch_overrides, state", [
    ({}, "STARTED", {}, "running"),
    ({}, "STOPPED", {}, "stopped"),
    ({"disks_gib": [8, 20]}, "STARTED", {}, "running"),
    ({"platform": "windows"}, "STARTED", {}, "running"),
    ({}, "STARTED", {"licensing": {"osByol": True}}, "running"),   # BYOL is fine for Linux
], ids=["started", "stopped", "two-disks", "windows", "linux-byol"])
def test_launch_into_keeps_target_identity_and_swaps_volumes(sim, server_overrides, disposition,
                                                             launch_overrides, state):
    estate = sim.load_estate(small_estate(1, 1, **{"db-01": server_overrides}))
    server = estate["servers"]["db-01"]
    sid, target = server["source_server_id"], server["target_instance_id"]
    drs, ec2 = sim.client("drs"), sim.client("ec2")
    before = _snapshot(ec2, target)
    old_volumes = {v for _, v in before["volumes"]}
    instances_before = _instance_ids(ec2)
    _launch_into(drs, sid, target, launchDisposition=disposition, **launch_overrides)

    job = _recover(sim, drs, sid)
    (item,) = job["participatingServers"]
    assert (item["launchStatus"], item["recoveryInstanceID"]) == ("LAUNCHED", target)
    assert _log(drs, job["jobID"], "LAUNCH_START")[0]["eventData"]["targetInstanceID"] == target
    assert _instance_ids(ec2) == instances_before   # no new instance

    after = _snapshot(ec2, target)
    assert after["state"] == state
    assert after["ip"] == server["target_private_ip"]
    # The recovery instance is the target: same ENI, IP, security groups, instance type and tags (section 4).
    assert {k: after[k] for k in ("eni", "ip", "groups", "type", "tags")} == \
        {k: before[k] for k in ("eni", "ip", "groups", "type", "tags")}
    new_volumes = {v for _, v in after["volumes"]}
    assert [d for d, _ in after["volumes"]] == [d for d, _ in before["volumes"]]
    assert not new_volumes & old_volumes
    for volume in _volumes(ec2, new_volumes).values():
        assert _tags(volume)["drs:recovered-from"] == sid
        assert volume["Attachments"][0]["InstanceId"] == target
    for volume in _volumes(ec2, old_volumes).values():
        assert volume["State"] == "available"
        assert volume["Attachments"] == []
        assert _tags(volume)["drs:replaced-on-instance"] == target

    (record,) = sim.client("drs").describe_recovery_instances()["items"]
    assert record["recoveryInstanceID"] == record["ec2InstanceID"] == target
    assert record["sourceServerID"] == sid
    assert record["ec2InstanceState"] == state.upper()
    assert record["recoveryInstanceProperties"]["networkInterfaces"][0]["ips"] == [server["target_private_ip"]]
    assert {d["ebsVolumeID"] for d in record["recoveryInstanceProperties"]["disks"]} == new_volumes
    (described,) = drs.describe_source_servers(filters={"sourceServerIDs": [sid]})["items"]
    assert described["recoveryInstanceId"] == target


def test_second_launch_into_the_same_target_swaps_volumes_again(sim):
    estate = sim.load_estate(small_estate(1, 1))
    server = estate["servers"]["db-01"]
    sid, target = server["source_server_id"], server["target_instance_id"]
    drs, ec2 = sim.client("drs"), sim.client("ec2")
    _launch_into(drs, sid, target)
    _recover(sim, drs, sid, drill=True)
    first = {v for _, v in _snapshot(ec2, target)["volumes"]}

    ec2.stop_instances(InstanceIds=[target])
    job = _recover(sim, drs, sid, drill=True)
    assert job["participatingServers"][0]["recoveryInstanceID"] == target
    after = _snapshot(ec2, target)
    assert after["state"] == "running"
    assert not {v for _, v in after["volumes"]} & first
    assert {v["State"] for v in _volumes(ec2, first).values()} == {"available"}
    assert [r["jobID"] for r in drs.describe_recovery_instances()["items"]] == [job["jobID"]]


# ---------------------------------------------------------------------------------------- preconditions
def _retarget_missing(ec2, server):
    return MISSING_INSTANCE


def _retarget_other_region(ec2, server):
    # The source instance exists, but in the primary region, not in the recovery job's region.
    return server["source_instance_id"]


def _start_target(ec2, server):
    ec2.start_instances(InstanceIds=[server["target_instance_id"]])
    return None


def _change_architecture(ec2, server):
    # Real EC2 cannot change an instance's architecture; moto's ModifyInstanceAttribute sets any attribute,
    # which stands in for "the target was rebuilt as arm64 after the launch configuration was set".
    ec2.modify_instance_attribute(InstanceId=server["target_instance_id"], Attribute="architecture", Value="arm64")
    assert _instance(ec2, server["target_instance_id"])["Architecture"] == "arm64"
    return None


# case: (estate overrides for db-01, change made after configuring, launch configuration overrides,
#        words the LAUNCH_FAILED rawError must contain). Each case breaks exactly one rule of section 4.
FAILURES = {
    "wrong-id": ({}, _retarget_missing, {}, "does not exist"),
    "other-region": ({}, _retarget_other_region, {}, "does not exist"),
    "untagged": ({"target": {"tag": False}}, None, {}, "AWSDRS=AllowLaunchingIntoThisInstance"),
    "running": ({}, _start_target, {}, "must be stopped"),
    "architecture-changed": ({}, _change_architecture, {}, "configuration mismatch: Architecture"),
    "arm64-pair": ({"architecture": "arm64"}, None, {}, "x86_64"),
    "platform": ({"target": {"platform": "windows"}}, None, {}, "configuration mismatch: Platform"),
    "linux-uefi": ({"target": {"boot_mode": "uefi"}}, None, {}, "Boot mode"),
    "windows-boot-mode": ({"platform": "windows", "target": {"boot_mode": "uefi"}}, None, {}, "Boot mode"),
    "copy-private-ip": ({}, None, {"copyPrivateIp": True}, "copyPrivateIp"),
    "copy-tags": ({}, None, {"copyTags": True}, "copyTags"),
    "windows-byol": ({"platform": "windows"}, None, {"licensing": {"osByol": True}}, "BYOL"),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_each_failed_launch_into_precondition_is_launch_failed_and_leaves_target_untouched(sim, case):
    server_overrides, change, launch_overrides, reason = FAILURES[case]
    estate = sim.load_estate(small_estate(1, 1, **{"db-01": server_overrides}))
    server = estate["servers"]["db-01"]
    sid, target = server["source_server_id"], server["target_instance_id"]
    drs, ec2 = sim.client("drs"), sim.client("ec2")
    _launch_into(drs, sid, target, **launch_overrides)
    launch_into_id = target
    if change:
        retarget = change(ec2, server)
        if retarget:
            launch_into_id = retarget
            _launch_into(drs, sid, retarget, **launch_overrides)
    before = _snapshot(ec2, target)
    instances_before = _instance_ids(ec2)

    job = _recover(sim, drs, sid)
    assert job["status"] == "COMPLETED"
    (item,) = job["participatingServers"]
    assert item["launchStatus"] == "FAILED"
    assert "recoveryInstanceID" not in item
    (failed,) = _log(drs, job["jobID"], "LAUNCH_FAILED")
    assert failed["eventData"]["sourceServerID"] == sid
    assert reason in failed["eventData"]["rawError"]
    assert launch_into_id in failed["eventData"]["rawError"]

    assert _snapshot(ec2, target) == before
    assert _instance_ids(ec2) == instances_before
    assert drs.describe_recovery_instances()["items"] == []
    (described,) = drs.describe_source_servers(filters={"sourceServerIDs": [sid]})["items"]
    assert described["lastLaunchResult"] == "FAILED"


def test_update_launch_configuration_refuses_an_architecture_mismatch(sim):
    estate = sim.load_estate(small_estate(1, 1, **{"db-01": {"target": {"architecture": "arm64"}}}))
    server = estate["servers"]["db-01"]
    sid, target = server["source_server_id"], server["target_instance_id"]
    drs = sim.client("drs")
    with pytest.raises(drs.exceptions.ValidationException) as caught:
        _launch_into(drs, sid, target)
    assert "configuration mismatch: Architecture" in caught.value.response["Error"]["Message"]
    config = drs.get_launch_configuration(sourceServerID=sid)
    assert not (config.get("launchIntoInstanceProperties") or {}).get("launchIntoEC2InstanceID")


# ---------------------------------------------------------------------------------------- new instances
def test_without_launch_into_a_new_instance_is_launched_from_the_launch_template(sim):
    estate = sim.load_estate(small_estate(1, 1))
    server = estate["servers"]["db-01"]
    sid, target = server["source_server_id"], server["target_instance_id"]
    drs, ec2 = sim.client("drs"), sim.client("ec2")
    template_id = drs.get_launch_configuration(sourceServerID=sid)["ec2LaunchTemplateID"]
    _set_template_default(ec2, template_id, InstanceType="c5.xlarge")
    target_before = _snapshot(ec2, target)

    job = _recover(sim, drs, sid)
    (item,) = job["participatingServers"]
    assert item["launchStatus"] == "LAUNCHED"
    new_id = item["recoveryInstanceID"]
    assert new_id not in (target, server["source_instance_id"])
    instance = _instance(ec2, new_id)
    assert instance["InstanceType"] == "c5.xlarge"
    assert instance["State"]["Name"] == "running"
    tags = _tags(instance)
    assert tags["AWSElasticDisasterRecoveryManaged"] == "drs.amazonaws.com"
    assert tags["AWSElasticDisasterRecoverySourceServerID"] == sid
    recovered = _volumes(ec2, [b["Ebs"]["VolumeId"] for b in instance["BlockDeviceMappings"]])
    assert recovered and {_tags(v).get("drs:recovered-from") for v in recovered.values()} == {sid}
    assert _snapshot(ec2, target) == target_before


@pytest.mark.parametrize("disposition, state", [("STARTED", "running"), ("STOPPED", "stopped")])
def test_new_instance_honours_launch_disposition_and_copy_tags(sim, disposition, state):
    estate = sim.load_estate(small_estate(1, 1))
    server = estate["servers"]["db-01"]
    sid = server["source_server_id"]
    drs, ec2 = sim.client("drs"), sim.client("ec2")
    drs.update_launch_configuration(sourceServerID=sid, copyTags=True, launchDisposition=disposition)

    job = _recover(sim, drs, sid)
    instance = _instance(ec2, job["participatingServers"][0]["recoveryInstanceID"])
    assert instance["State"]["Name"] == state
    source_tags = _tags(_instance(sim.client("ec2", region="us-east-1"), server["source_instance_id"]))
    assert source_tags["Name"] == "db-01"
    tags = _tags(instance)
    assert {k: tags.get(k) for k in source_tags} == source_tags
    assert tags["AWSElasticDisasterRecoverySourceServerID"] == sid


def test_copy_private_ip_gives_the_new_instance_the_source_ip(sim):
    estate = sim.load_estate(small_estate(1, 1, **{"db-01": {"target": {"create": False}}}))
    server = estate["servers"]["db-01"]
    sid = server["source_server_id"]
    subnet = estate["subnets"]["db-recovery"]
    drs, ec2 = sim.client("drs"), sim.client("ec2")
    template_id = drs.get_launch_configuration(sourceServerID=sid)["ec2LaunchTemplateID"]
    _set_template_default(ec2, template_id, NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet}])
    drs.update_launch_configuration(sourceServerID=sid, copyPrivateIp=True)

    job = _recover(sim, drs, sid)
    (item,) = job["participatingServers"]
    assert item["launchStatus"] == "LAUNCHED"
    instance = _instance(ec2, item["recoveryInstanceID"])
    assert instance["SubnetId"] == subnet
    assert instance["PrivateIpAddress"] == server["source_private_ip"]


def test_copy_private_ip_already_in_use_is_launch_failed_and_the_simulator_keeps_serving(sim):
    # The generated estate gives each target the source's IP, so the source IP is taken in the subnet.
    estate = sim.load_estate(small_estate(1, 1))
    server = estate["servers"]["db-01"]
    sid, target = server["source_server_id"], server["target_instance_id"]
    assert server["target_private_ip"] == server["source_private_ip"]
    subnet = estate["subnets"]["db-recovery"]
    drs, ec2 = sim.client("drs"), sim.client("ec2")
    template_id = drs.get_launch_configuration(sourceServerID=sid)["ec2LaunchTemplateID"]
    _set_template_default(ec2, template_id, NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet}])
    drs.update_launch_configuration(sourceServerID=sid, copyPrivateIp=True)
    instances_before = _instance_ids(ec2)
    target_before = _snapshot(ec2, target)

    job = _recover(sim, drs, sid)
    assert job["status"] == "COMPLETED"
    assert job["participatingServers"][0]["launchStatus"] == "FAILED"
    (failed,) = _log(drs, job["jobID"], "LAUNCH_FAILED")
    assert server["source_private_ip"] in failed["eventData"]["rawError"]
    assert "in use" in failed["eventData"]["rawError"]
    assert _instance_ids(ec2) == instances_before
    assert _snapshot(ec2, target) == target_before

    assert requests.get(f"{sim.url}/_simulator/health", timeout=10).json()["status"] == "ok"
    drs.update_launch_configuration(sourceServerID=sid, copyPrivateIp=False)
    retry = _recover(sim, drs, sid)
    assert retry["participatingServers"][0]["launchStatus"] == "LAUNCHED"
    instance = _instance(ec2, retry["participatingServers"][0]["recoveryInstanceID"])
    assert instance["SubnetId"] == subnet
    assert instance["PrivateIpAddress"] != server["source_private_ip"]
