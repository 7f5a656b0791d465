"""The simulator answers the calls that tools written for real DRS make, the way DRS answers them.

Configuration synchronizers and settings tools read a source server's replication configuration and hand it
back whole to UpdateReplicationConfiguration, and read and re-version its EC2 launch template (network
interface 0, a block device mapping per disk, instance and volume tag specifications); failback automation
reads stagingArea.stagingAccountID of every server, stops a failback, disconnects and deletes source servers,
and waits out the rescan that follows re-protection. Each test drives those calls through boto3 and checks
the state that results against the DRS API reference and the botocore model.
"""
from __future__ import annotations

import re

import pytest

from simlib import DEFAULT_ACCOUNT, PRIMARY, RECOVERY, small_estate

GIB = 1024 ** 3
POLL = 300
STAGING_ACCOUNT = "444455556666"


def _server(drs, sid):
    (item,) = drs.describe_source_servers(filters={"sourceServerIDs": [sid]})["items"]
    return item


def _state(server):
    return server["dataReplicationInfo"]["dataReplicationState"]


def _record(drs, instance_id):
    (item,) = drs.describe_recovery_instances(filters={"recoveryInstanceIDs": [instance_id]})["items"]
    return item


def _template_data(ec2, template_id, version="$Default"):
    versions = ec2.describe_launch_template_versions(LaunchTemplateId=template_id, Versions=[version])
    return versions["LaunchTemplateVersions"][0]["LaunchTemplateData"]


def _recover(sim, drs, sid, drill=False):
    job = drs.start_recovery(sourceServers=[{"sourceServerID": sid}], isDrill=drill)["job"]
    return sim.run_job(drs, job["jobID"], step=POLL)


def _launch_into(drs, sid, target):
    drs.update_launch_configuration(sourceServerID=sid, copyPrivateIp=False, copyTags=False,
                                    targetInstanceTypeRightSizingMethod="NONE",
                                    launchIntoInstanceProperties={"launchIntoEC2InstanceID": target})


def _model_members(shape_name):
    import botocore.session

    return set(botocore.session.get_session().get_service_model("drs").shape_for(shape_name).members)


@pytest.fixture
def servers(sim):
    estate = sim.load_estate(small_estate(2, 1))
    return list(estate["servers"].values())


# ------------------------------------------------------------------------------------------------ staging area
def test_a_server_that_is_not_extended_reports_its_own_account_as_staging_account(sim, servers):
    drs = sim.client("drs")
    for item in drs.describe_source_servers()["items"]:
        assert item["stagingArea"] == {"status": "NOT_EXTENDED", "stagingAccountID": DEFAULT_ACCOUNT}


def test_a_server_replicating_in_a_staging_account_reports_that_account(sim, servers):
    body = {"instance_id": servers[0]["source_instance_id"], "source_region": PRIMARY, "recovery_region": RECOVERY,
            "staging_account_id": STAGING_ACCOUNT, "account_id": STAGING_ACCOUNT}
    staged = sim.control("POST", "source-servers", body)
    staging = sim.client("drs", account=STAGING_ACCOUNT)
    item = _server(staging, staged["arn"].rsplit("/", 1)[1])
    assert item["stagingArea"]["stagingAccountID"] == STAGING_ACCOUNT
    assert item["stagingArea"]["status"] == "NOT_EXTENDED"
    extended = sim.client("drs").create_extended_source_server(sourceServerArn=staged["arn"])["sourceServer"]
    assert extended["stagingArea"] == {"status": "EXTENDED", "stagingAccountID": STAGING_ACCOUNT,
                                       "stagingSourceServerArn": staged["arn"]}


