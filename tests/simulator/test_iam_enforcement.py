"""IAM enforced in the simulator (docs/simulator.md, "IAM enforcement"): requests signed by IAM users and role
sessions are authorised against their policies as AWS does; DRS acts with the caller's credentials during a
launch into an existing instance; iam:SimulatePrincipalPolicy answers from the same evaluator."""
from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from simlib import NO_RETRY, PRIMARY, RECOVERY, small_estate

ACCOUNT = "123456789012"
LAUNCH_INTO_TAG = {"ec2:ResourceTag/AWSDRS": "AllowLaunchingIntoThisInstance"}
DRS_RECOVERY = ["drs:DescribeSourceServers", "drs:DescribeJobs", "drs:DescribeJobLogItems", "drs:StartRecovery",
                "drs:GetLaunchConfiguration", "drs:UpdateLaunchConfiguration", "drs:DescribeRecoveryInstances"]


def _policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(actions, resource="*", condition=None, sid=None):
    statement = {"Effect": "Allow", "Action": actions, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    if sid:
        statement["Sid"] = sid
    return statement


def _user(sim, name, *statements):
    """An IAM user with one inline policy, and a boto3 session signed with its access key."""
    iam = sim.client("iam", region=PRIMARY)
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=_policy(*statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return boto3.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])


def _role(sim, name, trust, *statements):
    iam = sim.client("iam", region=PRIMARY)
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=_policy(*statements))
    return arn


def _client(sim, session, service, region=RECOVERY):
    return session.client(service, region_name=region, endpoint_url=sim.url, config=NO_RETRY)


def _code(error):
    return error.value.response["Error"]["Code"], error.value.response["Error"]["Message"]


@pytest.fixture
def enforced(sim):
    sim.control("POST", "iam", {"enforce": True})
    yield sim
    sim.control("POST", "iam", {"enforce": False})


def test_off_by_default_and_the_operator_is_never_evaluated(sim):
    assert sim.control("GET", "iam")["enforce"] is False
    session = _user(sim, "nobody", _allow(["sts:GetCallerIdentity"]))
    _client(sim, session, "ec2").describe_instances()  # no policy allows it, but enforcement is off
    sim.control("POST", "iam", {"enforce": True})
    try:
        sim.client("ec2").describe_instances()  # the operator's `testing` key: the account's root user
        with pytest.raises(ClientError) as error:
            _client(sim, session, "ec2").describe_instances()
        assert _code(error)[0] == "UnauthorizedOperation"
    finally:
        sim.control("POST", "iam", {"enforce": False})


def test_stop_only_on_tagged_instances_with_the_service_error_naming_action_and_resource(enforced):
    sim = enforced
    estate = sim.load_estate(small_estate(2, 1))
    tagged = estate["servers"]["db-01"]["target_instance_id"]
    untagged = estate["servers"]["db-02"]["target_instance_id"]
    operator_ec2 = sim.client("ec2")
    operator_ec2.start_instances(InstanceIds=[tagged, untagged])
    operator_ec2.delete_tags(Resources=[untagged], Tags=[{"Key": "AWSDRS"}])
    session = _user(sim, "operator-1", _allow(["ec2:DescribeInstances"]),
                    _allow(["ec2:StopInstances"], "arn:aws:ec2:*:*:instance/*", {"StringEquals": LAUNCH_INTO_TAG}))
    ec2 = _client(sim, session, "ec2")
    ec2.stop_instances(InstanceIds=[tagged])
    with pytest.raises(ClientError) as error:
        ec2.stop_instances(InstanceIds=[untagged])
    code, message = _code(error)
    assert code == "UnauthorizedOperation"
    assert "ec2:StopInstances" in message and f"instance/{untagged}" in message
    assert "user/operator-1" in message
    state = {i["InstanceId"]: i["State"]["Name"] for r in operator_ec2.describe_instances()["Reservations"]
             for i in r["Instances"]}
    assert state[untagged] == "running"  # the refused call changed nothing
    assert state[tagged] in ("stopping", "stopped")
    denials = sim.control("GET", "iam")["denials"]
    assert [d["action"] for d in denials] == ["ec2:StopInstances"]


