# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The permission preflight's planning (which SimulatePrincipalPolicy calls, with which resources and context) and
its verdicts, with a small table of permissions of its own and botocore's Stubber for IAM and STS."""

from collections import namedtuple

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.elasticdr.orchestration.plugins.module_utils import permission_check as pc
from ansible_collections.elasticdr.orchestration.plugins.module_utils.iam import IAMClient
from ansible_collections.elasticdr.orchestration.plugins.module_utils.retry import DRSRetry

# The interface of permissions.Permission; the table below is the tests' own.
Permission = namedtuple("Permission", "identity action resource context via reason workflows")
TAG = (("ec2:ResourceTag/AWSDRS", "string", ("AllowLaunchingIntoThisInstance",)),)
VIA_DRS = (("aws:CalledVia", "stringList", ("drs.amazonaws.com",)),)
ALL = frozenset(pc.ALL_WORKFLOWS)
TABLE = (
    Permission("orchestrator", "sts:AssumeRole", "arn:{partition}:iam::*:role/DRSOrchestration", (), "collection",
               "reach the recovery account", ALL),
    Permission("orchestrator", "ec2:DescribeInstances", "*", (), "collection", "read the originals", ALL),
    Permission("orchestrator", "ec2:StopInstances", "arn:{partition}:ec2:{region}:{account}:instance/*", TAG,
               "collection", "stop the originals", frozenset({"failback"})),
    Permission("target", "drs:StartRecovery", "*", (), "collection", "recoveries and drills", ALL),
    Permission("target", "drs:DescribeSourceServers", "*", (), "collection", "replication state", ALL),
    Permission("target", "ec2:StopInstances", "arn:{partition}:ec2:{region}:{account}:instance/*", TAG,
               "collection", "stop the targets", ALL),
    Permission("target", "ec2:AttachVolume", "arn:{partition}:ec2:{region}:{account}:instance/*", VIA_DRS, "drs",
               "DRS swaps the target's volumes", frozenset({"failover", "failback"})),
)
ROLE = "arn:aws:iam::222222222222:role/DRSOrchestration"
SESSION = "arn:aws:sts::222222222222:assumed-role/DRSOrchestration/elasticdr-orchestration"
ORCHESTRATOR = "arn:aws:iam::111111111111:user/operator"


def statement_for(permission, partition, region, account):
    return {"Sid": "Fake" + permission.action.replace(":", ""), "Effect": "Allow", "Action": [permission.action],
            "Resource": permission.resource.format(partition=partition, region=region, account=account)}


def checker(workflows=None, table=TABLE):
    return pc.PermissionCheck(table=table, statement_for=statement_for, workflows=workflows)


# ----------------------------------------------------------------------------------------------- who is simulated
@pytest.mark.parametrize("caller, role, expected", [
    (SESSION, None, ROLE),
    ("arn:aws-cn:sts::222222222222:assumed-role/R/s", None, "arn:aws-cn:iam::222222222222:role/R"),
    # The session ARN drops the role's path; the configured role ARN has it.
    ("arn:aws:sts::222222222222:assumed-role/R/s", "arn:aws:iam::222222222222:role/dr/R",
     "arn:aws:iam::222222222222:role/dr/R"),
    # A configured role of another account is not the caller's role.
    ("arn:aws:sts::222222222222:assumed-role/R/s", "arn:aws:iam::333333333333:role/dr/R",
     "arn:aws:iam::222222222222:role/R"),
    (ORCHESTRATOR, None, ORCHESTRATOR),
])
def test_policy_source_arn_of_sessions_and_users(caller, role, expected):
    assert pc.policy_source_arn(caller, role) == (expected, None)


@pytest.mark.parametrize("caller, why", [
    ("arn:aws:iam::111111111111:root", "root user"),
    ("arn:aws:sts::111111111111:federated-user/bob", "federated user"),
    ("not-an-arn", "not an ARN"),
])
def test_identities_the_simulator_cannot_evaluate_are_named(caller, why):
    principal, reason = pc.policy_source_arn(caller)
    assert principal is None and why in reason