# ------------------------------------------------------------------------------------------------ launch template
def test_the_ec2_launch_template_carries_network_disks_and_tag_specifications(sim, servers):
    drs, ec2 = sim.client("drs"), sim.client("ec2")
    for entry in servers:
        server = _server(drs, entry["source_server_id"])
        template_id = drs.get_launch_configuration(sourceServerID=server["sourceServerID"])["ec2LaunchTemplateID"]
        data = _template_data(ec2, template_id)
        (nic,) = data["NetworkInterfaces"]
        assert nic["DeviceIndex"] == 0 and nic["AssociatePublicIpAddress"] is False
        (subnet,) = ec2.describe_subnets(SubnetIds=[nic["SubnetId"]])["Subnets"]
        assert subnet["AvailabilityZone"].startswith(RECOVERY)
        disks = server["sourceProperties"]["disks"]
        assert [m["DeviceName"] for m in data["BlockDeviceMappings"]] == [d["deviceName"] for d in disks]
        for mapping, disk in zip(data["BlockDeviceMappings"], disks):
            assert mapping["Ebs"]["VolumeSize"] == -(-disk["bytes"] // GIB)
            assert mapping["Ebs"]["VolumeType"] == "gp3"
        specs = {spec["ResourceType"]: {t["Key"]: t["Value"] for t in spec["Tags"]}
                 for spec in data["TagSpecifications"]}
        assert set(specs) == {"instance", "volume"}
        assert specs["instance"]["AWSElasticDisasterRecoverySourceServerID"] == server["sourceServerID"]
        assert data["ImageId"] and data["InstanceType"]


def test_a_new_default_template_version_is_what_a_drill_launches(sim, servers):
    """The synchronizer's way of changing launch settings: a new version made the default."""
    drs, ec2 = sim.client("drs"), sim.client("ec2")
    sid = servers[0]["source_server_id"]
    template_id = drs.get_launch_configuration(sourceServerID=sid)["ec2LaunchTemplateID"]
    data = _template_data(ec2, template_id)
    data["InstanceType"] = "c5.xlarge"
    version = ec2.create_launch_template_version(LaunchTemplateId=template_id, LaunchTemplateData=data,
                                                 SourceVersion="$Default")["LaunchTemplateVersion"]["VersionNumber"]
    ec2.modify_launch_template(LaunchTemplateId=template_id, DefaultVersion=str(version))
    job = _recover(sim, drs, sid, drill=True)
    (item,) = job["participatingServers"]
    assert item["launchStatus"] == "LAUNCHED", item
    instance = ec2.describe_instances(InstanceIds=[item["recoveryInstanceID"]])["Reservations"][0]["Instances"][0]
    assert instance["InstanceType"] == "c5.xlarge"
    assert instance["SubnetId"] == data["NetworkInterfaces"][0]["SubnetId"]


def test_launch_into_does_not_depend_on_the_template(sim, servers):
    """Emptying the template's network and disks changes nothing for a launch into the target (section 4)."""
    drs, ec2 = sim.client("drs"), sim.client("ec2")
    entry = servers[0]
    template_id = drs.get_launch_configuration(sourceServerID=entry["source_server_id"])["ec2LaunchTemplateID"]
    version = ec2.create_launch_template_version(LaunchTemplateId=template_id, LaunchTemplateData={
        "InstanceType": "t3.nano"})["LaunchTemplateVersion"]["VersionNumber"]
    ec2.modify_launch_template(LaunchTemplateId=template_id, DefaultVersion=str(version))
    _launch_into(drs, entry["source_server_id"], entry["target_instance_id"])
    job = _recover(sim, drs, entry["source_server_id"], drill=True)
    (item,) = job["participatingServers"]
    assert (item["launchStatus"], item["recoveryInstanceID"]) == ("LAUNCHED", entry["target_instance_id"])
    target = ec2.describe_instances(InstanceIds=[entry["target_instance_id"]])["Reservations"][0]["Instances"][0]
    assert target["InstanceType"] != "t3.nano"


# ------------------------------------------------------------------------------------------------ replication config
def test_get_replication_configuration_reports_every_member_of_the_model(sim, servers):
    drs, ec2 = sim.client("drs"), sim.client("ec2")
    config = drs.get_replication_configuration(sourceServerID=servers[0]["source_server_id"])
    config.pop("ResponseMetadata")
    # ebsEncryptionKeyArn belongs only to ebsEncryption CUSTOM.
    assert set(config) == _model_members("ReplicationConfiguration") - {"ebsEncryptionKeyArn"}
    assert ec2.describe_subnets(SubnetIds=[config["stagingAreaSubnetId"]])["Subnets"]
    for disk in config["replicatedDisks"]:
        assert set(disk) == _model_members("ReplicationConfigurationReplicatedDisk")


def test_replication_configuration_round_trip_as_settings_tools_make_it(sim, servers):
    drs, ec2 = sim.client("drs"), sim.client("ec2")
    sid = servers[0]["source_server_id"]
    config = drs.get_replication_configuration(sourceServerID=sid)
    config.pop("ResponseMetadata")
    other_subnet = next(s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]
                        if s["SubnetId"] != config["stagingAreaSubnetId"])
    group = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
    config.update(stagingAreaSubnetId=other_subnet, bandwidthThrottling=100, createPublicIP=True,
                  replicationServersSecurityGroupsIDs=[group], associateDefaultSecurityGroup=False,
                  ebsEncryption="CUSTOM", ebsEncryptionKeyArn="arn:aws:kms:us-west-2:123456789012:key/abcd",
                  stagingAreaTags={"cost-centre": "dr"})
    config["pitPolicy"][-1]["retentionDuration"] = 3  # the DAY rule, as the settings tool edits it
    config["replicatedDisks"][0]["stagingDiskType"] = "ST1"
    drs.update_replication_configuration(**config)
    got = drs.get_replication_configuration(sourceServerID=sid)
    assert got["stagingAreaSubnetId"] == other_subnet
    assert (got["bandwidthThrottling"], got["createPublicIP"], got["ebsEncryption"]) == (100, True, "CUSTOM")
    assert got["ebsEncryptionKeyArn"].endswith("key/abcd")
    assert got["replicationServersSecurityGroupsIDs"] == [group]
    assert got["stagingAreaTags"] == {"cost-centre": "dr"}
    assert [(r["units"], r["retentionDuration"]) for r in got["pitPolicy"]] == [("MINUTE", 60), ("HOUR", 24), ("DAY", 3)]
    assert got["replicatedDisks"][0]["stagingDiskType"] == "ST1"
    assert "optimizedStagingDiskType" not in got["replicatedDisks"][0]
    other = drs.get_replication_configuration(sourceServerID=servers[1]["source_server_id"])
    assert other["bandwidthThrottling"] == 0, "another server's settings must not change"


