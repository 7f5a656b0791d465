"""EC2 in the simulator shows what EC2 shows for an estate scripted with plain boto3 (drs_simulator/ec2defaults.py):
the default security group of the VPC when none is given, on the instance as on its network interface; Platform,
PlatformDetails and UsageOperation; BootMode and CurrentInstanceBootMode; the AMI's root volume at the AMI's root
device; the primary interface's private IP and source/destination check; the instance profile; the states and
reasons around StopInstances and StartInstances. Every expectation is EC2's documented behaviour (sources in
ec2defaults.py and docs/simulator.md, "EC2 as EC2 behaves"), and every call is one a user makes."""
import re

import boto3
import pytest
from moto import mock_aws
from moto.core import serialize as moto_serialize
from moto.core.serialize import EC2Serializer

from drs_simulator import ec2defaults, ec2serialize
from simlib import PRIMARY

def _ec2(sim):
    return sim.client("ec2", region=PRIMARY)


def _image(ec2, architecture="x86_64", windows=False, root=None):
    for image in ec2.describe_images(Owners=["amazon"])["Images"]:
        if image["Architecture"] != architecture or (image.get("Platform") == "windows") != windows:
            continue
        if root and image["RootDeviceName"] != root:
            continue
        return image
    raise AssertionError(f"no {architecture} {'Windows' if windows else 'Linux'} image")


def _describe(ec2, instance_id):
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def _run(ec2, image_id, **params):
    params.setdefault("InstanceType", "t3.medium")
    return ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, **params)["Instances"][0]


def _default_group(ec2, vpc_id):
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                                   {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
    assert len(groups) == 1
    return groups[0]


def _groups(entries):
    return sorted((g["GroupId"], g["GroupName"]) for g in entries)


# ------------------------------------------------------------------------------------------- security groups
def test_instance_without_security_groups_is_in_the_default_group_of_its_subnets_vpc(sim):
    ec2 = _ec2(sim)
    image = _image(ec2)["ImageId"]
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24", AvailabilityZone=f"{PRIMARY}a")["Subnet"]["SubnetId"]
    default_vpc = next(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v.get("IsDefault"))
    own_default = _default_group(ec2, vpc)
    assert own_default["GroupId"] != _default_group(ec2, default_vpc)["GroupId"]

    launched = _run(ec2, image, SubnetId=subnet)
    for instance in (launched, _describe(ec2, launched["InstanceId"])):
        assert instance["VpcId"] == vpc
        assert instance["SecurityGroups"] == [{"GroupId": own_default["GroupId"], "GroupName": "default"}]
        primary = next(n for n in instance["NetworkInterfaces"] if n["Attachment"]["DeviceIndex"] == 0)
        assert _groups(primary["Groups"]) == _groups(instance["SecurityGroups"])

    # In the default VPC, with no subnet either: the default VPC's default group.
    plain = _describe(ec2, _run(ec2, image)["InstanceId"])
    assert plain["VpcId"] == default_vpc
    assert plain["SecurityGroups"] == [{"GroupId": _default_group(ec2, default_vpc)["GroupId"], "GroupName": "default"}]
    # The group filters of DescribeInstances see the group too.
    found = ec2.describe_instances(Filters=[{"Name": "instance.group-id", "Values": [own_default["GroupId"]]}])
    assert [i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]] == [launched["InstanceId"]]


