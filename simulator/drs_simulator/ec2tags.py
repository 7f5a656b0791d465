"""moto's EC2 tag look-up by resource, made a dictionary look-up; what it returns is unchanged.

moto 5.2.5 (`moto/ec2/models/core.py`, `TaggedEC2Resource.get_tags`) finds one resource's tags by calling
`TagBackend.describe_tags(filters={"resource-id": [id]})`, which compiles the ID into a pattern and scans every
tag of every resource in the region. Each instance in a DescribeInstances response, and each instance a tag filter
is evaluated on, asks for its tags that way, so one DescribeInstances page costs O(instances x tags in the region):
1.4 s of moto's work for one page of 1,000 tagged instances, where AWS answers in well under a second. The
estates this simulator serves (1,000 servers and their targets) made that the largest part of a bench figure.

The backend keeps the tags as `tags[resource_id][key] = value`, which is what the scan reads; this returns the
same entries (same keys, same order) straight from there. An EC2 resource ID never holds the wildcard characters
the scan's pattern would treat specially, so the exact look-up matches what the pattern matched.
"""
from __future__ import annotations

_APPLIED_MARK = "_drs_simulator_direct_tags"


def tags_of(resource) -> list[dict[str, str]]:
    """The tag entries moto's describe_tags gives for this one resource, in the same shape and order."""
    from moto.ec2.models.tags import EC2_PREFIX_TO_RESOURCE
    from moto.ec2.utils import get_prefix

    resource_id = getattr(resource, "id", None)
    if not resource_id:
        return []
    tags = resource.ec2_backend.tags.get(resource_id)  # .get: the backend's defaultdict must not grow
    if not tags:
        return []
    resource_type = EC2_PREFIX_TO_RESOURCE.get(get_prefix(resource_id), "")
    return [{"resource_id": resource_id, "key": key, "value": value, "resource_type": resource_type}
            for key, value in tags.copy().items()]


def install() -> None:
    """Replace TaggedEC2Resource.get_tags once per process."""
    from moto.ec2.models.core import TaggedEC2Resource

    if getattr(TaggedEC2Resource.get_tags, _APPLIED_MARK, False):
        return

    def get_tags(self):
        return tags_of(self)

    setattr(get_tags, _APPLIED_MARK, True)
    TaggedEC2Resource.get_tags = get_tags
