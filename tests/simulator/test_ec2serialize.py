"""The simulator's EC2 response serializer (drs_simulator/ec2serialize.py) writes what moto's own EC2Serializer
writes, byte for byte, and does far less work per response.

Each comparison runs the same read twice on the same state, once with moto's serializer and once with the fast
one, and compares the raw XML bodies (request IDs aside) and what botocore parses from them. The state covers what
DescribeInstances shows: several ENIs and private IPs per instance, public and elastic IPs, block devices attached
at launch and later, stopped, started and terminated instances, tags added, changed and removed, and the filters
and pagination the collection uses.
"""
import cProfile
import pstats
import re
import threading

import boto3
import pytest
import xmltodict
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import serialize as moto_serialize
from moto.core.serialize import EC2Serializer, XFormedAttributePicker
from moto.core.utils import get_service_model

from drs_simulator import ec2serialize
from drs_simulator.ec2serialize import FastEC2Serializer, Unsupported, unparse
from simlib import PRIMARY, RECOVERY, Sim, small_estate

REGION = "eu-west-1"
_REQUEST_ID = re.compile(rb"<(requestId|RequestId|RequestID)>[^<]*</\1>")


@pytest.fixture
def serializers(monkeypatch):
    """Lets a test switch between the two serializers; leaves the process as it found it."""
    monkeypatch.delenv(ec2serialize.ENV_SWITCH, raising=False)
    before = moto_serialize.SERIALIZERS["ec2"]
    yield
    moto_serialize.SERIALIZERS["ec2"] = before


def _use(cls):
    moto_serialize.SERIALIZERS["ec2"] = cls


class _Recorder:
    """The raw body of every EC2 response a client receives."""

    def __init__(self, client):
        self.bodies = []
        client.meta.events.register("before-parse.ec2.*", self._record)

    def _record(self, response_dict, **_):
        self.bodies.append(_REQUEST_ID.sub(rb"<\1>-</\1>", response_dict["body"]))


def _call(client, method, params):
    try:
        response = getattr(client, method)(**params)
    except ClientError as exc:
        response = {"Error": exc.response["Error"], "status": exc.response["ResponseMetadata"]["HTTPStatusCode"]}
    response.pop("ResponseMetadata", None)
    return response


def _pages(client, method, params):
    """Every page of a read, following NextToken."""
    pages = [_call(client, method, params)]
    while pages[-1].get("NextToken"):
        pages.append(_call(client, method, {**params, "NextToken": pages[-1]["NextToken"]}))
    return pages


def assert_same_responses(client, reads):
    """Each (method, params) read gives the same raw bodies and parsed pages with either serializer."""
    recorder = _Recorder(client)
    for method, params in reads:
        results = {}
        for cls in (EC2Serializer, FastEC2Serializer):
            _use(cls)
            del recorder.bodies[:]
            results[cls] = (_pages(client, method, params), list(recorder.bodies))
        moto_pages, moto_bodies = results[EC2Serializer]
        fast_pages, fast_bodies = results[FastEC2Serializer]
        assert fast_bodies == moto_bodies, (method, params)
        assert fast_pages == moto_pages, (method, params)
        assert moto_bodies, (method, params)


