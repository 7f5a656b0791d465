"""The one place the simulator reads and changes moto's EC2 state directly."""
from __future__ import annotations

from moto.ec2.exceptions import InvalidInstanceIdError
from moto.ec2.models import ec2_backends
from moto.ec2.models.tags import TagBackend
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix


def ec2_backend(account_id: str, region: str):
    return ec2_backends[account_id][region]


def find_instance(instance_id: str, region: str, account_id: str | None = None):
    """The EC2 instance with this ID in the region (in one account, or in any account), or None."""
    accounts = [account_id] if account_id else list(ec2_backends.keys())
    for account in accounts:
        if account not in ec2_backends:
            continue
        try:
            return ec2_backends[account][region].get_instance(instance_id)
        except InvalidInstanceIdError:
            continue
    return None


def find_instance_account(instance_id: str, region: str):
    """(account, instance) for an instance ID in any account of the region, or (None, None)."""
    for account in list(ec2_backends.keys()):
        try:
            return account, ec2_backends[account][region].get_instance(instance_id)
        except InvalidInstanceIdError:
            continue
    return None, None


def instance_tags(backend, resource_id: str) -> dict:
    return dict(backend.tags.get(resource_id, {}))


def set_tags(backend, resource_id: str, tags: dict) -> None:
    backend.create_tags([resource_id], tags)


def platform_of(instance) -> str:
    return "windows" if (getattr(instance, "platform", None) or "").lower() == "windows" else "linux"


def boot_mode_of(instance) -> str:
    """The boot mode the instance boots with (EC2's CurrentInstanceBootMode, see ec2defaults.py); without the
    simulator's EC2 defaults installed, the instance's own boot mode or the instance type default."""
    current = getattr(instance, "current_instance_boot_mode", None)
    if current:
        return current
    return getattr(instance, "boot_mode", None) or ("uefi" if instance.architecture == "arm64" else "legacy-bios")


def _fast_tag_lookup(describe_tags):
    """moto answers every resource's own tags (DescribeInstances asks once or twice per instance) by scanning
    the tags of every resource in the region, which makes reading N instances cost N squared: 1,000 instances
    took seconds. Tags are kept by resource ID, so a lookup of one exact ID reads just its tags; any other filter
    (wildcards, keys, values, types) takes moto's own path, and the answer is the same."""

    def lookup(self, filters=None):
        ids = (filters or {}).get("resource-id") or ()
        if len(filters or ()) == 1 and len(ids) == 1 and not any(c in ids[0] for c in "*?[\\"):
            return [{"resource_id": ids[0], "key": key, "value": value,
                     "resource_type": EC2_PREFIX_TO_RESOURCE.get(get_prefix(ids[0]), "")}
                    for key, value in (self.tags[ids[0]] if ids[0] in self.tags else {}).items()]
        return describe_tags(self, filters)

    lookup.fast_tag_lookup = True
    return lookup


if not getattr(TagBackend.describe_tags, "fast_tag_lookup", False):
    TagBackend.describe_tags = _fast_tag_lookup(TagBackend.describe_tags)
