"""An estate built the way a user scripts one, with plain boto3 calls only, fails over and back with the collection's
playbooks: a VPC and subnet in each region, instances run WITHOUT SecurityGroupIds (so EC2 puts each one in the
default security group of its VPC), Name tags, the launch-into tag AWSDRS=AllowLaunchingIntoThisInstance on the
recovery-region targets, DRS initialized and its source servers tagged Name through DRS's own API. The only simulator-specific step is the one a real
estate gets from the DRS replication agent: a DRS source server for each protected instance, created through
POST /_simulator/source-servers (docs/simulator.md). Nothing here comes from the simulator's estate generator, so
what the collection reads is what EC2 (as the simulator models it, drs_simulator/ec2defaults.py) shows for
instances nobody dressed up for it.

Checked against the resulting AWS state: after failover.yml every target keeps its instance ID and private IP and
has the recovered volumes in place of its own, the DRS job LAUNCHED every server, the execution record is
COMPLETED; after failback.yml the originals run again with their own IDs and IPs."""
import os

import yaml

from simlib import PRIMARY, RECOVERY

from .helpers import ROOT, jobs, run_tool, source_servers, state_tables, tags_of

PREFIX = "plain-state"
GROUP = "plain"
CIDR, SUBNET = "10.40.0.0/16", "10.40.1.0/24"
SERVERS = {"orders-db": 1, "orders-app": 1, "orders-web": 2}  # name -> wave


def _network(ec2, region):
    vpc = ec2.create_vpc(CidrBlock=CIDR)["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=SUBNET, AvailabilityZone=f"{region}a")["Subnet"]["SubnetId"]
    return vpc, subnet


def _linux_image(ec2):
    images = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "architecture", "Values": ["x86_64"]}])["Images"]
    return next(i["ImageId"] for i in images if i.get("Platform") != "windows")


def _run(ec2, image, subnet, address, tags):
    return ec2.run_instances(
        ImageId=image, InstanceType="t3.medium", MinCount=1, MaxCount=1, SubnetId=subnet, PrivateIpAddress=address,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
    )["Instances"][0]


def _build_estate(sim):
    """{name: {source_instance_id, target_instance_id, private_ip, source_server_id, ...}} of a plain estate."""
    primary, recovery = sim.client("ec2", region=PRIMARY), sim.client("ec2", region=RECOVERY)
    networks = {PRIMARY: _network(primary, PRIMARY), RECOVERY: _network(recovery, RECOVERY)}
    images = {PRIMARY: _linux_image(primary), RECOVERY: _linux_image(recovery)}
    for region in (PRIMARY, RECOVERY):
        sim.client("drs", region=region).initialize_service()
    drs = sim.client("drs", region=RECOVERY)
    estate = {}
    for number, name in enumerate(sorted(SERVERS), start=10):
        address = f"10.40.1.{number}"  # the same address in both regions: the recovered server keeps its IP
        source = _run(primary, images[PRIMARY], networks[PRIMARY][1], address, {"Name": name})
        target = _run(recovery, images[RECOVERY], networks[RECOVERY][1], address,
                      {"Name": name, "AWSDRS": "AllowLaunchingIntoThisInstance"})
        seeded = sim.control("POST", "source-servers", {
            "instance_id": source["InstanceId"], "source_region": PRIMARY, "recovery_region": RECOVERY})
        # The collection names DRS source servers by their Name tag (the inventory plugin's host names, and how
        # failback.yml finds them without a failover execution ID); DRS copies no EC2 tag, so the user tags them.
        drs.tag_resource(resourceArn=seeded["arn"], tags={"Name": name})
        estate[name] = {"source_instance_id": source["InstanceId"], "target_instance_id": target["InstanceId"],
                        "private_ip": address, "source_server_id": seeded["sourceServerID"], "wave": SERVERS[name],
                        "target_vpc": networks[RECOVERY][0], "source_vpc": networks[PRIMARY][0]}
    return estate


def _inventory(tmp_path, estate):
    waves = {}
    for name, server in estate.items():
        waves.setdefault(server["wave"], []).append(name)
    inventory = {"all": {
        "vars": {"drs_primary_region": PRIMARY, "drs_recovery_region": RECOVERY, "drs_protection_group": GROUP,
                 "drs_state_table_prefix": PREFIX, "drs_poll_interval": 1, "drs_wait_timeout": 600,
                 "drs_replication_timeout": 600},
        "children": {f"wave_{w}": {"hosts": {n: {} for n in sorted(names)}, "vars": {"drs_wave": w}}
                     for w, names in sorted(waves.items())}}}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inventory))
    return str(path)


def _playbook(name, sim, tmp_path, inventory):
    return run_tool("ansible-playbook", [os.path.join(ROOT, "playbooks", name), "-i", inventory], sim.url, tmp_path,
                    timeout=600)


def _execution_id(proc, kind):
    for line in proc.stdout.splitlines():
        if f"{kind} execution " in line:
            return line.split(f"{kind} execution ", 1)[1].split()[0]
    raise AssertionError(f"no {kind} execution id printed:\n{proc.stdout[-3000:]}")


def _instances(sim, region, ids):
    reservations = sim.client("ec2", region=region).describe_instances(InstanceIds=list(ids))["Reservations"]
    return {i["InstanceId"]: i for r in reservations for i in r["Instances"]}