def test_create_tags_conditions_on_request_tags_and_tag_keys(enforced):
    sim = enforced
    estate = sim.load_estate(small_estate(1, 1))
    instance = estate["servers"]["db-01"]["target_instance_id"]
    session = _user(sim, "tagger", _allow(["ec2:CreateTags"], "arn:aws:ec2:*:*:instance/*", {
        "StringEquals": {"aws:RequestTag/AWSDRS": "AllowLaunchingIntoThisInstance"},
        "ForAllValues:StringEquals": {"aws:TagKeys": ["AWSDRS"]}}))
    ec2 = _client(sim, session, "ec2")
    ec2.create_tags(Resources=[instance], Tags=[{"Key": "AWSDRS", "Value": "AllowLaunchingIntoThisInstance"}])
    for tags in ([{"Key": "AWSDRS", "Value": "something-else"}],
                 [{"Key": "AWSDRS", "Value": "AllowLaunchingIntoThisInstance"}, {"Key": "Owner", "Value": "x"}]):
        with pytest.raises(ClientError) as error:
            ec2.create_tags(Resources=[instance], Tags=tags)
        assert "ec2:CreateTags" in _code(error)[1]


def test_assume_role_needs_the_trust_policy_and_its_external_id(enforced):
    sim = enforced
    user = _user(sim, "orchestrator", _allow(["sts:AssumeRole"], f"arn:aws:iam::{ACCOUNT}:role/Target"))
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/orchestrator"},
        "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": "s3cret"}}}]}
    role_arn = _role(sim, "Target", trust, _allow(["drs:DescribeSourceServers"]))
    # A trust policy that names only the account: the user's own policy must allow the role too (IAM User Guide,
    # "Policy evaluation logic"); one that names the user itself is enough within the account.
    account_trust = json.loads(json.dumps(trust))
    account_trust["Statement"][0]["Principal"] = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    _role(sim, "Other", account_trust, _allow(["drs:DescribeSourceServers"]))
    sts = _client(sim, user, "sts", PRIMARY)
    for kwargs in ({}, {"ExternalId": "wrong"}):
        with pytest.raises(ClientError) as error:
            sts.assume_role(RoleArn=role_arn, RoleSessionName="run", **kwargs)
        assert _code(error)[0] == "AccessDenied" and "sts:AssumeRole" in _code(error)[1]
    with pytest.raises(ClientError) as error:  # trusted through the account, but the user's policy does not name it
        sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/Other", RoleSessionName="run", ExternalId="s3cret")
    assert "because no identity-based policy allows the sts:AssumeRole action" in _code(error)[1]
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="run", ExternalId="s3cret")["Credentials"]
    role = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"])
    drs = _client(sim, role, "drs")
    sim.client("drs").initialize_service()
    assert drs.describe_source_servers()["items"] == []
    with pytest.raises(ClientError) as error:
        drs.describe_jobs()
    code, message = _code(error)
    assert code == "AccessDeniedException"
    assert "assumed-role/Target/run" in message and "drs:DescribeJobs" in message
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_an_explicit_deny_wins_and_not_action(enforced):
    sim = enforced
    session = _user(sim, "reader", _allow(["ec2:Describe*", "drs:*"]),
                    {"Effect": "Deny", "NotAction": ["ec2:DescribeInstances", "drs:Describe*"], "Resource": "*"})
    _client(sim, session, "ec2").describe_instances()
    with pytest.raises(ClientError) as error:
        _client(sim, session, "ec2").describe_volumes()
    assert "explicit deny" in _code(error)[1]
    with pytest.raises(ClientError):
        _client(sim, session, "drs").start_recovery(sourceServers=[{"sourceServerID": "s-1234567890abcdef0"}])


def _launch_into_setup(sim, *extra_statements, disposition="STARTED"):
    estate = sim.load_estate(small_estate(1, 1))
    server = estate["servers"]["db-01"]
    sid, target = server["source_server_id"], server["target_instance_id"]
    sim.client("drs").update_launch_configuration(
        sourceServerID=sid, copyPrivateIp=False, copyTags=False, targetInstanceTypeRightSizingMethod="NONE",
        launchDisposition=disposition, launchIntoInstanceProperties={"launchIntoEC2InstanceID": target})
    session = _user(sim, "recoverer", _allow(DRS_RECOVERY), *extra_statements)
    return sid, target, _client(sim, session, "drs")


CALLED_VIA = {"ForAnyValue:StringEquals": {"aws:CalledVia": ["drs.amazonaws.com"]}, "StringEquals": LAUNCH_INTO_TAG}


