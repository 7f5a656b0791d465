# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""EC2Client against moto (in-process): batched reads, the guarded stop of launch-into targets, waiting."""

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.elasticdr.orchestration.plugins.module_utils import ec2 as ec2_utils
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import EC2Client
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import DRSAPIError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ValidationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.retry import DRSRetry

from .fakes import FakeClock
from .fakes import iid

LAUNCH_INTO = [{"Key": "AWSDRS", "Value": "AllowLaunchingIntoThisInstance"}]


class Moto:
    """A moto EC2 region with an EC2Client over it; records the EC2 operations sent."""

    def __init__(self):
        self.raw = boto3.client("ec2", region_name="us-east-1")
        self.ops = []
        self.raw.meta.events.register("provide-client-params.ec2.*", self._record)
        self.client = EC2Client(RetryingBotoClientWrapper(self.raw, DRSRetry.honour_retry_after(sleep=lambda s: None)))
        self.ami = "ami-12c6146b"  # moto does not check the image; listing AMIs is slow

    def _record(self, params, model, **kwargs):
        self.ops.append((model.name, dict(params)))

    def ops_named(self, name):
        return [params for op, params in self.ops if op == name]

    def launch(self, name, tags=(), state="running"):
        tag_list = [{"Key": "Name", "Value": name}] + list(tags)
        result = self.raw.run_instances(ImageId=self.ami, MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                        TagSpecifications=[{"ResourceType": "instance", "Tags": tag_list}])
        instance_id = result["Instances"][0]["InstanceId"]
        if state == "stopped":
            self.raw.stop_instances(InstanceIds=[instance_id])
        elif state == "terminated":
            self.raw.terminate_instances(InstanceIds=[instance_id])
        self.ops.clear()
        return instance_id


@pytest.fixture
def moto(monkeypatch):
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    with mock_aws():
        yield Moto()


def test_describe_instances_skips_unknown_ids_and_batches_by_200(moto):
    real = [moto.launch("web-01"), moto.launch("web-02")]
    unknown = [iid(n) for n in range(248)]
    found = moto.client.describe_instances(real + unknown + [None, "", real[0]])
    assert set(found) == set(real)
    assert found[real[0]]["Tags"][0] == {"Key": "Name", "Value": "web-01"}
    batches = moto.ops_named("DescribeInstances")
    assert len(batches) == 2  # 250 distinct IDs
    assert sorted(len(b["Filters"][0]["Values"]) for b in batches) == [50, 200]
    assert all("InstanceIds" not in b for b in batches)  # a filter ignores unknown IDs instead of failing