def test_each_identity_needs_what_its_credentials_are_used_for():
    alone = pc.subjects_needs(None, None, "us-east-1", "us-west-2")
    assert alone == [("orchestrator", None, (pc.Need("orchestrator", "us-east-1", "not_sts"),
                                             pc.Need("target", "us-west-2", "all")))]
    with_target = pc.subjects_needs(ROLE, None, "us-east-1", "us-west-2")
    assert [s[0] for s in with_target] == ["orchestrator", "target role"]
    assert with_target[0][2] == (pc.Need("orchestrator", "us-east-1", "sts"),
                                 pc.Need("orchestrator", "us-east-1", "not_sts"))
    assert with_target[1] == ("target role", ROLE, (pc.Need("target", "us-west-2", "all"),))
    source = "arn:aws:iam::111111111111:role/Primary"
    both = pc.subjects_needs(ROLE, source, "us-east-1", "us-west-2")
    assert both[0][2] == (pc.Need("orchestrator", "us-east-1", "sts"),)
    assert both[2] == ("source role", source, (pc.Need("orchestrator", "us-east-1", "not_sts"),))


# ------------------------------------------------------------------------------------------------------ planning
def test_calls_grouped_by_resources_and_context_on_the_actual_targets():
    known = {("ec2", "instance", "us-west-2"): ["i-0bbbbbbbbbbbbbbb2", "i-0aaaaaaaaaaaaaaa1"]}
    calls = pc.plan_calls(TABLE, (pc.Need("target", "us-west-2", "all"),), "aws", "222222222222", known=known)
    by_actions = {c.actions: c for c in calls}
    assert set(by_actions) == {("drs:DescribeSourceServers", "drs:StartRecovery"), ("ec2:StopInstances",),
                               ("ec2:AttachVolume",)}
    assert by_actions[("drs:DescribeSourceServers", "drs:StartRecovery")].resources is None
    targets = ("arn:aws:ec2:us-west-2:222222222222:instance/i-0aaaaaaaaaaaaaaa1",
               "arn:aws:ec2:us-west-2:222222222222:instance/i-0bbbbbbbbbbbbbbb2")
    stop = by_actions[("ec2:StopInstances",)]
    assert stop.resources == targets
    # The tag under both of its keys: the shipped policies test aws:ResourceTag/AWSDRS.
    assert ("aws:ResourceTag/AWSDRS", "string", ("AllowLaunchingIntoThisInstance",)) in stop.context
    assert ("ec2:ResourceTag/AWSDRS", "string", ("AllowLaunchingIntoThisInstance",)) in stop.context
    attach = by_actions[("ec2:AttachVolume",)]
    assert attach.resources == targets and ("aws:CalledVia", "stringList", ("drs.amazonaws.com",)) in attach.context


def test_unknown_resources_are_simulated_on_the_pattern():
    calls = pc.plan_calls(TABLE, (pc.Need("target", "us-west-2", "all"),), "aws", "222222222222")
    stop = [c for c in calls if c.actions == ("ec2:StopInstances",)][0]
    assert stop.resources == ("arn:aws:ec2:us-west-2:222222222222:instance/*",)


def test_assume_role_only_with_roles_and_on_those_roles():
    needs = (pc.Need("orchestrator", "us-east-1", "sts"),)
    assert pc.plan_calls(TABLE, needs, "aws", "111111111111") == []
    calls = pc.plan_calls(TABLE, needs, "aws", "111111111111", role_arns=(ROLE,))
    assert [(c.actions, c.resources) for c in calls] == [(("sts:AssumeRole",), (ROLE,))]


def test_workflows_filter_the_permissions():
    needs = (pc.Need("orchestrator", "us-east-1", "not_sts"),)
    every = {a for c in pc.plan_calls(TABLE, needs, "aws", "111111111111") for a in c.actions}
    assert every == {"ec2:DescribeInstances", "ec2:StopInstances"}
    failover = {a for c in pc.plan_calls(TABLE, needs, "aws", "111111111111", workflows={"failover"})
                for a in c.actions}
    assert failover == {"ec2:DescribeInstances"}