def test_launch_into_fails_when_the_caller_may_not_swap_the_targets_volumes(enforced):
    sim = enforced
    sid, target, drs = _launch_into_setup(
        sim, _allow(["drs:CreateRecoveryInstanceForDrs"]),
        _allow(["ec2:DetachVolume", "ec2:StartInstances"], "arn:aws:ec2:*:*:instance/*", CALLED_VIA))
    volumes_before = sorted(b["Ebs"]["VolumeId"] for b in sim.client("ec2").describe_instances(
        InstanceIds=[target])["Reservations"][0]["Instances"][0]["BlockDeviceMappings"])
    job = drs.start_recovery(sourceServers=[{"sourceServerID": sid}], isDrill=False)["job"]
    done = sim.run_job(sim.client("drs"), job["jobID"], step=300)
    assert done["participatingServers"][0]["launchStatus"] == "FAILED"
    (failed,) = [e for e in sim.client("drs").describe_job_log_items(jobID=job["jobID"])["items"]
                 if e["event"] == "LAUNCH_FAILED"]
    raw = failed["eventData"]["rawError"]
    assert "ec2:AttachVolume" in raw and f"instance/{target}" in raw and "user/recoverer" in raw
    instance = sim.client("ec2").describe_instances(InstanceIds=[target])["Reservations"][0]["Instances"][0]
    assert sorted(b["Ebs"]["VolumeId"] for b in instance["BlockDeviceMappings"]) == volumes_before
    assert instance["State"]["Name"] == "stopped"


def test_launch_into_succeeds_with_the_called_via_statements_only(enforced):
    sim = enforced
    # The same actions granted without aws:CalledVia would also allow them; granted only with it, DRS may use them
    # and the caller may not call them directly.
    sid, target, drs = _launch_into_setup(
        sim, _allow(["drs:CreateRecoveryInstanceForDrs"]),
        _allow(["ec2:DetachVolume", "ec2:AttachVolume", "ec2:StartInstances"], "arn:aws:ec2:*:*:instance/*",
               CALLED_VIA))
    job = drs.start_recovery(sourceServers=[{"sourceServerID": sid}], isDrill=False)["job"]
    done = sim.run_job(sim.client("drs"), job["jobID"], step=300)
    assert (done["participatingServers"][0]["launchStatus"],
            done["participatingServers"][0]["recoveryInstanceID"]) == ("LAUNCHED", target)
    instance = sim.client("ec2").describe_instances(InstanceIds=[target])["Reservations"][0]["Instances"][0]
    assert instance["State"]["Name"] in ("pending", "running")


def test_a_stopped_disposition_needs_no_start_and_tags_need_drs_tag_resource(enforced):
    sim = enforced
    sid, target, drs = _launch_into_setup(
        sim, _allow(["drs:CreateRecoveryInstanceForDrs"]),
        _allow(["ec2:DetachVolume", "ec2:AttachVolume"], "arn:aws:ec2:*:*:instance/*", CALLED_VIA),
        disposition="STOPPED")
    with pytest.raises(ClientError) as error:
        drs.start_recovery(sourceServers=[{"sourceServerID": sid}], isDrill=False, tags={"execution": "e-1"})
    assert "drs:TagResource" in _code(error)[1]
    assert sim.client("drs").describe_jobs()["items"] == []  # refused before any job
    job = drs.start_recovery(sourceServers=[{"sourceServerID": sid}], isDrill=False)["job"]
    done = sim.run_job(sim.client("drs"), job["jobID"], step=300)
    assert done["participatingServers"][0]["launchStatus"] == "LAUNCHED"