@pytest.mark.parametrize("change, field", [
    ({"stagingAreaSubnetId": "subnet-0123456789abcdef0"}, "stagingAreaSubnetId"),
    ({"replicationServersSecurityGroupsIDs": ["sg-0123456789abcdef0"]}, "replicationServersSecurityGroupsIDs[0]"),
    ({"replicatedDisks": [{"deviceName": "/dev/sdz", "isBootDisk": False, "stagingDiskType": "GP3"}]},
     "replicatedDisks[0].deviceName"),
    ({"ebsEncryption": "CUSTOM"}, "ebsEncryptionKeyArn"),
])
def test_update_replication_configuration_refuses_bad_values_without_change(sim, servers, change, field):
    drs = sim.client("drs")
    sid = servers[0]["source_server_id"]
    before = drs.get_replication_configuration(sourceServerID=sid)
    with pytest.raises(drs.exceptions.ValidationException) as raised:
        drs.update_replication_configuration(sourceServerID=sid, bandwidthThrottling=10, **change)
    assert field in [item["name"] for item in raised.value.response["fieldList"]]
    assert sid in raised.value.response["Error"]["Message"]
    after = drs.get_replication_configuration(sourceServerID=sid)
    before.pop("ResponseMetadata"), after.pop("ResponseMetadata")
    assert after == before


def test_update_replication_configuration_of_an_unknown_server_is_not_found(sim, servers):
    drs = sim.client("drs")
    with pytest.raises(drs.exceptions.ResourceNotFoundException):
        drs.update_replication_configuration(sourceServerID="s-0123456789abcdef0", bandwidthThrottling=1)