def test_explicit_groups_and_later_changes_agree_on_instance_and_interface(sim):
    ec2 = _ec2(sim)
    image = _image(ec2)["ImageId"]
    vpc = next(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v.get("IsDefault"))
    web = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    app = ec2.create_security_group(GroupName="app", Description="app", VpcId=vpc)["GroupId"]
    instance_id = _run(ec2, image, SecurityGroupIds=[web])["InstanceId"]

    def groups_now():
        instance = _describe(ec2, instance_id)
        eni = instance["NetworkInterfaces"][0]
        return _groups(instance["SecurityGroups"]), _groups(eni["Groups"])

    assert groups_now() == ([(web, "web")], [(web, "web")])  # the given group only, not the default one as well
    ec2.modify_instance_attribute(InstanceId=instance_id, Groups=[app])
    assert groups_now() == ([(app, "app")], [(app, "app")])
    eni_id = _describe(ec2, instance_id)["NetworkInterfaces"][0]["NetworkInterfaceId"]
    ec2.modify_network_interface_attribute(NetworkInterfaceId=eni_id, Groups=[web, app])
    assert groups_now() == (sorted([(web, "web"), (app, "app")]), sorted([(web, "web"), (app, "app")]))
    attribute = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="groupSet")["Groups"]
    assert sorted(g["GroupId"] for g in attribute) == sorted([web, app])

    # A secondary interface has its own groups; the instance's stay its primary interface's.
    subnet = _describe(ec2, instance_id)["SubnetId"]
    db = ec2.create_security_group(GroupName="db", Description="db", VpcId=vpc)["GroupId"]
    secondary = ec2.create_network_interface(SubnetId=subnet, Groups=[db])["NetworkInterface"]["NetworkInterfaceId"]
    ec2.attach_network_interface(NetworkInterfaceId=secondary, InstanceId=instance_id, DeviceIndex=1)
    instance = _describe(ec2, instance_id)
    by_index = {n["Attachment"]["DeviceIndex"]: _groups(n["Groups"]) for n in instance["NetworkInterfaces"]}
    assert by_index == {0: sorted([(web, "web"), (app, "app")]), 1: [(db, "db")]}
    assert _groups(instance["SecurityGroups"]) == by_index[0]


# ------------------------------------------------------------------------------------- platform and boot mode
def test_platform_and_billing_fields_follow_the_ami(sim):
    ec2 = _ec2(sim)
    images = ec2.describe_images(Owners=["amazon"])["Images"]
    # Platform is "windows" for Windows images and absent otherwise; the billing fields are always there.
    assert {i.get("Platform") for i in images} == {"windows", None}
    for image in images:
        windows = image.get("Platform") == "windows"
        assert (image["PlatformDetails"], image["UsageOperation"]) == (
            ("Windows", "RunInstances:0002") if windows else ("Linux/UNIX", "RunInstances")), image["ImageId"]

    linux = _describe(ec2, _run(ec2, _image(ec2)["ImageId"])["InstanceId"])
    assert "Platform" not in linux
    assert (linux["PlatformDetails"], linux["UsageOperation"]) == ("Linux/UNIX", "RunInstances")
    windows = _describe(ec2, _run(ec2, _image(ec2, windows=True)["ImageId"])["InstanceId"])
    assert windows["Platform"] == "windows"
    assert (windows["PlatformDetails"], windows["UsageOperation"]) == ("Windows", "RunInstances:0002")
    assert windows["UsageOperationUpdateTime"] == windows["LaunchTime"]


def test_boot_mode_is_the_amis_and_the_current_one_the_instance_types_default(sim):
    ec2 = _ec2(sim)
    # moto's images carry no boot mode parameter, as most Amazon images of the same generation.
    assert all("BootMode" not in image for image in ec2.describe_images(Owners=["amazon"])["Images"])
    x86 = _describe(ec2, _run(ec2, _image(ec2)["ImageId"], InstanceType="m5.large")["InstanceId"])
    assert "BootMode" not in x86 and x86["CurrentInstanceBootMode"] == "legacy-bios"
    arm = _describe(ec2, _run(ec2, _image(ec2, "arm64")["ImageId"], InstanceType="t4g.micro")["InstanceId"])
    assert arm["Architecture"] == "arm64"
    assert "BootMode" not in arm and arm["CurrentInstanceBootMode"] == "uefi"


