"""Who made a request: the IAM user or role session that owns its access key, with that identity's policies.

Access keys are looked up in moto's IAM (users' keys) and STS (role sessions) backends, the way moto's own access
control (`moto/iam/access_control.py`) finds them. A key that no IAM user and no session of an existing role owns is
the simulator's operator (the `testing` key of tests, or a session of a role that does not exist): it acts as the
account's root user does, allowed everything, which is how estates are built before a run.
"""
from __future__ import annotations

import json
from urllib.parse import unquote

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

PARTITION = "aws"


class Principal:
    """An IAM identity: kind "user" or "role" (an assumed-role session), or "operator" (not evaluated)."""

    def __init__(self, kind, account, name="", arn="", session_name="", session_policy=None, access_key=""):
        self.kind, self.account, self.name, self.arn = kind, account, name, arn
        self.session_name, self.session_policy, self.access_key = session_name, session_policy, access_key

    @property
    def enforced(self) -> bool:
        return self.kind in ("user", "role")

    @property
    def policy_source_arn(self) -> str:
        """The ARN iam:SimulatePrincipalPolicy takes for this identity: the user, or the role of the session."""
        if self.kind == "role":
            return f"arn:{PARTITION}:iam::{self.account}:role/{self.name}"
        return self.arn

    def describe(self) -> dict:
        return {"kind": self.kind, "account": self.account, "name": self.name, "arn": self.arn}

    def __repr__(self):
        return f"Principal({self.kind}, {self.arn or self.account})"


OPERATOR = "operator"


def _iam(account):
    return iam_backends[account][PARTITION]


def find_principal(access_key: str | None, account: str, session_token: str | None = None) -> Principal:
    """The identity behind an access key (in the account the key maps to)."""
    if not access_key:
        return Principal(OPERATOR, account)
    iam = _iam(account)
    for user in iam.users.values():
        for key in user.access_keys:
            if key.access_key_id == access_key:
                return Principal("user", account, user.name, f"arn:{PARTITION}:iam::{account}:user/{user.name}",
                                 access_key=access_key)
    for session in sts_backends[account][PARTITION].assumed_roles:
        if session.access_key_id != access_key:
            continue
        role_name = session.role_arn.split("/")[-1]
        try:
            iam.get_role_by_arn(session.role_arn)
        except Exception:  # the role does not exist: a session of the operator's own making
            return Principal(OPERATOR, account)
        if session_token is not None and session_token != session.session_token:
            return Principal("invalid-token", account, role_name)
        arn = f"arn:{PARTITION}:sts::{account}:assumed-role/{role_name}/{session.session_name}"
        return Principal("role", account, role_name, arn, session.session_name, session.policy or None,
                         access_key=access_key)
    return Principal(OPERATOR, account)


def principal_by_arn(arn: str) -> Principal | None:
    """An IAM user or role named by ARN (iam:SimulatePrincipalPolicy's PolicySourceArn), or None."""
    try:
        _, _, _, _, account, resource = arn.split(":", 5)
    except ValueError:
        return None
    kind, _, path_and_name = resource.partition("/")
    name = path_and_name.split("/")[-1]
    iam = _iam(account)
    if kind == "user" and name in iam.users:
        return Principal("user", account, name, arn)
    if kind == "role":
        try:
            iam.get_role_by_arn(arn)
        except Exception:
            return None
        return Principal("role", account, name, arn)
    if kind == "assumed-role":
        role_name = path_and_name.split("/")[0]
        return Principal("role", account, role_name, arn)
    return None


def _document(policy) -> dict:
    """A policy document as a dict, from any of the forms moto stores."""
    if isinstance(policy, dict) and "policy_document" in policy:
        policy = policy["policy_document"]
    elif hasattr(policy, "versions"):
        policy = next(v for v in policy.versions if v.is_default).document
    if isinstance(policy, str):
        text = policy if policy.lstrip().startswith("{") else unquote(policy)
        return json.loads(text)
    return policy


def identity_policies(principal: Principal) -> list[tuple[str, dict]]:
    """(name, document) of every identity-based policy of a user (inline, attached, its groups') or a role."""
    iam = _iam(principal.account)
    found = []
    if principal.kind == "user":
        user = iam.users[principal.name]
        for name in iam.list_user_policies(user.name):
            found.append((name, _document(iam.get_user_policy(user.name, name))))
        attached, _ = iam.list_attached_user_policies(user.name)
        found += [(p.name, _document(p)) for p in attached]
        for group in iam.get_groups_for_user(user.name):
            for name in iam.list_group_policies(group.name):
                found.append((name, _document(iam.get_group_policy(group.name, name))))
            attached, _ = iam.list_attached_group_policies(group.name)
            found += [(p.name, _document(p)) for p in attached]
    elif principal.kind == "role":
        role = iam.get_role(principal.name)
        for name in iam.list_role_policies(role.name):
            _, document = iam.get_role_policy(role.name, name)
            found.append((name, _document(document)))
        attached, _ = iam.list_attached_role_policies(role.name)
        found += [(p.name, _document(p)) for p in attached]
    return found


def trust_policy(role_arn: str):
    """The trust policy of an existing role, or None."""
    try:
        account = role_arn.split(":")[4]
        role = _iam(account).get_role_by_arn(role_arn)
    except Exception:
        return None
    return _document(role.assume_role_policy_document)