def _volumes(sim, region, instance):
    ids = [m["Ebs"]["VolumeId"] for m in instance["BlockDeviceMappings"]]
    return sim.client("ec2", region=region).describe_volumes(VolumeIds=ids)["Volumes"]


def _default_group_id(sim, region, vpc):
    groups = sim.client("ec2", region=region).describe_security_groups(Filters=[
        {"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
    return groups[0]["GroupId"]


def _launch_statuses(sim, region):
    """{source server ID: launch status} over the DRS launch jobs of the region, and the set of the jobs' statuses."""
    found = [j for j in jobs(sim, region=region) if j["type"] == "LAUNCH"]
    return ({p["sourceServerID"]: p["launchStatus"] for j in found for p in j["participatingServers"]},
            {j["status"] for j in found})


def test_plain_boto3_estate_fails_over_and_back(sim, tmp_path):
    estate = _build_estate(sim)
    store = state_tables(sim, PREFIX)
    inventory = _inventory(tmp_path, estate)
    targets_before = _instances(sim, RECOVERY, [s["target_instance_id"] for s in estate.values()])
    # The premise: no group was given, so each target is in its VPC's default group only (the launch-into pair's
    # security group check reads exactly this).
    for server in estate.values():
        groups = targets_before[server["target_instance_id"]]["SecurityGroups"]
        assert groups == [{"GroupId": _default_group_id(sim, RECOVERY, server["target_vpc"]), "GroupName": "default"}]

    # ------------------------------------------------------------------ failover
    proc = _playbook("failover.yml", sim, tmp_path, inventory)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "has no security group" not in proc.stdout
    assert "Wave 1: COMPLETED" in proc.stdout and "Wave 2: COMPLETED" in proc.stdout
    failover_id = _execution_id(proc, "FAILOVER")

    targets = _instances(sim, RECOVERY, targets_before)
    assert set(targets) == set(targets_before)  # the same instance IDs: launched into, not replaced
    for name, server in estate.items():
        target = targets[server["target_instance_id"]]
        before = targets_before[server["target_instance_id"]]
        assert target["State"]["Name"] == "running", name
        assert target["PrivateIpAddress"] == before["PrivateIpAddress"] == server["private_ip"], name
        assert target["SecurityGroups"] == before["SecurityGroups"], name
        volumes = _volumes(sim, RECOVERY, target)
        old = {m["Ebs"]["VolumeId"] for m in before["BlockDeviceMappings"]}
        assert volumes and not old & {v["VolumeId"] for v in volumes}, name  # its own volumes swapped out
        assert all(tags_of(v).get("drs:recovered-from") == server["source_server_id"] for v in volumes), name
    records = sim.client("drs", region=RECOVERY).describe_recovery_instances()["items"]
    assert sorted(r["recoveryInstanceID"] for r in records) == sorted(targets)
    launched, job_states = _launch_statuses(sim, RECOVERY)
    assert launched == {s["source_server_id"]: "LAUNCHED" for s in estate.values()}
    assert job_states == {"COMPLETED"}
    record = store.get_execution(failover_id)
    assert record["execution"]["status"] == "COMPLETED"
    assert {w: i["status"] for w, i in record["waves"].items()} == {1: "COMPLETED", 2: "COMPLETED"}
    items = {name: item for wave in record["servers"].values() for name, item in wave.items()}
    assert sorted(items) == sorted(estate)
    for name, item in items.items():
        assert item["launch_status"] == "LAUNCHED" and item["ip_preserved"] is True, name
        assert item["recovery_instance_id"] == estate[name]["target_instance_id"], name

    # ------------------------------------------------------------------ failback
    proc = _playbook("failback.yml", sim, tmp_path, inventory)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    failback_id = _execution_id(proc, "FAILBACK")
    originals = _instances(sim, PRIMARY, [s["source_instance_id"] for s in estate.values()])
    failback_servers = {s["sourceProperties"]["identificationHints"]["awsInstanceID"]: s
                        for s in source_servers(sim, region=PRIMARY) if s["replicationDirection"] == "FAILBACK"}
    assert sorted(failback_servers) == sorted(targets)
    for name, server in estate.items():
        original = originals[server["source_instance_id"]]
        assert original["State"]["Name"] == "running", name
        assert original["PrivateIpAddress"] == server["private_ip"], name
        reversed_id = failback_servers[server["target_instance_id"]]["sourceServerID"]
        assert all(tags_of(v).get("drs:recovered-from") == reversed_id
                   for v in _volumes(sim, PRIMARY, original)), name
        assert _instances(sim, RECOVERY, [server["target_instance_id"]])[server["target_instance_id"]][
            "State"]["Name"] == "stopped", name  # the recovery instance waits, stopped, for the next failover
    launched, job_states = _launch_statuses(sim, PRIMARY)
    assert launched == {s["sourceServerID"]: "LAUNCHED" for s in failback_servers.values()}
    assert job_states == {"COMPLETED"}
    record = store.get_execution(failback_id)
    assert record["execution"]["execution_type"] == "FAILBACK" and record["execution"]["status"] == "COMPLETED"
    items = {name: item for wave in record["servers"].values() for name, item in wave.items()}
    assert sorted(items) == sorted(estate)
    for name, item in items.items():
        assert item["launch_status"] == "LAUNCHED" and item["ip_preserved"] is True, name
        assert item["recovery_instance_id"] == estate[name]["source_instance_id"], name