def _instance_reads(ids, vpc, subnet, group, private_ip):
    return [
        ("describe_instances", {}),
        ("describe_instances", {"MaxResults": 5}),
        ("describe_instances", {"MaxResults": 1000}),
        ("describe_instances", {"InstanceIds": ids[:3]}),
        ("describe_instances", {"InstanceIds": list(reversed(ids))}),
        ("describe_instances", {"Filters": [{"Name": "tag-key", "Values": ["AWSDRS"]}], "MaxResults": 1000}),
        ("describe_instances", {"Filters": [{"Name": "tag-key", "Values": ["AWSDRS"]}], "MaxResults": 5}),
        ("describe_instances", {"Filters": [{"Name": "tag:Name", "Values": ["web-*"]}]}),
        ("describe_instances", {"Filters": [{"Name": "tag-value", "Values": ["db"]}]}),
        ("describe_instances", {"Filters": [{"Name": "instance-state-name", "Values": ["running"]}]}),
        ("describe_instances", {"Filters": [{"Name": "instance-state-name", "Values": ["stopped", "terminated"]}]}),
        ("describe_instances", {"Filters": [{"Name": "vpc-id", "Values": [vpc]}]}),
        ("describe_instances", {"Filters": [{"Name": "subnet-id", "Values": [subnet]}]}),
        ("describe_instances", {"Filters": [{"Name": "private-ip-address", "Values": [private_ip]}]}),
        ("describe_instances", {"Filters": [{"Name": "group-id", "Values": [group]}]}),
        ("describe_instances", {"Filters": [{"Name": "instance-type", "Values": ["r6i.large", "m5.xlarge"]},
                                            {"Name": "tag:Name", "Values": ["app-1"]}]}),
        ("describe_instances", {"Filters": [{"Name": "tag-key", "Values": ["no-such-tag"]}]}),
        ("describe_instances", {"InstanceIds": ["i-0123456789abcdef0"]}),  # InvalidInstanceID.NotFound
        ("describe_instances", {"InstanceIds": ids[:1], "MaxResults": 5}),  # InvalidParameterCombination
    ]


def _other_reads(ids):
    return [
        ("describe_volumes", {}),
        ("describe_network_interfaces", {}),
        ("describe_addresses", {}),
        ("describe_subnets", {}),
        ("describe_vpcs", {}),
        ("describe_security_groups", {}),
        ("describe_tags", {}),
        ("describe_instance_status", {"IncludeAllInstances": True}),
        ("describe_instance_attribute", {"InstanceId": ids[0], "Attribute": "instanceType"}),
        ("describe_instance_attribute", {"InstanceId": ids[0], "Attribute": "groupSet"}),
        ("describe_key_pairs", {}),
        ("describe_launch_templates", {}),
    ]