def test_simulate_principal_policy_answers_from_the_same_evaluator(sim):
    _user(sim, "planner", _allow(["drs:StartRecovery"]),
          _allow(["ec2:AttachVolume"], "arn:aws:ec2:*:*:instance/*", CALLED_VIA))
    iam = sim.client("iam", region=PRIMARY)
    arn = f"arn:aws:iam::{ACCOUNT}:user/planner"
    instance = f"arn:aws:ec2:{RECOVERY}:{ACCOUNT}:instance/i-0123456789abcdef0"
    result = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["drs:StartRecovery", "drs:DeleteJob"])
    decisions = {r["EvalActionName"]: r["EvalDecision"] for r in result["EvaluationResults"]}
    assert decisions == {"drs:StartRecovery": "allowed", "drs:DeleteJob": "implicitDeny"}
    without = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["ec2:AttachVolume"],
                                            ResourceArns=[instance])["EvaluationResults"][0]
    assert without["EvalDecision"] == "implicitDeny"
    assert set(without["MissingContextValues"]) == {"aws:CalledVia", "ec2:ResourceTag/AWSDRS"}
    with_context = iam.simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["ec2:AttachVolume"], ResourceArns=[instance],
        ContextEntries=[{"ContextKeyName": "aws:CalledVia", "ContextKeyType": "stringList",
                         "ContextKeyValues": ["drs.amazonaws.com"]},
                        {"ContextKeyName": "ec2:ResourceTag/AWSDRS", "ContextKeyType": "string",
                         "ContextKeyValues": ["AllowLaunchingIntoThisInstance"]}])["EvaluationResults"][0]
    assert with_context["EvalDecision"] == "allowed"
    assert with_context["EvalResourceName"] == instance
    pages = list(iam.get_paginator("simulate_principal_policy").paginate(
        PolicySourceArn=arn, ActionNames=["drs:StartRecovery", "drs:DeleteJob", "drs:DescribeJobs"],
        PaginationConfig={"PageSize": 2}))
    assert [len(p["EvaluationResults"]) for p in pages] == [2, 1]
    with pytest.raises(ClientError) as error:
        iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/missing",
                                      ActionNames=["drs:StartRecovery"])
    assert _code(error)[0] == "NoSuchEntity"


def test_put_metric_data_only_in_the_namespace_the_condition_names(enforced):
    sim = enforced
    session = _user(sim, "publisher", _allow(["cloudwatch:PutMetricData"], "*",
                                             {"StringEquals": {"cloudwatch:namespace": "ElasticDR/Orchestration"}}))
    cloudwatch = _client(sim, session, "cloudwatch")
    cloudwatch.put_metric_data(Namespace="ElasticDR/Orchestration", MetricData=[{"MetricName": "m", "Value": 1}])
    with pytest.raises(ClientError) as error:
        cloudwatch.put_metric_data(Namespace="Other", MetricData=[{"MetricName": "m", "Value": 1}])
    assert "cloudwatch:PutMetricData" in _code(error)[1]
    metrics = sim.client("cloudwatch").list_metrics(MetricName="m")["Metrics"]
    assert {m["Namespace"] for m in metrics} == {"ElasticDR/Orchestration"}


def test_policy_size_quotas_as_iam_enforces_them_and_the_shipped_policies_fit_as_role_policies(sim):
    """IAM User Guide, "IAM and AWS STS quotas": managed policies 6,144 characters, a role's inline policies
    10,240 together, a user's 2,048, white space not counted."""
    iam = sim.client("iam", region=PRIMARY)
    big = _policy(*[_allow(["ec2:DescribeInstances"], f"arn:aws:ec2:*:*:instance/i-{n:017d}") for n in range(70)])
    with pytest.raises(ClientError) as error:
        iam.create_policy(PolicyName="big", PolicyDocument=big)
    assert _code(error) == ("LimitExceeded", "Cannot exceed quota for PolicySize: 6144")
    iam.create_user(UserName="small")
    with pytest.raises(ClientError) as error:
        iam.put_user_policy(UserName="small", PolicyName="p", PolicyDocument=big)
    assert _code(error)[0] == "LimitExceeded"
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT},
                                                      "Action": "sts:AssumeRole"}]}
    _role(sim, "Sized", trust, _allow(["drs:DescribeJobs"]))
    iam.put_role_policy(RoleName="Sized", PolicyName="second", PolicyDocument=big)  # about 6,500: fits 10,240
    with pytest.raises(ClientError) as error:
        iam.put_role_policy(RoleName="Sized", PolicyName="third", PolicyDocument=big)  # together they do not
    assert "10240" in _code(error)[1]
    # Each shipped policy is one role's inline policy in tests/principals.py: each must fit, whitespace aside.
    import principals

    for name in ("orchestrator-policy.json", "target-account-policy.json"):
        document = json.dumps(principals.shipped_policy(name, ACCOUNT, ACCOUNT), indent=2)
        iam.put_role_policy(RoleName="Sized", PolicyName="second", PolicyDocument=document)