def test_actions_and_resources_are_batched():
    many = tuple(Permission("target", f"drs:Action{i:03d}", "*", (), "collection", "r", ALL) for i in range(120))
    calls = pc.plan_calls(many, (pc.Need("target", "us-west-2", "all"),), "aws", "222222222222")
    assert [len(c.actions) for c in calls] == [pc.ACTION_BATCH, pc.ACTION_BATCH, 120 - 2 * pc.ACTION_BATCH]
    assert sorted(a for c in calls for a in c.actions) == sorted(p.action for p in many)
    known = {("ec2", "instance", "us-west-2"): [f"i-{n:017x}" for n in range(pc.RESOURCE_BATCH + 3)]}
    stop = [c for c in pc.plan_calls(TABLE, (pc.Need("target", "us-west-2", "all"),), "aws", "222222222222",
                                     known=known) if c.actions == ("ec2:StopInstances",)]
    assert [len(c.resources) for c in stop] == [pc.RESOURCE_BATCH, 3]


def test_one_call_per_context_and_only_the_pairs_asked_for_count():
    table = (Permission("target", "drs:StartRecovery", "arn:{partition}:drs:{region}:{account}:source-server/*", (),
                        "collection", "launch", ALL),
             Permission("target", "drs:DescribeJobs", "*", (), "collection", "jobs", ALL))
    [call] = pc.plan_calls(table, (pc.Need("target", "us-west-2", "all"),), "aws", "222222222222",
                           known={("drs", "source-server", "us-west-2"): ["s-1"]})
    server = "arn:aws:drs:us-west-2:222222222222:source-server/s-1"
    assert call.resources == ("*", server)
    assert call.pairs == {("drs:StartRecovery", server), ("drs:DescribeJobs", "*")}
    # IAM answers every action on every resource: drs:DescribeJobs on the server is not asked for, its denial is
    # not one of the run's.
    answer = [result("drs:StartRecovery", resource=server), result("drs:StartRecovery", "implicitDeny"),
              result("drs:DescribeJobs"), result("drs:DescribeJobs", "implicitDeny", server)]
    assert pc.denied_of(call, answer) == {}
    assert pc.denied_of(call, answer[1:]) == {"drs:StartRecovery": [(server, "notEvaluated", [])]}


def test_an_action_missing_from_the_answer_counts_as_denied():
    call = pc.SimulateCall("us-west-2", ("drs:StartRecovery", "drs:DescribeSourceServers"), None, (), {},
                           frozenset({("drs:StartRecovery", "*"), ("drs:DescribeSourceServers", "*")}))
    denied = pc.denied_of(call, [{"EvalActionName": "drs:describesourceservers", "EvalResourceName": "*",
                                  "EvalDecision": "allowed"}])
    assert denied == {"drs:StartRecovery": [("*", "notEvaluated", [])]}


def test_a_resource_specific_denial_counts():
    call = pc.SimulateCall("us-west-2", ("ec2:StopInstances",), ("arn:i1", "arn:i2"), (), {},
                           frozenset({("ec2:StopInstances", "arn:i1"), ("ec2:StopInstances", "arn:i2")}))
    denied = pc.denied_of(call, [{"EvalActionName": "ec2:StopInstances", "EvalResourceName": "*",
                                  "EvalDecision": "allowed", "ResourceSpecificResults": [
                                      {"EvalResourceName": "arn:i1", "EvalResourceDecision": "allowed"},
                                      {"EvalResourceName": "arn:i2", "EvalResourceDecision": "implicitDeny",
                                       "MissingContextValues": ["aws:ResourceTag/AWSDRS"]}]}])
    assert denied == {"ec2:StopInstances": [("arn:i2", "implicitDeny", ["aws:ResourceTag/AWSDRS"])]}


# --------------------------------------------------------------------------------------- against stubbed IAM/STS
class Stubbed:
    """An IAMClient over stubbed IAM and STS clients wrapped as the connector wraps them."""

    def __init__(self, caller):
        session = boto3.Session(aws_access_key_id="a", aws_secret_access_key="b", region_name="us-west-2")
        self.raw_iam = session.client("iam")
        self.raw_sts = session.client("sts")
        self.iam = Stubber(self.raw_iam)
        self.sts = Stubber(self.raw_sts)
        self.sts.add_response("get_caller_identity", {"Arn": caller, "Account": caller.split(":")[4],
                                                      "UserId": "AIDEXAMPLE"}, {})
        self.sleeps = []
        retry = DRSRetry.honour_retry_after(sleep=self.sleeps.append)
        self.client = IAMClient(RetryingBotoClientWrapper(self.raw_iam, retry),
                                RetryingBotoClientWrapper(self.raw_sts, retry), retry=retry)

    def __enter__(self):
        self.iam.activate()
        self.sts.activate()
        return self

    def __exit__(self, *exc):
        self.iam.deactivate()
        self.sts.deactivate()

    def simulate(self, expected, results, marker=None, next_marker=None):
        params = dict(expected, MaxItems=1000)
        if marker:
            params["Marker"] = marker
        response = {"EvaluationResults": results, "IsTruncated": bool(next_marker)}
        if next_marker:
            response["Marker"] = next_marker
        self.iam.add_response("simulate_principal_policy", response, params)