@mock_aws
def test_ec2_reads_are_the_same_with_either_serializer(serializers):
    ec2 = boto3.client("ec2", region_name=REGION)
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.1.0/24", AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    other = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.2.0/24", AvailabilityZone=f"{REGION}b")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="app", Description="app & <db>", VpcId=vpc)["GroupId"]
    ec2.create_key_pair(KeyName="ops")
    ec2.create_launch_template(LaunchTemplateName="lt", LaunchTemplateData={"ImageId": ami, "InstanceType": "t3.micro"})

    def tagged(name, **extra):
        tags = [{"Key": "Name", "Value": name}, *({"Key": k, "Value": v} for k, v in extra.items())]
        return [{"ResourceType": "instance", "Tags": tags}]

    ids = []
    ids += [i["InstanceId"] for i in ec2.run_instances(
        ImageId=ami, MinCount=3, MaxCount=3, SubnetId=subnet, SecurityGroupIds=[group], KeyName="ops",
        TagSpecifications=tagged("web-1", AWSDRS="AllowLaunchingIntoThisInstance", Note='quotes "x" & <y>'),
    )["Instances"]]
    # Two ENIs, secondary private IPs, a public IP on the first.
    ids += [i["InstanceId"] for i in ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, NetworkInterfaces=[
        {"DeviceIndex": 0, "SubnetId": subnet, "PrivateIpAddress": "10.40.1.50", "SecondaryPrivateIpAddressCount": 2,
         "AssociatePublicIpAddress": True, "Groups": [group]},
        {"DeviceIndex": 1, "SubnetId": subnet, "PrivateIpAddress": "10.40.1.51"}],
        TagSpecifications=tagged("db-1", Role="db", AWSDRS="AllowLaunchingIntoThisInstance"))["Instances"]]
    # Block devices at launch, another instance type, another subnet, monitoring, no key.
    ids += [i["InstanceId"] for i in ec2.run_instances(
        ImageId=ami, MinCount=2, MaxCount=2, InstanceType="r6i.large", SubnetId=other, Monitoring={"Enabled": True},
        EbsOptimized=True, BlockDeviceMappings=[
            {"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8, "DeleteOnTermination": True}},
            {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 50, "VolumeType": "gp3", "DeleteOnTermination": False}}],
        TagSpecifications=tagged("app-1"))["Instances"]]
    # From a launch template, and one with no tags at all.
    ids += [ec2.run_instances(MinCount=1, MaxCount=1, LaunchTemplate={"LaunchTemplateName": "lt"},
                              SubnetId=subnet)["Instances"][0]["InstanceId"]]
    ids += [ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]]
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=20)["VolumeId"]
    ec2.attach_volume(VolumeId=volume, InstanceId=ids[0], Device="/dev/sdg")
    address = ec2.allocate_address(Domain="vpc")["AllocationId"]
    association = ec2.associate_address(AllocationId=address, InstanceId=ids[1])["AssociationId"]

    assert_same_responses(ec2, _instance_reads(ids, vpc, subnet, group, "10.40.1.50") + _other_reads(ids))

    # Everything that changes an instance's description.
    ec2.stop_instances(InstanceIds=ids[4:6])
    ec2.terminate_instances(InstanceIds=[ids[2]])
    ec2.modify_instance_attribute(InstanceId=ids[4], InstanceType={"Value": "m5.xlarge"})
    ec2.start_instances(InstanceIds=[ids[5]])
    ec2.create_tags(Resources=[ids[0], ids[6]], Tags=[{"Key": "Name", "Value": "web-9"}, {"Key": "Role", "Value": "db"}])
    ec2.delete_tags(Resources=[ids[4]], Tags=[{"Key": "Name"}])  # ids[4] now has no tags
    ec2.delete_tags(Resources=[ids[1]], Tags=[{"Key": "AWSDRS"}])
    ec2.detach_volume(VolumeId=volume, InstanceId=ids[0], Device="/dev/sdg")
    ec2.attach_volume(VolumeId=volume, InstanceId=ids[3], Device="/dev/sdh")
    eni = ec2.create_network_interface(SubnetId=subnet, PrivateIpAddress="10.40.1.60",
                                       SecondaryPrivateIpAddressCount=1)["NetworkInterface"]["NetworkInterfaceId"]
    ec2.attach_network_interface(NetworkInterfaceId=eni, InstanceId=ids[0], DeviceIndex=1)
    primary_eni = ec2.describe_instances(InstanceIds=[ids[3]])["Reservations"][0]["Instances"][0][
        "NetworkInterfaces"][0]["NetworkInterfaceId"]
    ec2.assign_private_ip_addresses(NetworkInterfaceId=primary_eni, SecondaryPrivateIpAddressCount=2)
    ec2.disassociate_address(AssociationId=association)
    ec2.associate_address(AllocationId=address, InstanceId=ids[0])

    assert_same_responses(ec2, _instance_reads(ids, vpc, subnet, group, "10.40.1.60") + _other_reads(ids))


class _BothSerializers(FastEC2Serializer):
    """Serializes every result with moto's EC2Serializer as well, and keeps both bodies; answers with the fast
    one. For calls that change state, which cannot be made twice on the same state."""

    pairs: list = []

    def serialize(self, result):
        expected = EC2Serializer(operation_model=self.operation_model, context=self.context,
                                 pretty_print=self.pretty_print, value_picker=self._value_picker).serialize(result)
        response = super().serialize(result)
        # moto adds headers to the returned dictionary afterwards: keep what each serializer gave.
        self.pairs.append((self.operation_name, {**expected, "headers": dict(expected["headers"])},
                           {**response, "headers": dict(response["headers"])}))
        return response