# ------------------------------------------------------------------------------------------------ disconnect / delete
def test_disconnect_source_server_stops_replication_and_clears_its_figures(sim, servers):
    drs = sim.client("drs")
    sid = servers[0]["source_server_id"]
    result = drs.disconnect_source_server(sourceServerID=sid)
    assert result["sourceServerID"] == sid
    for item in (result, _server(drs, sid)):
        info = item["dataReplicationInfo"]
        assert info["dataReplicationState"] == "DISCONNECTED"
        assert "lagDuration" not in info and "etaDateTime" not in info
        assert [d["totalStorageBytes"] for d in info["replicatedDisks"]] == [0] * len(info["replicatedDisks"])
    sim.advance(3600)
    assert _state(_server(drs, sid)) == "DISCONNECTED"
    assert _state(_server(drs, servers[1]["source_server_id"])) == "CONTINUOUS"


def test_a_source_server_with_a_recovery_instance_cannot_be_disconnected(sim, servers):
    drs = sim.client("drs")
    sid = servers[0]["source_server_id"]
    job = _recover(sim, drs, sid, drill=True)
    instance_id = job["participatingServers"][0]["recoveryInstanceID"]
    with pytest.raises(drs.exceptions.ConflictException) as raised:
        drs.disconnect_source_server(sourceServerID=sid)
    assert raised.value.response["resourceType"] == "SOURCE_SERVER" and instance_id in str(raised.value)
    assert _state(_server(drs, sid)) == "CONTINUOUS"
    drs.disconnect_recovery_instance(recoveryInstanceID=instance_id)
    drs.delete_recovery_instance(recoveryInstanceID=instance_id)
    assert _state(drs.disconnect_source_server(sourceServerID=sid)) == "DISCONNECTED"


def test_delete_source_server_only_after_disconnect(sim, servers):
    drs = sim.client("drs")
    sid = servers[0]["source_server_id"]
    with pytest.raises(drs.exceptions.ConflictException) as raised:
        drs.delete_source_server(sourceServerID=sid)
    assert raised.value.response["resourceId"] == sid
    assert _server(drs, sid)["sourceServerID"] == sid
    drs.disconnect_source_server(sourceServerID=sid)
    drs.delete_source_server(sourceServerID=sid)
    assert [s["sourceServerID"] for s in drs.describe_source_servers()["items"]] == [servers[1]["source_server_id"]]
    with pytest.raises(drs.exceptions.ResourceNotFoundException):
        drs.get_launch_configuration(sourceServerID=sid)
    with pytest.raises(drs.exceptions.ResourceNotFoundException):
        drs.delete_source_server(sourceServerID=sid)


# ------------------------------------------------------------------------------------------------ failback
def test_stop_failback_returns_the_instance_to_failback_not_started(sim, failed_over):
    west, east = sim.client("drs", region=RECOVERY), sim.client("drs", region=PRIMARY)
    b3 = failed_over["b3"]
    arn = west.reverse_replication(recoveryInstanceID=b3)["reversedDirectionSourceServerArn"]
    a2 = arn.rsplit("/", 1)[1]
    sim.advance(600)
    assert _record(west, b3)["failback"]["state"] == "FAILBACK_IN_PROGRESS"
    west.stop_failback(recoveryInstanceID=b3)
    assert _record(west, b3)["failback"]["state"] == "FAILBACK_NOT_STARTED"
    assert _state(_server(east, a2)) == "STOPPED"
    # Stopping twice changes nothing (the model gives StopFailback no ConflictException).
    west.stop_failback(recoveryInstanceID=b3)
    assert _record(west, b3)["failback"]["state"] == "FAILBACK_NOT_STARTED"
    # A new ReverseReplication resumes the same FAILBACK server.
    assert west.reverse_replication(recoveryInstanceID=b3)["reversedDirectionSourceServerArn"] == arn
    assert _state(_server(east, a2)) == "INITIATING"
    with pytest.raises(west.exceptions.ResourceNotFoundException):
        west.stop_failback(recoveryInstanceID="i-0123456789abcdef0")