def test_instances_with_tag_key_leaves_out_terminated_instances(moto):
    alive = [moto.launch("a"), moto.launch("b", state="stopped")]
    moto.launch("c", state="terminated")
    untagged = moto.raw.run_instances(ImageId=moto.ami, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    found = {i["InstanceId"] for i in moto.client.instances_with_tag_key("Name")}
    assert found == set(alive)
    assert untagged not in found


def test_stop_refuses_untagged_instances_before_any_stop_instances(moto):
    tagged = moto.launch("web-01", LAUNCH_INTO)
    untagged = moto.launch("db-01")
    instances = list(moto.client.describe_instances([tagged, untagged]).values())
    with pytest.raises(ValidationError) as info:
        moto.client.stop_launch_into_targets(instances)
    assert untagged in info.value.message and tagged not in info.value.message
    assert info.value.server == untagged
    assert "tag the instance" in info.value.to_dict()["remediation"]
    assert moto.ops_named("StopInstances") == []
    states = {i: ec2_utils.state_of(x) for i, x in moto.client.describe_instances([tagged, untagged]).items()}
    assert states == {tagged: "running", untagged: "running"}


def test_stop_sends_a_stop_only_to_running_tagged_targets_and_waits(moto):
    running = moto.launch("web-01", LAUNCH_INTO)
    stopped = moto.launch("web-02", LAUNCH_INTO, state="stopped")
    instances = list(moto.client.describe_instances([running, stopped]).values())
    assert moto.client.stop_launch_into_targets(instances) == [running]
    assert moto.ops_named("StopInstances") == [{"InstanceIds": [running]}]
    clock = FakeClock()
    assert moto.client.wait_for_state([running, stopped], "stopped", sleep=clock.sleep, clock=clock) == {}
    assert clock.sleeps == []


def test_stop_instances_is_unconditional_for_failback(moto):
    original = moto.launch("web-01")  # an original server is not tagged AWSDRS
    moto.client.stop_instances([original])
    moto.client.stop_instances([])
    assert moto.ops_named("StopInstances") == [{"InstanceIds": [original]}]
    assert ec2_utils.state_of(moto.client.describe_instances([original])[original]) == "stopped"


def test_wait_for_state_times_out_and_reports_what_is_left(moto):
    stopped = moto.launch("web-01", state="stopped")
    missing = iid(0xDEAD)
    clock = FakeClock()
    left = moto.client.wait_for_state([stopped, missing], "running", timeout=30, poll=5, sleep=clock.sleep,
                                      clock=clock)
    assert left == {stopped: "stopped", missing: None}
    assert clock.sleeps == [5] * 6
    assert len(moto.ops_named("DescribeInstances")) == 7


def test_primary_private_ip_of_a_moto_instance(moto):
    instance_id = moto.launch("web-01")
    instance = moto.client.describe_instances([instance_id])[instance_id]
    assert ec2_utils.primary_private_ip(instance) == instance["PrivateIpAddress"]


def test_primary_private_ip_prefers_device_index_0():
    instance = {"PrivateIpAddress": "10.0.0.9", "NetworkInterfaces": [
        {"PrivateIpAddress": "10.0.0.7", "Attachment": {"DeviceIndex": 1}},
        {"PrivateIpAddress": "10.0.0.5", "Attachment": {"DeviceIndex": 0}}]}
    assert ec2_utils.primary_private_ip(instance) == "10.0.0.5"
    assert ec2_utils.primary_private_ip({"PrivateIpAddress": "10.0.0.9"}) == "10.0.0.9"
    assert ec2_utils.primary_private_ip({}) is None


@pytest.fixture
def stubbed_ec2():
    raw = boto3.client("ec2", region_name="us-east-1", aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="x")
    stubber = Stubber(raw)
    with stubber:
        yield EC2Client(RetryingBotoClientWrapper(raw, DRSRetry.honour_retry_after(sleep=lambda s: None))), stubber
        stubber.assert_no_pending_responses()


def test_tag_listing_follows_next_token(stubbed_ec2):
    client, stubber = stubbed_ec2
    filters = [{"Name": "tag-key", "Values": ["Name"]},
               {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}]
    stubber.add_response("describe_instances", {"Reservations": [{"Instances": [{"InstanceId": iid(1)}]}],
                                                "NextToken": "n1"}, {"Filters": filters, "MaxResults": 1000})
    stubber.add_response("describe_instances", {"Reservations": [{"Instances": [{"InstanceId": iid(2)}]}]},
                         {"Filters": filters, "MaxResults": 1000, "NextToken": "n1"})
    assert [i["InstanceId"] for i in client.instances_with_tag_key("Name")] == [iid(1), iid(2)]
    assert client.calls == 2


def test_ec2_errors_become_drs_api_errors(stubbed_ec2):
    client, stubber = stubbed_ec2
    stubber.add_client_error("describe_instances", "UnauthorizedOperation", "not allowed", 403)
    with pytest.raises(DRSAPIError) as info:
        client.describe_instances([iid(1)])
    assert info.value.message == "Failed to describe EC2 instances"
    assert (info.value.code, info.value.status) == ("UnauthorizedOperation", 403)
