# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Every EC2 call the collection makes, in one place: batched reads and the guarded stop/start of
launch-into targets."""

import time

from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import DRSAPIError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ValidationError

LAUNCH_INTO_TAG_KEY = "AWSDRS"
LAUNCH_INTO_TAG_VALUE = "AllowLaunchingIntoThisInstance"
MAX_INSTANCE_IDS = 200
MAX_PAGE = 1000


class EC2ErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = DRSAPIError

    @classmethod
    def _is_missing(cls):
        from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code

        return is_boto3_error_code("InvalidInstanceID.NotFound")


def tags_of(resource):
    return {t["Key"]: t["Value"] for t in resource.get("Tags") or []}


def has_launch_into_tag(instance):
    return tags_of(instance).get(LAUNCH_INTO_TAG_KEY) == LAUNCH_INTO_TAG_VALUE


def state_of(instance):
    return (instance.get("State") or {}).get("Name")


class EC2Client:
    """EC2 in one account and region. `client` is a retrying boto3 EC2 client."""

    def __init__(self, client):
        self.client = client
        self.calls = 0

    def _call(self, operation, **params):
        self.calls += 1
        return getattr(self.client, operation)(aws_retry=True, **params)

    def _instances(self, **params):
        while True:
            page = self._call("describe_instances", **params)
            for reservation in page.get("Reservations", []):
                yield from reservation.get("Instances", [])
            token = page.get("NextToken")
            if not token:
                return
            params["NextToken"] = token

    @EC2ErrorHandler.common_error_handler("describe EC2 instances")
    def describe_instances(self, instance_ids):
        """{instance_id: instance} for the IDs that exist (missing IDs are absent, not errors)."""
        found = {}
        ids = sorted(set(i for i in instance_ids if i))
        for start in range(0, len(ids), MAX_INSTANCE_IDS):
            batch = ids[start:start + MAX_INSTANCE_IDS]
            # A filter, unlike InstanceIds, ignores unknown IDs instead of failing the whole batch.
            for instance in self._instances(Filters=[{"Name": "instance-id", "Values": batch}], MaxResults=MAX_PAGE):
                found[instance["InstanceId"]] = instance
        return found

    @EC2ErrorHandler.common_error_handler("list EC2 instances tagged {tag_key}")
    def instances_with_tag_key(self, tag_key):
        """Every instance (not terminated) that carries tag_key, in pages of 1000."""
        filters = [
            {"Name": "tag-key", "Values": [tag_key]},
            {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
        ]
        return list(self._instances(Filters=filters, MaxResults=MAX_PAGE))

    def stop_launch_into_targets(self, instances):
        """Stop the given target instances (dicts from describe_instances); refuse any without the AWSDRS
        tag, so a wrong ID can never stop an unrelated server. Returns the IDs a stop was sent to."""
        untagged = [i["InstanceId"] for i in instances if not has_launch_into_tag(i)]
        if untagged:
            raise ValidationError(
                f"Refusing to stop {', '.join(untagged)}: not tagged "
                f"{LAUNCH_INTO_TAG_KEY}={LAUNCH_INTO_TAG_VALUE}.",
                server=", ".join(untagged),
                remediation="Only pre-provisioned launch-into targets are stopped by the collection; tag the "
                            "instance if it really is one, or correct the pair.")
        to_stop = [i["InstanceId"] for i in instances if state_of(i) in ("pending", "running")]
        if to_stop:
            self._stop(to_stop)
        return to_stop

    @EC2ErrorHandler.common_error_handler("stop instances")
    def _stop(self, instance_ids):
        # Safe to send again after a lost response: StopInstances of a stopping or stopped instance changes
        # nothing and succeeds (EC2 API reference, StopInstances), and wait_for_state follows up anyway.
        for start in range(0, len(instance_ids), MAX_INSTANCE_IDS):
            self._call("stop_instances", InstanceIds=instance_ids[start:start + MAX_INSTANCE_IDS])

    def stop_instances(self, instance_ids):
        """Stop instances unconditionally (failback: the original servers before launching back)."""
        if instance_ids:
            self._stop(list(instance_ids))

    @EC2ErrorHandler.common_error_handler("tag instances {instance_ids} as launch-into targets")
    def add_launch_into_tag(self, instance_ids):
        """Tag instances AWSDRS=AllowLaunchingIntoThisInstance (failback: the original instances, which DRS
        itself records as the protected ones). Callers decide which instances; this only writes the tag."""
        ids = list(instance_ids)
        # Safe to send again after a lost response: CreateTags of a tag already there overwrites it with the
        # same value (EC2 API reference, CreateTags).
        for start in range(0, len(ids), MAX_INSTANCE_IDS):
            self._call("create_tags", Resources=ids[start:start + MAX_INSTANCE_IDS],
                       Tags=[{"Key": LAUNCH_INTO_TAG_KEY, "Value": LAUNCH_INTO_TAG_VALUE}])

    def wait_for_state(self, instance_ids, wanted, timeout=600, poll=5, sleep=time.sleep, clock=time.monotonic):
        """Poll until every instance is in state `wanted`; returns {id: state} of any that are not."""
        deadline = clock() + timeout
        pending = set(instance_ids)
        while pending:
            states = {i: state_of(inst) for i, inst in self.describe_instances(pending).items()}
            pending = {i for i in pending if states.get(i) != wanted}
            if not pending or clock() >= deadline:
                return {i: states.get(i) for i in pending}
            sleep(poll)
        return {}


def boot_mode_of(instance):
    """The boot mode an EC2 instance boots with: CurrentInstanceBootMode. BootMode is only the one its AMI specified
    and may be uefi-preferred, which boots UEFI or Legacy BIOS depending on the instance type
    (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-boot-mode.html); it stands in when the current
    mode is not shown and it names one mode. None when neither says."""
    current = instance.get("CurrentInstanceBootMode")
    if current:
        return current
    boot = instance.get("BootMode")
    return boot if boot in ("uefi", "legacy-bios") else None


def primary_private_ip(instance):
    """The primary private IP of an EC2 instance (device index 0), or its PrivateIpAddress."""
    for eni in instance.get("NetworkInterfaces") or []:
        if (eni.get("Attachment") or {}).get("DeviceIndex") == 0:
            return eni.get("PrivateIpAddress")
    return instance.get("PrivateIpAddress")