def test_reprotection_rescans_in_time_proportional_to_disk_size(sim, failed_over):
    west, east = sim.client("drs", region=RECOVERY), sim.client("drs", region=PRIMARY)
    ec2_east = sim.client("ec2", region=PRIMARY)
    a1, b3 = failed_over["a1"], failed_over["b3"]
    # A rate of its own, so the rescan's length is seen to come from the configuration.
    durations = sim.set_config(durations={"rescan_per_gib": 37.0})["durations"]
    a2 = west.reverse_replication(recoveryInstanceID=b3)["reversedDirectionSourceServerArn"].rsplit("/", 1)[1]
    sim.advance(durations["replication_initiating"] + 8 * durations["initial_sync_per_gib"] + durations["catch_up"])
    assert _state(_server(east, a2)) == "CONTINUOUS"
    ec2_east.stop_instances(InstanceIds=[a1])
    ec2_east.create_tags(Resources=[a1], Tags=[{"Key": "AWSDRS", "Value": "AllowLaunchingIntoThisInstance"}])
    _launch_into(east, a2, a1)
    assert _recover(sim, east, a2)["participatingServers"][0]["launchStatus"] == "LAUNCHED"

    protector = east.reverse_replication(recoveryInstanceID=a1)["reversedDirectionSourceServerArn"]
    assert protector.endswith("/" + failed_over["b1"])
    b1 = failed_over["b1"]
    sim.advance(durations["replication_initiating"] + 1)
    seen = []
    rescan = durations["rescan_per_gib"] * _server(west, b1)["sourceProperties"]["disks"][0]["bytes"] / GIB
    for _ in range(4):
        server = _server(west, b1)
        assert _state(server) == "RESCAN", server["dataReplicationInfo"]
        (disk,) = server["dataReplicationInfo"]["replicatedDisks"]
        assert disk["replicatedStorageBytes"] == disk["totalStorageBytes"] > 0
        seen.append(disk["rescannedStorageBytes"])
        sim.advance(rescan / 5)
    assert seen == sorted(seen) and seen[0] < seen[-1] < disk["totalStorageBytes"]
    sim.advance(rescan / 5)
    server = _server(west, b1)
    assert _state(server) == "CONTINUOUS"
    assert re.fullmatch(r"PT\d+S", server["dataReplicationInfo"]["lagDuration"])


def test_the_new_states_fit_the_model_on_the_wire(sim, failed_over):
    """RESCAN, DISCONNECTED, a stopped failback and a CUSTOM-encrypted configuration, as raw bodies."""
    from test_conformance import assert_success_wire, recorded_client

    west, west_wire = recorded_client(sim, region=RECOVERY)
    east, east_wire = recorded_client(sim, region=PRIMARY)
    ec2_east = sim.client("ec2", region=PRIMARY)
    a1, b1, b3 = failed_over["a1"], failed_over["b1"], failed_over["b3"]
    a2 = west.reverse_replication(recoveryInstanceID=b3)["reversedDirectionSourceServerArn"].rsplit("/", 1)[1]
    sim.advance(3000)
    ec2_east.stop_instances(InstanceIds=[a1])
    ec2_east.create_tags(Resources=[a1], Tags=[{"Key": "AWSDRS", "Value": "AllowLaunchingIntoThisInstance"}])
    _launch_into(east, a2, a1)
    assert _recover(sim, east, a2)["participatingServers"][0]["launchStatus"] == "LAUNCHED"
    east.reverse_replication(recoveryInstanceID=a1)
    sim.advance(200)
    assert _state(_server(west, b1)) == "RESCAN"
    east.describe_recovery_instances()
    east.stop_failback(recoveryInstanceID=a1)
    east.describe_recovery_instances()
    config = west.get_replication_configuration(sourceServerID=b1)
    config.pop("ResponseMetadata")
    west.update_replication_configuration(**dict(config, ebsEncryption="CUSTOM",
                                                 ebsEncryptionKeyArn="arn:aws:kms:us-west-2:123456789012:key/k1"))
    west.get_replication_configuration(sourceServerID=b1)
    east.describe_source_servers()
    # B3 is a launched-into target: its record is deleted (allowed while it replicates back), never terminated.
    west.delete_recovery_instance(recoveryInstanceID=b3)
    west.disconnect_source_server(sourceServerID=b1)
    west.describe_source_servers()
    west.delete_source_server(sourceServerID=b1)
    captured = west_wire.responses + east_wire.responses
    assert len(captured) >= 15
    assert_success_wire(*captured)