def result(action, decision="allowed", resource="*"):
    return {"EvalActionName": action, "EvalResourceName": resource, "EvalDecision": decision}


TARGET_ONLY = tuple(p for p in TABLE if p.identity == "target" and p.action.startswith("drs:"))


def test_a_denied_action_is_named_with_role_region_and_statement_across_pages():
    with Stubbed(SESSION) as stub:
        stub.simulate({"PolicySourceArn": ROLE, "ActionNames": ["drs:DescribeSourceServers", "drs:StartRecovery"]},
                      [result("drs:DescribeSourceServers")], next_marker="page2")
        stub.simulate({"PolicySourceArn": ROLE, "ActionNames": ["drs:DescribeSourceServers", "drs:StartRecovery"]},
                      [result("drs:StartRecovery", "implicitDeny")], marker="page2")
        subject = pc.Subject("target role", stub.client, ROLE, (pc.Need("target", "us-west-2", "all"),))
        report = checker(table=TARGET_ONLY).run([subject])
        stub.iam.assert_no_pending_responses()
    assert not report["passed"]
    [finding] = report["denied"]
    assert (finding["action"], finding["identity"], finding["region"], finding["principal_arn"]) == (
        "drs:StartRecovery", "target role", "us-west-2", ROLE)
    assert finding["statement"] == statement_for(TARGET_ONLY[0], "aws", "us-west-2", "222222222222")
    [reason] = report["reasons"]
    for fragment in ("drs:StartRecovery", ROLE, "us-west-2", '"Sid": "FakedrsStartRecovery"', "recoveries and drills"):
        assert fragment in reason
    assert report["identities"][0]["actions_checked"] == 2


def test_everything_allowed_passes_with_context_and_resources_sent():
    known = {("ec2", "instance", "us-west-2"): ["i-0aaaaaaaaaaaaaaa1"]}
    table = tuple(p for p in TABLE if p.identity == "target" and p.action == "ec2:StopInstances")
    arn = "arn:aws:ec2:us-west-2:222222222222:instance/i-0aaaaaaaaaaaaaaa1"
    with Stubbed(SESSION) as stub:
        stub.simulate({"PolicySourceArn": ROLE, "ActionNames": ["ec2:StopInstances"], "ResourceArns": [arn],
                       "ContextEntries": [
                           {"ContextKeyName": "aws:ResourceTag/AWSDRS", "ContextKeyType": "string",
                            "ContextKeyValues": ["AllowLaunchingIntoThisInstance"]},
                           {"ContextKeyName": "ec2:ResourceTag/AWSDRS", "ContextKeyType": "string",
                            "ContextKeyValues": ["AllowLaunchingIntoThisInstance"]}]},
                      [result("ec2:StopInstances", resource=arn)])
        subject = pc.Subject("target role", stub.client, ROLE, (pc.Need("target", "us-west-2", "all"),))
        report = checker(table=table).run([subject], known=known)
        stub.iam.assert_no_pending_responses()
    assert report["passed"] and report["denied"] == [] and report["reasons"] == []
    assert "may make every call of the run" in report["checks"][0]["message"]


def test_an_identity_that_may_not_simulate_itself_is_reported_with_the_fix():
    with Stubbed(SESSION) as stub:
        stub.iam.add_client_error("simulate_principal_policy", "AccessDenied", "not authorized", 403)
        subject = pc.Subject("target role", stub.client, ROLE, (pc.Need("target", "us-west-2", "all"),))
        report = checker(table=TARGET_ONLY).run([subject])
    assert not report["passed"] and report["denied"] == []
    [reason] = report["reasons"]
    assert "iam:SimulatePrincipalPolicy" in reason and ROLE in reason and "check_permissions=false" in reason
    assert f'"Resource": "{ROLE}"' in reason


