# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The permissions each identity of a run needs: the calls the collection makes, the dependent actions the Service
Authorization Reference lists for them, and the actions DRS performs with the caller's credentials.

Two identities (docs/SECURITY.md, "Identities"):

- ``orchestrator``: the identity ansible-playbook runs as, in the primary account (failback in the primary region,
  the originals, AssumeRole into the recovery account);
- ``target``: the recovery account role reached with drs_target_role_arn and the ExternalId (in a one-account estate
  the same account, still a role). Every module talking to the recovery region runs as it, drs_metrics included.

``via`` tells where a permission comes from:

- ``collection``: an API call the collection itself makes;
- ``dependent``: a dependent action the Service Authorization Reference lists for such a call ("Actions defined by
  AWS Elastic Disaster Recovery"); DRS performs them on the caller's behalf, so they are scoped with
  ``aws:CalledVia = drs.amazonaws.com``, as AWS's managed policy AWSElasticDisasterRecoveryConsoleFullAccess_v2 does;
- ``drs``: what DRS does with the caller's credentials during a launch into an existing instance (the managed
  policy's CalledVia statement on instances tagged AWSDRS=AllowLaunchingIntoThisInstance: detach the target's volumes,
  attach the recovered ones, start it) and the tag-on-create authorisation of StartRecovery's tags (DRS user guide,
  "Grant permission to tag resources during creation": drs:TagResource with drs:CreateAction).