@pytest.mark.parametrize("ami_boot_mode, architecture, instance_type, expected", [
    ("uefi", "x86_64", "t2.micro", "uefi"),              # as the AMI says
    ("legacy-bios", "x86_64", "m5.large", "legacy-bios"),
    ("uefi-preferred", "x86_64", "m5.large", "uefi"),    # the type supports UEFI
    ("uefi-preferred", "x86_64", "t2.micro", "legacy-bios"),  # it does not
    (None, "x86_64", "m5.large", "legacy-bios"),         # Intel and AMD default
    (None, "arm64", "m6g.large", "uefi"),                # Graviton default
])
def test_current_boot_mode_follows_the_documented_rules(ami_boot_mode, architecture, instance_type, expected):
    assert ec2defaults.current_boot_mode(ami_boot_mode, architecture, instance_type) == expected


# ---------------------------------------------------------------------------------------------- root device
def test_root_volume_is_the_amis_at_its_root_device_name(sim):
    ec2 = _ec2(sim)
    for root in ("/dev/xvda", "/dev/sda1"):
        image = _image(ec2, root=root)
        instance = _describe(ec2, _run(ec2, image["ImageId"])["InstanceId"])
        assert instance["RootDeviceType"] == "ebs" and instance["RootDeviceName"] == root
        assert [m["DeviceName"] for m in instance["BlockDeviceMappings"]] == [root]
        volume = ec2.describe_volumes(VolumeIds=[instance["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]])["Volumes"][0]
        ami_root = next(m for m in image["BlockDeviceMappings"] if m["DeviceName"] == root)["Ebs"]
        assert volume["Size"] == ami_root["VolumeSize"] and volume["SnapshotId"] == ami_root["SnapshotId"]
        assert volume["Attachments"][0]["Device"] == root


# ---------------------------------------------------------------------------------------- network interfaces
def test_primary_interface_carries_the_private_ip_and_the_source_dest_check(sim):
    ec2 = _ec2(sim)
    subnet = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"][0]
    address = subnet["CidrBlock"].rsplit(".", 2)[0] + ".0.77"  # an address of the subnet, chosen by the user
    instance_id = _run(ec2, _image(ec2)["ImageId"], SubnetId=subnet["SubnetId"], PrivateIpAddress=address)["InstanceId"]
    instance = _describe(ec2, instance_id)
    primary = [n for n in instance["NetworkInterfaces"] if n["Attachment"]["DeviceIndex"] == 0]
    assert len(primary) == 1
    assert instance["PrivateIpAddress"] == primary[0]["PrivateIpAddress"] == address
    assert [a["PrivateIpAddress"] for a in primary[0]["PrivateIpAddresses"] if a["Primary"]] == [address]
    assert instance["SourceDestCheck"] is True and primary[0]["SourceDestCheck"] is True
    ec2.modify_instance_attribute(InstanceId=instance_id, SourceDestCheck={"Value": False})
    instance = _describe(ec2, instance_id)
    assert instance["SourceDestCheck"] is False and instance["NetworkInterfaces"][0]["SourceDestCheck"] is False
    ec2.modify_network_interface_attribute(NetworkInterfaceId=primary[0]["NetworkInterfaceId"],
                                           SourceDestCheck={"Value": True})
    assert _describe(ec2, instance_id)["SourceDestCheck"] is True


# ------------------------------------------------------------------------------------------ instance profile
def test_instance_profile_is_shown_by_the_profiles_id(sim):
    ec2, iam = _ec2(sim), sim.client("iam", region=PRIMARY)
    profiles = {}
    for name in ("first", "second"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")
        profiles[name] = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    instance_id = _run(ec2, _image(ec2)["ImageId"], IamInstanceProfile={"Name": "first"})["InstanceId"]
    shown = _describe(ec2, instance_id)["IamInstanceProfile"]
    assert shown == {"Arn": profiles["first"]["Arn"], "Id": profiles["first"]["InstanceProfileId"]}
    association = ec2.describe_iam_instance_profile_associations()["IamInstanceProfileAssociations"][0]
    assert association["IamInstanceProfile"] == shown
    ec2.replace_iam_instance_profile_association(AssociationId=association["AssociationId"],
                                                 IamInstanceProfile={"Name": "second"})
    assert _describe(ec2, instance_id)["IamInstanceProfile"]["Id"] == profiles["second"]["InstanceProfileId"]
    assert "IamInstanceProfile" not in _describe(ec2, _run(ec2, _image(ec2)["ImageId"])["InstanceId"])


# ----------------------------------------------------------------------------------------------------- states
def test_states_and_reasons_around_stop_and_start(sim):
    ec2 = _ec2(sim)
    launched = _run(ec2, _image(ec2)["ImageId"])
    instance_id = launched["InstanceId"]
    assert launched["State"] == {"Code": 0, "Name": "pending"}  # RunInstances answers pending
    running = _describe(ec2, instance_id)
    assert running["State"] == {"Code": 16, "Name": "running"}
    assert "StateReason" not in running and running["StateTransitionReason"] == ""

    stopping = ec2.stop_instances(InstanceIds=[instance_id])["StoppingInstances"][0]
    assert stopping["PreviousState"] == {"Code": 16, "Name": "running"}
    assert stopping["CurrentState"] == {"Code": 64, "Name": "stopping"}
    stopped = _describe(ec2, instance_id)
    assert stopped["State"] == {"Code": 80, "Name": "stopped"}
    assert stopped["StateReason"] == {"Code": "Client.UserInitiatedShutdown",
                                      "Message": "Client.UserInitiatedShutdown: User initiated shutdown"}
    assert re.fullmatch(r"User initiated \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)", stopped["StateTransitionReason"])
    assert "PublicIpAddress" not in stopped  # a stopped instance keeps no public IPv4 address

    starting = ec2.start_instances(InstanceIds=[instance_id])["StartingInstances"][0]
    assert starting["PreviousState"] == {"Code": 80, "Name": "stopped"}
    assert starting["CurrentState"] == {"Code": 0, "Name": "pending"}
    again = _describe(ec2, instance_id)
    assert again["State"] == {"Code": 16, "Name": "running"}
    assert "StateReason" not in again and again["StateTransitionReason"] == ""
    # The instance keeps its ID, private IP, groups and root volume across the stop and start.
    assert again["PrivateIpAddress"] == running["PrivateIpAddress"]
    assert again["SecurityGroups"] == running["SecurityGroups"] != []
    assert again["BlockDeviceMappings"][0]["Ebs"]["VolumeId"] == running["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]


# ------------------------------------------------------------------------------------- both serializers agree
@mock_aws
def test_both_serializers_write_the_corrected_model_the_same():
    """The corrections live in moto's model, so moto's own serializer and the fast one write the same bodies."""
    ec2defaults.install()
    before = moto_serialize.SERIALIZERS["ec2"]
    client = boto3.client("ec2", region_name="eu-west-1")
    bodies = []
    client.meta.events.register("before-parse.ec2.*",
                                lambda response_dict, **_: bodies.append(
                                    re.sub(rb"<(requestId|RequestId)>[^<]*</\1>", b"", response_dict["body"])))
    images = client.describe_images(Owners=["amazon"])["Images"]
    linux = next(i["ImageId"] for i in images if not i.get("Platform"))
    windows = next(i["ImageId"] for i in images if i.get("Platform") == "windows")
    ids = [client.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.medium")["Instances"][0]
           ["InstanceId"] for image in (linux, windows)]
    client.stop_instances(InstanceIds=ids[:1])
    try:
        described = {}
        for serializer in (EC2Serializer, ec2serialize.FastEC2Serializer):
            moto_serialize.SERIALIZERS["ec2"] = serializer
            bodies.clear()
            parsed = client.describe_instances(InstanceIds=ids)
            client.describe_images(ImageIds=[linux, windows])
            described[serializer.__name__] = (list(bodies), parsed["Reservations"])
    finally:
        moto_serialize.SERIALIZERS["ec2"] = before
    assert described["EC2Serializer"] == described["FastEC2Serializer"]
    instances = [i for r in described["EC2Serializer"][1] for i in r["Instances"]]
    assert all(i["SecurityGroups"] and i["SecurityGroups"][0]["GroupName"] == "default" for i in instances)
    assert {i.get("Platform") for i in instances} == {None, "windows"}