def test_a_throttled_simulation_is_retried():
    with Stubbed(ORCHESTRATOR) as stub:
        stub.iam.add_client_error("simulate_principal_policy", "Throttling", "slow down", 400)
        stub.simulate({"PolicySourceArn": ORCHESTRATOR, "ActionNames": ["drs:DescribeSourceServers",
                                                                        "drs:StartRecovery"]},
                      [result("drs:DescribeSourceServers"), result("drs:StartRecovery")])
        subject = pc.Subject("orchestrator", stub.client, None, (pc.Need("target", "us-west-2", "all"),))
        report = checker(table=TARGET_ONLY).run([subject])
        stub.iam.assert_no_pending_responses()
    assert report["passed"] and len(stub.sleeps) == 1


def test_the_root_user_is_a_warning_not_a_denial():
    with Stubbed("arn:aws:iam::111111111111:root") as stub:
        subject = pc.Subject("orchestrator", stub.client, None, (pc.Need("target", "us-west-2", "all"),))
        report = checker(table=TARGET_ONLY).run([subject])
        stub.iam.assert_no_pending_responses()
    assert report["passed"] and report["warnings"] and "root user" in report["warnings"][0]


def test_summary_lists_each_denial_with_its_statement():
    with Stubbed(SESSION) as stub:
        stub.simulate({"PolicySourceArn": ROLE, "ActionNames": ["drs:DescribeSourceServers", "drs:StartRecovery"]},
                      [result("drs:DescribeSourceServers", "explicitDeny"), result("drs:StartRecovery")])
        subject = pc.Subject("target role", stub.client, ROLE, (pc.Need("target", "us-west-2", "all"),))
        report = checker(table=TARGET_ONLY).run([subject])
    lines = pc.summary_lines(report)
    assert "1 action(s) DENIED" in lines[0]
    assert "drs:DescribeSourceServers in us-west-2" in lines[1] and "FakedrsDescribeSourceServers" in lines[1]


class Unreachable:
    """An IAMClient whose IAM endpoint cannot be reached."""

    def caller_arn(self):
        return ORCHESTRATOR

    def simulate(self, *args, **kwargs):
        from botocore.exceptions import EndpointConnectionError

        raise EndpointConnectionError(endpoint_url="https://iam.amazonaws.com/")


def test_an_unreachable_iam_is_reported_not_raised():
    subject = pc.Subject("orchestrator", Unreachable(), None, (pc.Need("target", "us-west-2", "all"),))
    report = checker(table=TARGET_ONLY).run([subject])
    assert not report["passed"]
    assert "EndpointConnectionError" in report["reasons"][0] and "not checked" in report["reasons"][0]


def test_the_workflows_are_those_of_the_permissions_table():
    from ansible_collections.elasticdr.orchestration.plugins.module_utils import permissions

    assert frozenset(pc.ALL_WORKFLOWS) == permissions.ALL_WORKFLOWS


def test_the_state_tables_prefix_renames_their_resources_and_statements():
    table = (Permission("target", "dynamodb:GetItem",
                        "arn:{partition}:dynamodb:{region}:{account}:table/drs-orchestration-*", (), "collection",
                        "records", ALL),)
    [call] = pc.plan_calls(table, (pc.Need("target", "us-west-2", "all"),), "aws", "222222222222",
                           renames={"drs-orchestration-": "it-state-"})
    assert call.resources == ("arn:aws:dynamodb:us-west-2:222222222222:table/it-state-*",)
    with Stubbed(SESSION) as stub:
        stub.simulate({"PolicySourceArn": ROLE, "ActionNames": ["dynamodb:GetItem"],
                       "ResourceArns": list(call.resources)},
                      [result("dynamodb:GetItem", "implicitDeny", call.resources[0])])
        subject = pc.Subject("target role", stub.client, ROLE, (pc.Need("target", "us-west-2", "all"),))
        report = pc.PermissionCheck(table=table, statement_for=statement_for,
                                    renames={"drs-orchestration-": "it-state-"}).run([subject])
    assert report["denied"][0]["statement"]["Resource"] == call.resources[0]