The shipped policies extensions/iam/orchestrator-policy.json and target-account-policy.json are
``policy_document(identity)``; tests/unit/test_iam_policies.py checks they grant every permission below and that every
dependent action of the pinned Service Authorization Reference data is here or in DEPENDENT_EXCLUSIONS.
"""

from collections import namedtuple

Permission = namedtuple("Permission", "identity action resource context via reason workflows")

IDENTITIES = ("orchestrator", "target")
ALL_WORKFLOWS = frozenset(("failover", "failback", "drill", "drill_cleanup", "preflight", "state_tables", "report",
                           "metrics", "agent"))

# The launch-into tag DRS requires on a target (DRS user guide, "Launching into an existing instance").
LAUNCH_INTO_TAG = ("AWSDRS", "AllowLaunchingIntoThisInstance")
# The tag the collection puts instances in waves by (drs_instance_match wave_tag); an administrator sets it on the
# protected instances, the orchestrator can never set it (its ec2:CreateTags allows the AWSDRS key only), so it limits
# which originals the orchestrator can turn into launch-into targets.
WAVE_TAG = "drs:wave"
# The role names the shipped policies assume (the trust policy's principal, the example inventory's target role).
TARGET_ROLE_NAME = "DRSOrchestration"
ORCHESTRATOR_ROLE_NAME = "DRSOrchestrator"
STATE_TABLE_PREFIX = "drs-orchestration"
STATE_STACK_NAME = "drs-orchestration-state-tables"
METRICS_NAMESPACE = "ElasticDR/Orchestration"
AGENT_DOCUMENTS = ("AWS-RunShellScript", "AWS-RunPowerShellScript")
# DRS's own roles that a launch passes to EC2 (managed policy AWSElasticDisasterRecoveryConsoleFullAccess_v2).
DRS_PASSED_ROLES = ("AWSElasticDisasterRecoveryConversionServerRole", "AWSElasticDisasterRecoveryRecoveryInstanceRole",
                    "AWSElasticDisasterRecoveryRecoveryInstanceWithLaunchActionsRole")

VIA_DRS = ("aws:CalledVia", "stringList", ("drs.amazonaws.com",))
VIA_CLOUDFORMATION = ("aws:CalledVia", "stringList", ("cloudformation.amazonaws.com",))
LAUNCH_INTO_EC2 = ("ec2:ResourceTag/" + LAUNCH_INTO_TAG[0], "string", (LAUNCH_INTO_TAG[1],))
LAUNCH_INTO_AWS = ("aws:ResourceTag/" + LAUNCH_INTO_TAG[0], "string", (LAUNCH_INTO_TAG[1],))
IN_A_WAVE = ("aws:ResourceTag/" + WAVE_TAG, "string", ("*",))

# Dependent actions of the Service Authorization Reference data the policies deliberately do not grant.
DEPENDENT_EXCLUSIONS = {
    "ec2:TerminateInstances": "The collection only launches into existing instances, and a launched-into instance is "
                              "never terminated (DRS user guide: terminating a recovery instance terminates its EC2 "
                              "instance); no identity of a run may terminate an instance, not even through DRS.",
}

_ARN = "arn:{partition}"
INSTANCES = _ARN + ":ec2:{region}:{account}:instance/*"
VOLUMES = _ARN + ":ec2:{region}:{account}:volume/*"
SNAPSHOTS = _ARN + ":ec2:{region}::snapshot/*"
LAUNCH_TEMPLATES = _ARN + ":ec2:{region}:{account}:launch-template/*"
SECURITY_GROUPS = _ARN + ":ec2:{region}:{account}:security-group/*"
SOURCE_SERVERS = _ARN + ":drs:{region}:{account}:source-server/*"
JOBS = _ARN + ":drs:{region}:{account}:job/*"
RECOVERY_INSTANCES = _ARN + ":drs:{region}:{account}:recovery-instance/*"
LAUNCH_CONFIGURATION_TEMPLATES = _ARN + ":drs:{region}:{account}:launch-configuration-template/*"
TABLES = _ARN + ":dynamodb:{region}:{account}:table/" + STATE_TABLE_PREFIX + "-*"
TABLE_INDEXES = TABLES + "/index/*"
STACK = _ARN + ":cloudformation:{region}:{account}:stack/" + STATE_STACK_NAME + "/*"

# sid -> list of Permission: each statement of a shipped policy has one purpose (one Sid).
_STATEMENTS = {}
_SID_OF = {}


def _grant(sid, identity, actions, resources, reason, workflows, via="collection", context=()):
    if isinstance(actions, str):
        actions = (actions,)
    if isinstance(resources, str):
        resources = (resources,)
    key = (identity, sid)
    for action in actions:
        for resource in resources:
            permission = Permission(identity, action, resource, tuple(context), via, reason, frozenset(workflows))
            _STATEMENTS.setdefault(key, []).append(permission)
            _SID_OF[permission] = sid


RECOVERY_RUNS = ("failover", "failback", "drill", "drill_cleanup", "preflight", "report")
LAUNCHES = ("failover", "failback", "drill")


def _drs_launch_permissions(identity, workflows):
    """What DRS does as the caller of StartRecovery / ReverseReplication / UpdateLaunchConfiguration (dependent actions
    of the Service Authorization Reference and the managed policy's launch-into statement), scoped to DRS."""
    # Launch into an existing instance: DRS detaches the target's volumes, attaches the recovered ones and starts it
    # (launchDisposition STARTED) as the caller, only on instances tagged AWSDRS=AllowLaunchingIntoThisInstance
    # (managed policy AWSElasticDisasterRecoveryConsoleFullAccess_v2, its CalledVia statement).
    _grant("DRSLaunchIntoTaggedTargets", identity, ("ec2:DetachVolume", "ec2:AttachVolume", "ec2:StartInstances"),
           INSTANCES, "DRS swaps the launch-into target's volumes and starts it as the caller (tagged targets only).",
           workflows, via="drs", context=(VIA_DRS, LAUNCH_INTO_EC2))
    _grant("DRSCreatesTheRecoveryInstance", identity, "drs:CreateRecoveryInstanceForDrs",
           SOURCE_SERVERS, "DRS registers the launched-into target as the server's recovery instance as the caller.",
           workflows, via="dependent", context=(VIA_DRS,))
    # drs:ListTagsForResource supports no resource type (Service Authorization Reference): Resource "*".
    _grant("DRSReadsTagsForTheLaunch", identity, "drs:ListTagsForResource", "*",
           "DRS reads the source server's tags for the launch as the caller (dependent action of StartRecovery).",
           workflows, via="dependent", context=(VIA_DRS,))
    _grant("DRSVolumesOfTheLaunch", identity, ("ec2:AttachVolume", "ec2:DetachVolume", "ec2:CreateVolume",
                                               "ec2:DeleteVolume", "ec2:CreateSnapshot"),
           VOLUMES, "DRS creates the recovered volumes and swaps them in (dependent actions of StartRecovery).",
           workflows, via="dependent", context=(VIA_DRS,))
    _grant("DRSSnapshotsOfTheLaunch", identity, ("ec2:CreateSnapshot", "ec2:DeleteSnapshot", "ec2:CreateVolume"),
           SNAPSHOTS, "DRS creates volumes from the recovery snapshots (dependent actions of StartRecovery).",
           workflows, via="dependent", context=(VIA_DRS,))
    _grant("DRSLaunchTemplates", identity, ("ec2:CreateLaunchTemplate", "ec2:CreateLaunchTemplateVersion",
                                            "ec2:ModifyLaunchTemplate", "ec2:DeleteLaunchTemplateVersions"),
           LAUNCH_TEMPLATES, "DRS keeps each server's EC2 launch template (dependent actions of StartRecovery).",
           workflows, via="dependent", context=(VIA_DRS,))
    _grant("DRSTagsWhatTheLaunchCreates", identity, "ec2:CreateTags", (VOLUMES, SNAPSHOTS, LAUNCH_TEMPLATES),
           "DRS tags the volumes, snapshots and launch template it creates (dependent action of StartRecovery).",
           workflows, via="dependent", context=(VIA_DRS,))
    _grant("DRSTagsTheLaunchIntoTarget", identity, "ec2:CreateTags", INSTANCES,
           "DRS tags the launched-into target (dependent action of StartRecovery; tagged targets only).",
           workflows, via="dependent", context=(VIA_DRS, LAUNCH_INTO_EC2))
    _grant("DRSPreparesTheLaunchIntoTarget", identity, ("ec2:StopInstances", "ec2:ModifyInstanceAttribute"), INSTANCES,
           "DRS stops and adjusts the launch-into target as the caller (dependent actions; tagged targets only).",
           workflows, via="dependent", context=(VIA_DRS, LAUNCH_INTO_EC2))
    # ec2:DescribeInstanceAttribute requires the instance resource type (Service Authorization Reference).
    _grant("DRSReadsInstanceAttributes", identity, "ec2:DescribeInstanceAttribute", INSTANCES,
           "DRS reads the instances' attributes for the launch (dependent action of StartRecovery).",
           workflows, via="dependent", context=(VIA_DRS,))
    _grant("DRSSecurityGroupsOfTheLaunch", identity, ("ec2:AuthorizeSecurityGroupEgress",
                                                      "ec2:AuthorizeSecurityGroupIngress",
                                                      "ec2:RevokeSecurityGroupEgress"),
           SECURITY_GROUPS, "DRS adjusts the security groups of the launch (dependent actions of StartRecovery).",
           workflows, via="dependent", context=(VIA_DRS,))
    _grant("DRSRunsInstancesOfTheLaunch", identity, "ec2:RunInstances",
           (INSTANCES, VOLUMES, SNAPSHOTS, _ARN + ":ec2:{region}::image/*", _ARN + ":ec2:{region}:{account}:subnet/*",
            _ARN + ":ec2:{region}:{account}:network-interface/*", SECURITY_GROUPS, LAUNCH_TEMPLATES),
           "DRS runs the conversion and recovery instances of a launch (dependent action of StartRecovery).",
           workflows, via="dependent", context=(VIA_DRS,))
    _grant("DRSReadsEC2ForTheLaunch", identity,
           ("ec2:DescribeAccountAttributes", "ec2:DescribeAvailabilityZones", "ec2:DescribeImages",
            "ec2:DescribeInstanceStatus", "ec2:DescribeInstanceTypes",
            "ec2:DescribeLaunchTemplateVersions", "ec2:DescribeLaunchTemplates", "ec2:DescribeSecurityGroups",
            "ec2:DescribeSnapshots", "ec2:DescribeSubnets", "ec2:DescribeVolumes"),
           "*", "DRS reads the EC2 resources of the launch (dependent actions of StartRecovery).",
           workflows, via="dependent", context=(VIA_DRS,))
    # Both read as the caller for StartRecovery, ReverseReplication, DescribeRecoveryInstances and
    # UpdateLaunchConfiguration; the identity's unconditional read statements grant them too.
    _grant("DRSReadsEC2ForTheLaunch", identity, "ec2:DescribeInstances", "*",
           "DRS reads the target instances (dependent action of StartRecovery, ReverseReplication, "
           "UpdateLaunchConfiguration and DescribeRecoveryInstances).", workflows, via="dependent", context=(VIA_DRS,))
    _grant("DRSReadsForReverseReplication", identity,
           ("drs:DescribeReplicationConfigurationTemplates", "drs:DescribeSourceServers"), "*",
           "DRS reads the replication settings and source servers (dependent actions of ReverseReplication and "
           "DescribeRecoveryInstances).", workflows,
           via="dependent", context=(VIA_DRS,))
    _grant("DRSPassesItsOwnRolesToEC2", identity, "iam:PassRole",
           tuple(_ARN + ":iam::{account}:role/service-role/" + name for name in DRS_PASSED_ROLES),
           "DRS gives the conversion and recovery instances its own instance profile roles (dependent action of "
           "StartRecovery).", workflows, via="dependent",
           context=(VIA_DRS, ("iam:PassedToService", "string", ("ec2.amazonaws.com",))))
    # StartRecovery's tags (execution and wave) are authorised as drs:TagResource with drs:CreateAction=StartRecovery
    # (DRS user guide, "Grant permission to tag resources during creation"; drs:CreateAction is a condition key of
    # drs:TagResource in the Service Authorization Reference).
    _grant("DRSTagTheJobsOnCreation", identity, "drs:TagResource", JOBS,
           "StartRecovery's tags (execution ID, wave) need drs:TagResource on the new job, on creation only.",
           workflows, via="drs", context=(("drs:CreateAction", "string", ("StartRecovery",)),))
    _grant("DRSTagTheRecoveryInstanceOnCreation", identity, "drs:TagResource", RECOVERY_INSTANCES,
           "DRS tags the recovery instance it creates for the caller, on creation only.", workflows, via="drs",
           context=(VIA_DRS, ("drs:CreateAction", "string", ("CreateRecoveryInstanceForDrs",))))


def _build():
    # ---- orchestrator (primary account) ----
    o = "orchestrator"
    _grant("AssumeTheRecoveryAccountRole", o, "sts:AssumeRole", _ARN + ":iam::{account}:role/" + TARGET_ROLE_NAME,
           "Reach the recovery account role (drs_target_role_arn); {account} is the recovery account.",
           ALL_WORKFLOWS)
    _grant("SimulateOwnPermissions", o, "iam:SimulatePrincipalPolicy",
           (_ARN + ":iam::{account}:user/${{aws:username}}", _ARN + ":iam::{account}:role/" + ORCHESTRATOR_ROLE_NAME),
           "The permission preflight checks this identity's own permissions.", ("preflight",))
    _grant("ReadTheProtectedInstances", o, "ec2:DescribeInstances", "*",
           "Read the protected instances (matching, IPs) and the originals before failback.",
           ("failover", "failback", "drill", "drill_cleanup", "preflight"))
    _grant("TagOriginalsInAWaveAsLaunchIntoTargets", o, "ec2:CreateTags", INSTANCES,
           "Tag the originals AWSDRS=AllowLaunchingIntoThisInstance before failback (only that tag, only instances "
           "in a wave).", ("failback",),
           context=(("aws:RequestTag/" + LAUNCH_INTO_TAG[0], "string", (LAUNCH_INTO_TAG[1],)),
                    ("aws:TagKeys", "stringList", (LAUNCH_INTO_TAG[0],)), IN_A_WAVE))
    _grant("StopOnlyOriginalsTaggedAsLaunchIntoTargets", o, "ec2:StopInstances", INSTANCES,
           "Stop the originals before launching back into them (tagged instances in a wave only).", ("failback",),
           context=(LAUNCH_INTO_AWS, IN_A_WAVE))
    _grant("DRSReadThePrimaryRegion", o, ("drs:DescribeSourceServers", "drs:DescribeJobs",
                                          "drs:DescribeRecoveryInstances", "drs:DescribeLaunchConfigurationTemplates"),
           "*", "Find the FAILBACK servers, their jobs, the failed-back originals and the launch template.",
           ("failback",))
    _grant("DRSReadFailbackJobLogs", o, "drs:DescribeJobLogItems", JOBS, "Read why a failback launch failed.",
           ("failback",))
    _grant("DRSLaunchBackIntoTheOriginals", o, ("drs:GetLaunchConfiguration", "drs:UpdateLaunchConfiguration",
                                                "drs:StartRecovery", "drs:StopReplication"),
           SOURCE_SERVERS, "Launch the FAILBACK servers into the originals, then stop their replication (standby).",
           ("failback",))
    _grant("DRSFailbackLaunchTemplate", o, "drs:UpdateLaunchConfigurationTemplate", LAUNCH_CONFIGURATION_TEMPLATES,
           "Let new FAILBACK servers launch into their originals (launchIntoSourceInstance).", ("failback",))
    _grant("DRSReprotectTheOriginals", o, "drs:ReverseReplication", RECOVERY_INSTANCES,
           "Re-protect the failed-back originals.", ("failback",))
    _drs_launch_permissions(o, ("failback",))

    # ---- target (recovery account role) ----
    t = "target"
    _grant("SimulateOwnPermissions", t, "iam:SimulatePrincipalPolicy",
           _ARN + ":iam::{account}:role/" + TARGET_ROLE_NAME,
           "The permission preflight checks this role's own permissions.", ("preflight",))
    _grant("DRSReadRecoveryRegion", t, ("drs:DescribeSourceServers", "drs:DescribeJobs", "drs:DescribeRecoveryInstances"),
           "*", "Source servers, replication state and lag, recovery jobs, recovery instances.", RECOVERY_RUNS)
    _grant("DRSReadJobLogs", t, "drs:DescribeJobLogItems", JOBS, "Read why a launch failed.", LAUNCHES)
    _grant("DRSLaunchConfiguration", t, ("drs:GetLaunchConfiguration", "drs:UpdateLaunchConfiguration"),
           SOURCE_SERVERS, "Launch into the targets with copyPrivateIp/copyTags off; compare (idempotence, drift).",
           ("failover", "drill", "preflight"))
    _grant("DRSStartRecoveries", t, "drs:StartRecovery", SOURCE_SERVERS, "Recoveries and drills.",
           ("failover", "drill"))
    _grant("DRSReplicateBack", t, "drs:ReverseReplication", RECOVERY_INSTANCES, "Start failback replication.",
           ("failback",))
    _grant("DRSDrillCleanup", t, ("drs:DisconnectRecoveryInstance", "drs:DeleteRecoveryInstance"), RECOVERY_INSTANCES,
           "Drill clean-up: the DRS bookkeeping only, the instance is kept.", ("drill_cleanup",))
    _grant("EC2ReadTheTargets", t, "ec2:DescribeInstances", "*", "Targets: tags, state, IPs, checks.",
           ("failover", "failback", "drill", "drill_cleanup", "preflight", "agent"))
    _grant("EC2StopOnlyLaunchIntoTargets", t, "ec2:StopInstances", INSTANCES,
           "Stop the targets before a launch and after failback (tagged instances only).",
           ("failover", "failback", "drill"), context=(LAUNCH_INTO_AWS,))
    _grant("StateTables", t, ("dynamodb:DescribeTable", "dynamodb:DescribeTimeToLive", "dynamodb:UpdateTimeToLive",
                              "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem",
                              "dynamodb:BatchWriteItem"), TABLES,
           "Read and write the execution records and the lock.", ALL_WORKFLOWS - {"metrics", "agent"})
    _grant("StateTablesQuery", t, "dynamodb:Query", (TABLES, TABLE_INDEXES),
           "Read an execution, a protection group's pairs and failback states.", ALL_WORKFLOWS - {"metrics", "agent"})
    _grant("StateTablesStack", t, ("cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents",
                                   "cloudformation:ListStackResources", "cloudformation:GetTemplate",
                                   "cloudformation:CreateStack", "cloudformation:UpdateStack"), STACK,
           "Create, update and read the state tables stack.", ("state_tables",))
    _grant("StateTablesStackList", t, "cloudformation:ListStacks", "*",
           "Dependent action of cloudformation:DescribeStacks.", ("state_tables",), via="dependent")
    _grant("StateTablesCreatedByTheStack", t, ("dynamodb:CreateTable", "dynamodb:UpdateTable",
                                               "dynamodb:UpdateContinuousBackups", "dynamodb:TagResource"), TABLES,
           "Only through CloudFormation: the stack creates and updates the tables.", ("state_tables",),
           context=(VIA_CLOUDFORMATION,))
    _grant("AgentInstallationDocuments", t, "ssm:SendCommand",
           tuple(_ARN + ":ssm:{region}::document/" + name for name in AGENT_DOCUMENTS),
           "Reinstall the DRS agent with the two Run Command documents only.", ("agent", "failback"))
    # ssm:SendCommand on an instance supports both aws:ResourceTag/${TagKey} and ssm:resourceTag/${TagKey} (Service
    # Authorization Reference, AWS Systems Manager); ssm:resourceTag is the key the Systems Manager user guide uses for
    # Run Command on EC2 instances ("Restricting Run Command access based on tags").
    _grant("AgentInstallationOnLaunchIntoTargets", t, "ssm:SendCommand", INSTANCES,
           "Reinstall the DRS agent only on the launched-into targets (tagged AWSDRS).", ("agent", "failback"),
           context=(("ssm:resourceTag/" + LAUNCH_INTO_TAG[0], "string", (LAUNCH_INTO_TAG[1],)),))
    # ssm:ListCommands: after a lost SendCommand response the command is looked for before it is sent again (the
    # installer must not run twice); ListCommands has no resource type (Service Authorization Reference).
    _grant("AgentInstallationStatus", t, ("ssm:GetCommandInvocation", "ssm:ListCommands"), "*",
           "Follow the installation; find a command whose SendCommand response was lost.", ("agent", "failback"))
    _grant("PublishRunMetrics", t, "cloudwatch:PutMetricData", "*",
           "drs_metrics publishes the run's metrics as the recovery account role (its namespace only).",
           ("metrics", "failover", "failback", "drill"),
           context=(("cloudwatch:namespace", "string", (METRICS_NAMESPACE,)),))
    _drs_launch_permissions(t, LAUNCHES)


_build()

PERMISSIONS = tuple(p for statements in _STATEMENTS.values() for p in statements)


def for_identity(identity, workflows=None):
    """The permissions of identity ("orchestrator" or "target"), only those of the given workflows when given."""
    if identity not in IDENTITIES:
        raise ValueError(f"identity must be one of {', '.join(IDENTITIES)}, not {identity!r}")
    wanted = frozenset(workflows) if workflows is not None else None
    if wanted is not None and not wanted <= ALL_WORKFLOWS:
        raise ValueError(f"unknown workflows: {', '.join(sorted(wanted - ALL_WORKFLOWS))}")
    return [p for p in PERMISSIONS if p.identity == identity and (wanted is None or p.workflows & wanted)]


def sid_of(permission):
    return _SID_OF[permission]


def _operator(key, kind, values):
    if key == "aws:TagKeys":
        return "ForAllValues:StringEquals"
    if kind == "stringList":
        return "ForAnyValue:StringEquals"
    if kind == "boolean":
        return "Bool"
    if any("*" in value for value in values):
        return "StringLike"
    return "StringEquals"


def condition_of(context):
    """The IAM Condition block a permission's context asks for ({} when none)."""
    condition = {}
    for key, kind, values in context:
        values = list(values)
        condition.setdefault(_operator(key, kind, values), {})[key] = values if len(values) > 1 or kind == "stringList" \
            else values[0]
    return condition


def _fill(resource, partition, region, account):
    return resource.format(partition=partition, region=region, account=account)


def statement_for(permission, partition, region, account):
    """The IAM policy statement that grants permission (Sid, Effect, Action, Resource, Condition)."""
    statement = {"Sid": sid_of(permission), "Effect": "Allow", "Action": permission.action,
                 "Resource": _fill(permission.resource, partition, region, account)}
    condition = condition_of(permission.context)
    if condition:
        statement["Condition"] = condition
    return statement


def policy_document(identity, partition="aws", region="*", account="*", assume_account="222222222222"):
    """The shipped policy of identity: one statement per Sid. assume_account: the recovery account the orchestrator
    may assume its role in (a placeholder in the shipped file, like the trust policy's)."""
    statements = []
    for (who, sid), permissions in _STATEMENTS.items():
        if who != identity:
            continue
        actions, resources = [], []
        for permission in permissions:
            fill_account = assume_account if permission.action == "sts:AssumeRole" else account
            resource = _fill(permission.resource, partition, region, fill_account)
            if permission.action not in actions:
                actions.append(permission.action)
            if resource not in resources:
                resources.append(resource)
        statement = {"Sid": sid, "Effect": "Allow", "Action": actions,
                     "Resource": resources[0] if len(resources) == 1 else resources}
        condition = condition_of(permissions[0].context)
        if condition:
            statement["Condition"] = condition
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}