@mock_aws
def test_writes_answer_the_same_with_either_serializer(serializers):
    """Calls that change state answer the same either way, including moto's per-path response transformers
    (RunInstances shows State pending) and modelled errors."""
    ec2 = boto3.client("ec2", region_name=REGION)
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    vpc = ec2.create_vpc(CidrBlock="10.41.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.41.1.0/24", AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    _BothSerializers.pairs = []
    _use(_BothSerializers)
    reservation = ec2.run_instances(ImageId=ami, MinCount=2, MaxCount=2, SubnetId=subnet, TagSpecifications=[
        {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "w"}]}])
    ids = [i["InstanceId"] for i in reservation["Instances"]]
    assert reservation["Instances"][0]["State"] == {"Code": 0, "Name": "pending"}
    ec2.stop_instances(InstanceIds=ids)
    ec2.start_instances(InstanceIds=ids[:1])
    ec2.create_tags(Resources=ids, Tags=[{"Key": "Role", "Value": "x & y"}])
    ec2.delete_tags(Resources=ids[:1], Tags=[{"Key": "Name"}])
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=10, TagSpecifications=[
        {"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "v"}]}])["VolumeId"]
    ec2.attach_volume(VolumeId=volume, InstanceId=ids[1], Device="/dev/sdf")
    ec2.modify_instance_attribute(InstanceId=ids[1], InstanceType={"Value": "t3.large"})
    eni = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
    ec2.attach_network_interface(NetworkInterfaceId=eni, InstanceId=ids[1], DeviceIndex=1)
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=allocation, InstanceId=ids[0])
    ec2.describe_instances(InstanceIds=ids)
    with pytest.raises(ClientError):
        ec2.stop_instances(InstanceIds=["i-0123456789abcdef0"])
    ec2.terminate_instances(InstanceIds=ids)
    operations = [operation for operation, _, _ in _BothSerializers.pairs]
    assert {"RunInstances", "StopInstances", "StartInstances", "CreateTags", "AttachVolume",
            "AssociateAddress", "DescribeInstances", "TerminateInstances"} <= set(operations)
    for operation, expected, response in _BothSerializers.pairs:
        assert response == expected, operation


class _Thing:
    """Attributes set per object: two objects of one class may have different ones."""

    def __init__(self, **attributes):
        self.__dict__.update(attributes)


class Instance(_Thing):
    """Named like a model shape: moto's class-name alias turns InstanceId into Id for it."""


class _Aliased(_Thing):
    class Meta:
        serialization_aliases = {"InstanceId": "special", "GroupName": "label", "Code": "number"}


class _Raising(_Thing):
    id = "from-class"

    @property
    def instance_id(self):
        raise AttributeError("computed, and missing")


def test_attribute_lookup_matches_motos_picker_member_by_member():
    """Member by member, the fast look-up finds what moto's picker finds, for objects and parent shapes chosen so
    that each alias rule decides something: the parent structure's name as a prefix (InstanceId is Id in
    Instance, not in VolumeAttachment), the object's class name as a prefix, explicit Meta aliases, dictionaries,
    attributes some objects of a class have and others lack, and properties that raise AttributeError. Each member
    is looked up under every parent in turn, so a memo that ignored an input would hand one parent's answer to
    another."""
    model = get_service_model("ec2")
    operation = model.operation_model("DescribeInstances")
    picker = XFormedAttributePicker(response_transformers={})
    moto = EC2Serializer(operation_model=operation, value_picker=picker)
    fast = FastEC2Serializer(operation_model=operation, value_picker=picker)
    structures = [model.shape_for(name) for name in (
        "Instance", "VolumeAttachment", "InstanceStatus", "InstanceNetworkInterface", "Reservation",
        "GroupIdentifier", "InstanceState", "Tag", "InstanceBlockDeviceMapping", "EbsInstanceBlockDevice")]
    objects = [
        _Thing(id="a", state="running", device="/dev/sdf", code=16, name="n", key="k", value="v"),
        _Thing(instance_id="b", id="c", device_name="/dev/sda1", group_id="sg-1", reservation_id="r-1"),
        _Thing(),
        Instance(id="d", instance_type="t3.micro", architecture="arm64"),
        Instance(instance_id="e", state={"Code": 80, "Name": "stopped"}),
        _Aliased(special="f", label="g", number=48, instance_id="h", group_id="sg-2"),
        _Aliased(instance_id="only-snake"),
        _Raising(network_interface_id="eni-1", private_ip_address="10.0.0.1"),
        # Aliases of this one object only: the class's other objects have none.
        _Thing(Meta=type("Meta", (), {"serialization_aliases": {"InstanceId": "special", "Key": "label"}}),
               special="o", label="p", instance_id="q", key="r"),
        {"Id": "i", "InstanceId": "j", "Key": "k2", "Value": None},
        {"id": "l", "device": "/dev/xvdb", "volume_id": "vol-1", "status": "attached"},
        {"instance_id": "m", "Code": 0},
    ]
    checked = 0
    for order in (structures, list(reversed(structures)), structures):
        for structure in order:
            for key, member in structure.members.items():
                member.parent = structure  # as moto's _serialize_type_structure does before each member
                for path in (["DescribeInstances", structure.name], ["RunInstances", "Reservation", structure.name]):
                    moto.path[:] = path
                    fast.path[:] = path
                    for obj in objects:
                        assert fast.get_value(obj, key, member) == moto.get_value(obj, key, member), (
                            structure.name, key, obj)
                        checked += 1
    assert checked > 3000


# --------------------------------------------------------------------------------------- the simulator's own path
@pytest.fixture
def local_simulator(serializers):
    """The simulator's WSGI application in this process, on a loopback port, so a test can switch serializers
    between two requests to the same state."""
    from werkzeug.serving import make_server

    from drs_simulator.server import Runtime, SimulatorApp

    app = SimulatorApp(Runtime(time_scale=1.0))
    assert ec2serialize.enabled()  # the simulator serves EC2 with the fast serializer by default
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    sim = Sim(f"http://127.0.0.1:{server.server_port}")
    sim.reset()
    try:
        yield sim
    finally:
        sim.reset()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_simulator_estate_and_recovery_read_the_same_with_either_serializer(local_simulator):
    sim = local_simulator
    summary = sim.load_estate(small_estate(12, 2, **{
        "app-01": {"disks_gib": [8, 50, 100], "tags": {"App": "shop & <co>"}},
        "db-01": {"target": {"state": "running", "tags": {"Owner": "dba"}}},
    }))
    primary, recovery = sim.client("ec2", PRIMARY), sim.client("ec2", RECOVERY)
    servers = list(summary["servers"].values())
    sources = [s["source_instance_id"] for s in servers]
    targets = [s["target_instance_id"] for s in servers if s.get("target_instance_id")]

    def reads():
        return [
            # What drs_instance_match sends: batches of source IDs, one page of tagged targets.
            ("describe_instances", {"Filters": [{"Name": "instance-id", "Values": sources[:5]}]}),
            ("describe_instances", {"InstanceIds": sources[5:]}),
            ("describe_instances", {"Filters": [{"Name": "tag-key", "Values": ["AWSDRS"]}], "MaxResults": 1000}),
            ("describe_instances", {"Filters": [{"Name": "tag-key", "Values": ["AWSDRS"]}], "MaxResults": 5}),
            ("describe_instances", {"Filters": [{"Name": "instance-state-name", "Values": ["running"]}]}),
            ("describe_instances", {"InstanceIds": targets}),
            ("describe_volumes", {}),
            ("describe_network_interfaces", {}),
        ]

    assert_same_responses(primary, reads())
    assert_same_responses(recovery, reads())

    # A drill launched into a target: volumes swapped and tagged, the target started; the target of another
    # server changed by hand.
    drs = sim.client("drs", RECOVERY)
    server = servers[0]
    job = drs.start_recovery(isDrill=True, sourceServers=[{"sourceServerID": server["source_server_id"]}])["job"]
    sim.run_job(drs, job["jobID"])
    recovery.create_tags(Resources=[targets[1]], Tags=[{"Key": "Name", "Value": "renamed"}])
    recovery.start_instances(InstanceIds=[targets[2]])
    assert_same_responses(recovery, reads())


# --------------------------------------------------------------------------------------- how much work it does
@mock_aws
def test_fast_serializer_does_a_fraction_of_the_work(serializers, monkeypatch):
    """Deterministic counts, no clock: moto's per-member attribute picker is never asked, alias candidates are
    worked out once per kind of member (not per instance), no body goes through xmltodict, and a page of
    instances takes well under half of the Python function calls moto's serializer makes for it."""
    ec2 = boto3.client("ec2", region_name=REGION)
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    tags = [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "x"}, {"Key": "AWSDRS", "Value": "y"}]}]
    ec2.run_instances(ImageId=ami, MinCount=10, MaxCount=10, TagSpecifications=tags)

    picks = {"count": 0}
    original_pick = XFormedAttributePicker.__call__

    def counting_pick(self, context):
        picks["count"] += 1
        return original_pick(self, context)

    monkeypatch.setattr(XFormedAttributePicker, "__call__", counting_pick)
    unparses = {"count": 0}
    original_unparse = xmltodict.unparse

    def counting_unparse(*args, **kwargs):
        unparses["count"] += 1
        return original_unparse(*args, **kwargs)

    monkeypatch.setattr(xmltodict, "unparse", counting_unparse)

    _use(FastEC2Serializer)
    ec2.describe_instances()  # the first page of this shape works out its candidates
    ec2.run_instances(ImageId=ami, MinCount=40, MaxCount=40, TagSpecifications=tags)
    resolutions = ec2serialize.stats["candidate_resolutions"]
    assert len(ec2.describe_instances(MaxResults=1000)["Reservations"]) == 2
    assert ec2serialize.stats["candidate_resolutions"] == resolutions  # 40 more instances, nothing new to work out
    assert picks["count"] == 0 and unparses["count"] == 0

    _use(EC2Serializer)
    ec2.describe_instances(MaxResults=1000)
    assert picks["count"] > 50 * 50 and unparses["count"] == 1  # moto's path: per member of every instance

    from moto.ec2.models import ec2_backends
    from moto.ec2.responses import EC2Response

    reservations = ec2_backends["123456789012"][REGION].describe_instances(filters={})
    operation = get_service_model("ec2").operation_model("DescribeInstances")

    def calls(cls):
        serializer = cls(operation_model=operation, value_picker=XFormedAttributePicker(
            response_transformers=EC2Response.RESPONSE_KEY_PATH_TO_TRANSFORMER))
        profile = cProfile.Profile()
        profile.enable()
        body = serializer.serialize({"Reservations": reservations, "NextToken": None})["body"]
        profile.disable()
        return pstats.Stats(profile).total_calls, body

    moto_calls, moto_body = calls(EC2Serializer)
    fast_calls, fast_body = calls(FastEC2Serializer)
    assert fast_body == moto_body
    assert fast_calls * 2 < moto_calls, (fast_calls, moto_calls)


