"""IAM's policy size quotas, which moto reports (GetAccountSummary) but does not enforce.

IAM User Guide, "IAM and AWS STS quotas" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html):
a managed policy holds at most 6,144 characters; the inline policies of one role together at most 10,240, of one
user 2,048, of one group 5,120; white space does not count. A policy over its quota is refused with LimitExceeded,
so a shipped policy that does not fit is found here, not on the day it is deployed.
"""
from __future__ import annotations

MANAGED_POLICY = 6144
INLINE = {"role": 10240, "user": 2048, "group": 5120}


def size(document) -> int:
    """Characters IAM counts: the document without white space."""
    text = document if isinstance(document, str) else str(document)
    return sum(1 for c in text if not c.isspace())


def _inline_total(entity, policy_name, policy_json) -> int:
    others = {name: doc for name, doc in (getattr(entity, "policies", None) or {}).items() if name != policy_name}
    return size(policy_json) + sum(size(doc) for doc in others.values())


def install() -> None:
    from moto.iam.exceptions import LimitExceededException
    from moto.iam.models import IAMBackend

    def managed(original, position):
        def wrapper(self, *args, **kwargs):
            document = kwargs.get("policy_document", args[position] if len(args) > position else None)
            if document is not None and size(document) > MANAGED_POLICY:
                raise LimitExceededException(f"Cannot exceed quota for PolicySize: {MANAGED_POLICY}")
            return original(self, *args, **kwargs)
        return wrapper

    def inline(original, kind, getter):
        def wrapper(self, name, policy_name, policy_json):
            entity = getattr(self, getter)(name)
            if _inline_total(entity, policy_name, policy_json) > INLINE[kind]:
                raise LimitExceededException(f"Maximum policy size of {INLINE[kind]} bytes exceeded for {kind} {name}")
            return original(self, name, policy_name, policy_json)
        return wrapper

    if getattr(IAMBackend, "_drs_simulator_quotas", False):
        return
    # moto's argument order: create_policy(description, path, policy_document, ...),
    # create_policy_version(policy_arn, policy_document, set_as_default)
    IAMBackend.create_policy = managed(IAMBackend.create_policy, 2)
    IAMBackend.create_policy_version = managed(IAMBackend.create_policy_version, 1)
    IAMBackend.put_role_policy = inline(IAMBackend.put_role_policy, "role", "get_role")
    IAMBackend.put_user_policy = inline(IAMBackend.put_user_policy, "user", "get_user")
    IAMBackend.put_group_policy = inline(IAMBackend.put_group_policy, "group", "get_group")
    IAMBackend._drs_simulator_quotas = True
