"""The simulator's direct look-up of an EC2 resource's tags (drs_simulator/ec2tags.py) gives what moto's own
scan gives, entry for entry, and DescribeInstances through the simulator shows and filters tags as before."""
import boto3
from moto import mock_aws

from drs_simulator import ec2tags


def _moto_scan(resource):
    """moto's original answer: describe_tags filtered by the resource's ID."""
    return resource.ec2_backend.describe_tags(filters={"resource-id": [resource.id]})


@mock_aws
def test_direct_lookup_equals_moto_scan_for_every_resource():
    from moto.ec2.models import ec2_backends

    ec2 = boto3.client("ec2", region_name="eu-west-1")
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    tagged = ec2.run_instances(ImageId=ami, MinCount=3, MaxCount=3, TagSpecifications=[{
        "ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web-1"}, {"Key": "AWSDRS", "Value": "x"}]}])
    plain = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    first = tagged["Instances"][0]["InstanceId"]
    ec2.create_tags(Resources=[first], Tags=[{"Key": "Role", "Value": "db"}, {"Key": "Name", "Value": "web-9"}])
    ec2.delete_tags(Resources=[tagged["Instances"][1]["InstanceId"]], Tags=[{"Key": "AWSDRS"}])
    volume = ec2.create_volume(AvailabilityZone="eu-west-1a", Size=8, TagSpecifications=[{
        "ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "data"}]}])["VolumeId"]

    backend = ec2_backends["123456789012"]["eu-west-1"]
    instances = {i.id: i for r in backend.reservations.values() for i in r.instances}
    resources = list(instances.values()) + [backend.get_volume(volume)]
    assert len(resources) == 5
    for resource in resources:
        assert ec2tags.tags_of(resource) == _moto_scan(resource), resource.id
    assert ec2tags.tags_of(instances[plain]) == []
    assert [(t["key"], t["value"]) for t in ec2tags.tags_of(instances[first])] == [
        ("Name", "web-9"), ("AWSDRS", "x"), ("Role", "db")]
    assert plain not in backend.tags  # looking up an untagged resource does not add it to the backend

    ec2tags.install()
    ec2tags.install()  # once per process: a second call does not wrap the replacement
    for resource in resources:
        assert resource.get_tags() == _moto_scan(resource), resource.id
    described = {i["InstanceId"]: i.get("Tags", []) for r in ec2.describe_instances()["Reservations"]
                 for i in r["Instances"]}
    assert described[first] == [{"Key": "Name", "Value": "web-9"}, {"Key": "AWSDRS", "Value": "x"},
                                {"Key": "Role", "Value": "db"}]
    assert described[plain] == []


def test_describe_instances_through_the_simulator_shows_and_filters_tags(sim):
    ec2 = sim.client("ec2")
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ids = [i["InstanceId"] for i in ec2.run_instances(ImageId=ami, MinCount=4, MaxCount=4)["Instances"]]
    for n, instance_id in enumerate(ids[:3]):
        ec2.create_tags(Resources=[instance_id], Tags=[{"Key": "Name", "Value": f"app-{n}"}])
    ec2.delete_tags(Resources=[ids[2]], Tags=[{"Key": "Name"}])

    def described(**params):
        return {i["InstanceId"]: {t["Key"]: t["Value"] for t in i.get("Tags", [])}
                for r in ec2.describe_instances(**params)["Reservations"] for i in r["Instances"]}

    assert described(InstanceIds=ids) == {ids[0]: {"Name": "app-0"}, ids[1]: {"Name": "app-1"}, ids[2]: {}, ids[3]: {}}
    assert set(described(Filters=[{"Name": "tag-key", "Values": ["Name"]}])) == {ids[0], ids[1]}
    assert set(described(Filters=[{"Name": "tag:Name", "Values": ["app-1"]}])) == {ids[1]}