def test_environment_switch_keeps_motos_serializer(serializers, monkeypatch):
    ec2serialize.uninstall()
    monkeypatch.setenv(ec2serialize.ENV_SWITCH, "0")
    ec2serialize.install()
    assert not ec2serialize.enabled()
    assert moto_serialize.get_serializer_class("ec2", "ec2") is EC2Serializer
    monkeypatch.delenv(ec2serialize.ENV_SWITCH)
    ec2serialize.install()
    assert ec2serialize.enabled()
    assert moto_serialize.get_serializer_class("ec2", "ec2") is FastEC2Serializer


# --------------------------------------------------------------------------------------- the XML writer
_BODIES = [
    {"DescribeInstancesResponse": {"@xmlns": "http://ec2.amazonaws.com/doc/2016-11-15/", "requestId": "r",
                                   "reservationSet": {"item": [{"reservationId": "r-1", "groupSet": "",
                                                                "instancesSet": {"item": [{"a": "1"}]}}]}}},
    {"R": {"text": "a & b < c > d \" ' \r\n\t é ✓", "empty": "", "none": None, "t": True, "f": False, "n": 0,
           "neg": -12, "big": 10 ** 20, "x": 1.5, "y": 1e-7, "list": [], "one": ["only"],
           "many": ["a", "", None, True, 3, {"k": "v"}, {}], "nested": {"deeper": {"deepest": {}}}}},
    {"R": {"@attr": 'say "hi" & <bye>', "@other": "it's", "@both": "'\"", "@n": None, "@num": 7, "@flag": False,
           "child": {"@only": "attributes"}}},
    {"R": {"#text": "text after children", "child": "c", "@a": "1"}},
    {"R": {"#text": "only text"}},
    {"R": {"#text": ""}},
    {"R": {"#text": None, "c": ["1", "2"]}},
    {"R": {"#text": 5}},
    {"R": "just a string"},
    {"R": None},
    {"R": {}},
    {"R": ["single"]},
    {"Ünïcode": {"näme": "välue"}},
    {"Response": {"Errors": [{"Error": {"Code": "InvalidInstanceID.NotFound", "Message": "The ID 'i-1' does not"}}],
                  "RequestID": "abc"}},
]


@pytest.mark.parametrize("body", _BODIES)
@pytest.mark.parametrize("full_document", [True, False])
def test_unparse_writes_what_xmltodict_writes(body, full_document):
    assert unparse(body, full_document=full_document) == xmltodict.unparse(
        body, full_document=full_document, short_empty_elements=True)


def test_unparse_without_full_document_takes_several_roots():
    body = {"A": ["1", "2"], "B": {"c": "3"}}
    assert unparse(body, full_document=False) == xmltodict.unparse(body, full_document=False,
                                                                     short_empty_elements=True)


class _Text(str):
    pass


_REFUSED = [
    {"R": ("a", "b")},                        # an iterable other than a list
    {"R": b"bytes"},
    {"R": {"#comment": "c"}},
    {"R": {"@xmlns": {"p": "urn:x"}}},        # a namespace map
    {"R": [["nested"]]},
    {"R": _Text("subclass")},
    {"R": {"c": object()}},
    {"R": 1, "S": 2},                         # two roots
    {"R": ["a", "b"]},                        # a list at the root of a document
    {},                                       # no root
    {"bad name": "x"},
    {"R": {"a=b": "x"}},
    {"R": {"@bad/attr": "x"}},
    {"?pi": "x"},
    {1: "x"},
]


@pytest.mark.parametrize("body", _REFUSED)
def test_unparse_refuses_what_it_cannot_prove_and_xmltodict_writes_it(body):
    with pytest.raises(Unsupported):
        unparse(body, full_document=True)
    serializer = FastEC2Serializer(operation_model=get_service_model("ec2").operation_model("DescribeInstances"))
    fallbacks = ec2serialize.stats["xmltodict_bodies"]
    try:
        expected = xmltodict.unparse(body, full_document=True, short_empty_elements=True)
    except Exception as exc:  # xmltodict refuses it too: the same error comes out
        with pytest.raises(type(exc)):
            serializer._serialize_body(body)
    else:
        assert serializer._serialize_body(body) == expected
    assert ec2serialize.stats["xmltodict_bodies"] == fallbacks + 1


def test_pretty_printing_is_left_to_xmltodict():
    serializer = FastEC2Serializer(operation_model=get_service_model("ec2").operation_model("DescribeInstances"),
                                   pretty_print=True)
    body = {"R": {"a": ["1", "2"], "b": {}}}
    assert serializer._serialize_body(body) == xmltodict.unparse(body, full_document=True, pretty=True,
                                                                 short_empty_elements=True)
