# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Will the run be denied on the day? The permission preflight: which iam:SimulatePrincipalPolicy calls to make for
each identity the run acts as, and what their answers mean for the operator.

What an identity needs comes from permissions.PERMISSIONS (the collection's calls, their dependent actions and the
calls DRS makes with the caller's credentials). The identities of a run (see connection.AWSConnector and
module_support.Connections):
- the orchestrator, the credentials ansible-playbook runs with: sts:AssumeRole of the configured roles, the
  primary-region calls unless a source role makes them, and the recovery-region calls unless a target role does;
- the target role (target_role_arn + ExternalId): the recovery-region calls, in the recovery region;
- the source role (source_role_arn), when set: the primary-region calls other than STS (the orchestrator's own
  credentials assume the roles).

Each identity simulates its own policies (PolicySourceArn from sts:GetCallerIdentity: an assumed-role session
arn:aws:sts::A:assumed-role/R/S is evaluated as its role arn:aws:iam::A:role/R, IAM API Reference,
SimulatePrincipalPolicy "PolicySourceArn"; a user is itself). Instance and source server resources are simulated on
the actual ARNs when they are known (the launch-into targets, the originals, the recovery region's source servers),
with the context the run will have when it makes the call (the tags the run sets or requires, aws:CalledVia for
the calls DRS makes). The checker only reads: GetCallerIdentity and SimulatePrincipalPolicy change nothing.
"""

import json
import re
from collections import namedtuple

try:
    from botocore.exceptions import BotoCoreError
    from botocore.exceptions import ClientError
except ImportError:  # modules report the missing SDK themselves
    BotoCoreError = ClientError = None

from ansible_collections.elasticdr.orchestration.plugins.module_utils.matching import ERROR
from ansible_collections.elasticdr.orchestration.plugins.module_utils.matching import WARNING
from ansible_collections.elasticdr.orchestration.plugins.module_utils.readiness import check

# The botocore IAM model puts no item limit on ActionNames (its 3..128 is the length of one action name, IAM API
# Reference SimulatePrincipalPolicy), nor on ResourceArns; the answer has one EvaluationResult per action and
# resource. Batches this size keep one request and its pages small while a run's ~60 actions take a few calls.
ACTION_BATCH = 50
RESOURCE_BATCH = 50
ALL_WORKFLOWS = ("failover", "failback", "drill", "drill_cleanup", "preflight", "state_tables", "report", "metrics",
                 "agent")
ALLOWED = "allowed"
# Error codes of a refused SimulatePrincipalPolicy (query protocol: AccessDenied).
ACCESS_DENIED_CODES = ("AccessDenied", "AccessDeniedException")

# One identity of the run. label: "orchestrator", "target role" or "source role"; client: its iam.IAMClient;
# role_arn: the configured role (None for the orchestrator); needs: tuple of Need.
Subject = namedtuple("Subject", "label client role_arn needs")
# What a subject needs: the Permission rows of `identity` ("orchestrator"/"target") in `region`, filtered by
# `scope`: "all", "sts" (only sts:*) or "not_sts".
Need = namedtuple("Need", "identity region scope")
# One SimulatePrincipalPolicy call: region, actions, resources (None: "*"), context, {action: [Permission]} and the
# (action, resource) pairs the permissions ask for ("*" for a permission on every resource).
SimulateCall = namedtuple("SimulateCall", "region actions resources context permissions pairs")

_ARN = re.compile(r"^arn:(?P<partition>[^:]+):(?P<service>[^:]+):(?P<region>[^:]*):(?P<account>[^:]*):"
                  r"(?P<resource>.+)$")
_PATTERN = re.compile(r"^arn:[^:]+:(?P<service>[^:]+):(?P<region>[^:]*):[^:]*:(?P<type>[a-z-]+)/\*$")


def subjects_needs(target_role_arn, source_role_arn, primary_region, recovery_region):
    """[(label, role_arn, needs)] for the identities of a run with these options, in that order."""
    orchestrator = []
    if target_role_arn or source_role_arn:
        orchestrator.append(Need("orchestrator", primary_region or recovery_region, "sts"))
    if primary_region and not source_role_arn:
        orchestrator.append(Need("orchestrator", primary_region, "not_sts"))
    if not target_role_arn:
        orchestrator.append(Need("target", recovery_region, "all"))
    out = [("orchestrator", None, tuple(orchestrator))]
    if target_role_arn:
        out.append(("target role", target_role_arn, (Need("target", recovery_region, "all"),)))
    if source_role_arn and primary_region:
        out.append(("source role", source_role_arn, (Need("orchestrator", primary_region, "not_sts"),)))
    return out


def policy_source_arn(caller_arn, role_arn=None):
    """(ARN to simulate, or None; why not) for a GetCallerIdentity ARN.

    An assumed-role session is evaluated as its role. The session ARN drops the role's path, so the configured
    role ARN (which has it) is used when it names the same role in the same account."""
    match = _ARN.match(caller_arn or "")
    if not match:
        return None, f"{caller_arn!r} is not an ARN"
    partition, account, resource = match.group("partition"), match.group("account"), match.group("resource")
    service = match.group("service")
    if service == "sts" and resource.startswith("assumed-role/"):
        parts = resource.split("/")
        if len(parts) < 3:
            return None, f"{caller_arn} is not an assumed-role session ARN"
        role_name = parts[1]
        if role_arn:
            configured = _ARN.match(role_arn)
            if (configured and configured.group("account") == account
                    and configured.group("resource").split("/")[-1] == role_name):
                return role_arn, None
        return f"arn:{partition}:iam::{account}:role/{role_name}", None
    if service == "iam" and resource.startswith("user/"):
        return caller_arn, None
    if service == "iam" and resource == "root":
        return None, ("the account's root user is not an IAM entity the policy simulator can evaluate (it is "
                      "allowed every action of its account)")
    if service == "sts" and resource.startswith("federated-user/"):
        return None, ("a federated user session cannot be simulated; simulate the IAM user or role it was issued "
                      "from, or run the preflight as a role")
    return None, f"{caller_arn} is neither an IAM user nor an assumed role"


def _partition_account(arn):
    match = _ARN.match(arn or "")
    return (match.group("partition"), match.group("account")) if match else ("aws", "")


def _in_scope(permission, scope):
    is_sts = permission.action.lower().startswith("sts:")
    return scope == "all" or (scope == "sts" and is_sts) or (scope == "not_sts" and not is_sts)


def _wanted(permission, workflows):
    return workflows is None or bool(set(permission.workflows) & set(workflows))


def mirrored_context(context):
    """The context with each resource tag under both of its keys: a policy may test ec2:ResourceTag/K or the
    global aws:ResourceTag/K (the shipped policies use the latter) for the same tag."""
    entries = [tuple(e[:2]) + (tuple(e[2]),) for e in context or ()]
    keys = {e[0].lower() for e in entries}
    extra = []
    for key, kind, values in entries:
        for have, other in (("ec2:resourcetag/", "aws:ResourceTag/"), ("aws:resourcetag/", "ec2:ResourceTag/")):
            if key.lower().startswith(have):
                twin = other + key[len(have):]
                if twin.lower() not in keys:
                    keys.add(twin.lower())
                    extra.append((twin, kind, values))
    return tuple(sorted(entries + extra))


def _renamed(text, renames):
    for old, new in (renames or {}).items():
        text = text.replace(old, new)
    return text


def resources_of(permission, partition, region, account, known, role_arns, principal=None, renames=None):
    """The resource ARNs to simulate a permission on: the actual ones where known, else its pattern (None: "*").

    known: {(service, resource type, region): [resource IDs]}, e.g. ("ec2", "instance", "us-west-2"): targets.
    role_arns: the roles the run assumes (the resources of sts:AssumeRole); principal: the identity simulated, the
    resource of its own iam:SimulatePrincipalPolicy (a pattern may hold a policy variable such as ${aws:username},
    which names no resource); renames: {text: replacement} in the patterns, e.g. the state tables' prefix."""
    if permission.action.lower() == "sts:assumerole" and role_arns:
        return tuple(sorted(role_arns))
    if permission.action.lower() == "iam:simulateprincipalpolicy" and principal:
        return (principal,)
    resource = permission.resource or "*"
    if resource == "*":
        return None
    formatted = _renamed(resource.format(partition=partition, region=region, account=account), renames)
    match = _PATTERN.match(formatted)
    if match and match.group("region") in (region, "*"):
        ids = (known or {}).get((match.group("service"), match.group("type"), region))
        if ids:
            return tuple(f"arn:{partition}:{match.group('service')}:{region}:{account}:{match.group('type')}/{i}"
                         for i in sorted(set(ids)))
    return (formatted,)


def plan_calls(table, needs, partition, account, workflows=None, known=None, role_arns=(), principal=None,
               renames=None):
    """The SimulatePrincipalPolicy calls for one identity: one per (region, context), in batches of ACTION_BATCH
    actions and RESOURCE_BATCH resources. IAM evaluates every action of a call on every resource of it; only the
    pairs a permission asks for (SimulateCall.pairs) count, so one call serves permissions on different resources."""
    groups = {}
    for need in needs:
        for permission in table:
            if permission.identity != need.identity or not _in_scope(permission, need.scope):
                continue
            if not _wanted(permission, workflows):
                continue
            if permission.action.lower() == "sts:assumerole" and not role_arns:
                continue  # no role to assume, no AssumeRole call
            resources = resources_of(permission, partition, need.region, account, known, role_arns, principal,
                                     renames)
            group = groups.setdefault((need.region, mirrored_context(permission.context)), {})
            entry = group.setdefault(permission.action, ([], set()))
            entry[0].append(permission)
            entry[1].update(resources or ("*",))
    calls = []
    for (region, context), by_action in sorted(groups.items(), key=lambda kv: repr(kv[0])):
        actions = sorted(by_action)
        resources = sorted({r for _perms, wanted in by_action.values() for r in wanted})
        for start in range(0, len(actions), ACTION_BATCH):
            batch = actions[start:start + ACTION_BATCH]
            for first in range(0, len(resources), RESOURCE_BATCH):
                resource_batch = resources[first:first + RESOURCE_BATCH]
                pairs = frozenset((a, r) for a in batch for r in by_action[a][1] if r in resource_batch)
                if not pairs:
                    continue
                used = sorted({a for a, _r in pairs})
                used_resources = tuple(sorted({r for _a, r in pairs}))
                calls.append(SimulateCall(region, tuple(used), None if used_resources == ("*",) else used_resources,
                                          context, {a: by_action[a][0] for a in used}, pairs))
    return calls


def _decisions(result):
    """(resource, decision, missing context keys) of one EvaluationResult: its resource-specific results when
    it has them, else its own."""
    missing = list(result.get("MissingContextValues") or [])
    specific = result.get("ResourceSpecificResults") or []
    if specific:
        return [(item.get("EvalResourceName") or "*", item.get("EvalResourceDecision"),
                 list(item.get("MissingContextValues") or missing)) for item in specific]
    return [(result.get("EvalResourceName") or "*", result.get("EvalDecision"), missing)]


def denied_of(call, results):
    """{action: [(resource, decision, missing context keys)]} of the call's denials among the pairs it asks for; a
    pair the answer does not mention counts as denied (not evaluated). IAM action names are case-insensitive."""
    wanted = {(a.lower(), r): a for a, r in call.pairs}
    denied = {}
    seen = set()
    for result in results:
        action = (result.get("EvalActionName") or "").lower()
        for resource, decision, missing in _decisions(result):
            key = (action, resource)
            if key not in wanted:
                continue
            seen.add(key)
            if decision != ALLOWED:
                denied.setdefault(wanted[key], []).append((resource, decision, missing))
    for key, action in sorted(wanted.items()):
        if key not in seen:
            denied.setdefault(action, []).append((key[1], "notEvaluated", []))
    return denied


def self_simulation_statement(principal):
    return {"Sid": "PreflightSimulatesItsOwnPermissions", "Effect": "Allow",
            "Action": ["iam:SimulatePrincipalPolicy"], "Resource": principal}


def _json(statement):
    return json.dumps(statement, sort_keys=True, separators=(", ", ": "))


class PermissionCheck:
    """Simulates, for each subject, every permission the run needs, and reports each denial with its fix.

    table: permissions.PERMISSIONS (or a table of the same rows); statement_for: permissions.statement_for;
    workflows: the workflows of the run to check (None: all); renames: {text: replacement} applied to the resource
    patterns and the statements (the state tables' prefix when it is not the default)."""

    def __init__(self, table=None, statement_for=None, workflows=None, renames=None):
        if table is None or statement_for is None:
            from ansible_collections.elasticdr.orchestration.plugins.module_utils import permissions

            table = permissions.PERMISSIONS if table is None else table
            statement_for = permissions.statement_for if statement_for is None else statement_for
        self.table = tuple(table)
        self.statement_for = statement_for
        self.workflows = None if workflows is None else frozenset(workflows)
        self.renames = dict(renames or {})

    def run(self, subjects, known=None):
        """subjects: Subject per identity. known: see resources_of. Returns the permission report:
        {identities: [...], denied: [...], checks: [...], reasons: [...], passed: bool}."""
        role_arns = tuple(s.role_arn for s in subjects if s.role_arn)
        identities = [self._subject(s, known, role_arns) for s in subjects]
        checks = []
        for entry in identities:
            checks.extend(entry.pop("_checks"))
        denied = [d for entry in identities for d in entry["denied"]]
        reasons = [c["message"] for c in checks if not c["passed"] and c["severity"] == ERROR]
        warnings = [c["message"] for c in checks if not c["passed"] and c["severity"] != ERROR]
        return {"identities": identities, "denied": denied, "checks": checks, "reasons": reasons,
                "warnings": warnings, "passed": not reasons}

    def _subject(self, subject, known, role_arns):
        entry = {"identity": subject.label, "role_arn": subject.role_arn, "principal_arn": None, "caller_arn": None,
                 "regions": sorted({n.region for n in subject.needs if n.region}), "actions_checked": 0,
                 "simulate_calls": 0, "denied": [], "error": None, "_checks": []}
        name = f"permissions {subject.label}"
        try:
            entry["caller_arn"] = subject.client.caller_arn()
        except Exception as error:  # pylint: disable=broad-except
            if not _aws_error(error):
                raise
            entry["error"] = (f"the {subject.label} could not be identified (sts:GetCallerIdentity: "
                              f"{_code(error)}); its permissions were not checked")
            entry["_checks"].append(check(name, False, entry["error"]))
            return entry
        principal, why_not = policy_source_arn(entry["caller_arn"], subject.role_arn)
        if principal is None:
            entry["error"] = f"the {subject.label}'s permissions were not checked: {why_not}"
            entry["_checks"].append(check(name, False, entry["error"], severity=WARNING))
            return entry
        entry["principal_arn"] = principal
        partition, account = _partition_account(principal)
        calls = plan_calls(self.table, subject.needs, partition, account, self.workflows, known, role_arns,
                           principal, self.renames)
        checked = set()
        for call in calls:
            try:
                results = subject.client.simulate(principal, call.actions, call.resources, call.context)
            except Exception as error:  # pylint: disable=broad-except
                if not _aws_error(error):
                    raise
                entry["error"] = self._simulate_error(subject, principal, error)
                # A principal IAM does not know was not checked (nothing says a call would be denied): a warning.
                severity = WARNING if _code(error) == "NoSuchEntity" else ERROR
                entry["_checks"].append(check(name, False, entry["error"], severity=severity))
                return entry
            entry["simulate_calls"] += 1
            checked.update(call.actions)
            entry["actions_checked"] = len(checked)
            for action, denials in sorted(denied_of(call, results).items()):
                entry["denied"].append(self._finding(subject, principal, partition, account, call, action, denials))
        for finding in entry["denied"]:
            entry["_checks"].append(check(name, False, finding["message"]))
        if not entry["denied"]:
            regions = ", ".join(entry["regions"]) or "-"
            entry["_checks"].append(check(name, True, f"the {subject.label} {principal} may make every call of the "
                                                      f"run ({entry['actions_checked']} actions simulated; "
                                                      f"{regions})"))
        return entry

    @staticmethod
    def _simulate_error(subject, principal, error):
        code = _code(error)
        if code in ACCESS_DENIED_CODES:
            return (f"the {subject.label} {principal} may not simulate its own policies (iam:SimulatePrincipalPolicy "
                    f"denied), so its permissions were not checked. Fix: add to its policy "
                    f"{_json(self_simulation_statement(principal))}, or skip the check with check_permissions=false "
                    "(drs_preflight_check_permissions=false)")
        if code == "NoSuchEntity":
            return (f"the {subject.label}'s permissions were not checked: IAM knows no {principal} (NoSuchEntity; "
                    "a role with a path is found only through its full ARN, which the session ARN does not show: run "
                    "as a role given by its full ARN, or as an IAM user)")
        return (f"the {subject.label}'s policies could not be simulated (iam:SimulatePrincipalPolicy: {code}); its "
                "permissions were not checked")

    def _finding(self, subject, principal, partition, account, call, action, denials):
        permissions = call.permissions.get(action) or []
        resources = sorted({r for r, _d, _m in denials if r})
        chosen = _covering(permissions, resources, partition, call.region, account, self.renames)
        statement = None
        if chosen is not None:
            statement = dict(self.statement_for(chosen, partition, call.region, account))
            if isinstance(statement.get("Resource"), str):
                statement["Resource"] = _renamed(statement["Resource"], self.renames)
            if not _covers(chosen, resources, partition, call.region, account, self.renames):
                # The statement's pattern does not name these resources (a role of another name, the identity
                # itself): the statement to add names them.
                statement["Resource"] = resources[0] if len(resources) == 1 else resources
        decisions = sorted({d for _r, d, _m in denials if d})
        missing = sorted({k for _r, _d, m in denials for k in m})
        reasons = sorted({p.reason for p in permissions if p.reason})
        on = "" if resources in ([], ["*"]) else " on " + ", ".join(resources)
        text = (f"{subject.label} {principal} in {call.region} may not call {action}{on} ("
                f"{', '.join(decisions)}; needed: {'; '.join(reasons) or 'a call of the run'})")
        if missing:
            text += f"; the simulation lacked the context keys {', '.join(missing)}"
        text += f". Fix: add to its policy {_json(statement)}" if statement else ""
        return {"identity": subject.label, "principal_arn": principal, "region": call.region, "account": account,
                "action": action, "resources": resources, "decisions": decisions, "missing_context": missing,
                "via": sorted({p.via for p in permissions}), "reasons": reasons, "statement": statement,
                "message": text}


def _pattern_matches(pattern, arn):
    # IAM resource patterns: * and ? wildcards (IAM User Guide, "IAM JSON policy elements: Resource").
    return re.fullmatch(".*".join(".".join(re.escape(p) for p in part.split("?")) for part in pattern.split("*")),
                        arn) is not None


def _covers(permission, resources, partition, region, account, renames=None):
    resource = _renamed((permission.resource or "*").format(partition=partition, region=region, account=account),
                        renames)
    if "${" in resource:
        return False
    return all(r == "*" and resource == "*" or _pattern_matches(resource, r) for r in resources)


def _covering(permissions, resources, partition, region, account, renames=None):
    """The permission whose resource covers the denied resources (the first one when none does)."""
    for permission in permissions:
        if _covers(permission, resources, partition, region, account, renames):
            return permission
    return permissions[0] if permissions else None


def _aws_error(error):
    """A refusal or failure of the call itself (reported), as opposed to a bug (raised)."""
    return any(kind is not None and isinstance(error, kind) for kind in (ClientError, BotoCoreError))


def _code(error):
    return (getattr(error, "response", None) or {}).get("Error", {}).get("Code") or type(error).__name__


def summary_lines(report):
    """Lines for the screen: one per identity, then each denial with its statement."""
    lines = []
    for entry in report["identities"]:
        if entry["error"]:
            lines.append(f"Permissions: {entry['identity']}: {entry['error']}")
            continue
        state = "ok" if not entry["denied"] else f"{len(entry['denied'])} action(s) DENIED"
        lines.append(f"Permissions: {entry['identity']} {entry['principal_arn']}: {state} "
                     f"({entry['actions_checked']} actions in {entry['simulate_calls']} simulation(s))")
        for finding in entry["denied"]:
            lines.append(f"  x {finding['action']} in {finding['region']}: add {_json(finding['statement'])}"
                         if finding["statement"] else f"  x {finding['action']} in {finding['region']}")
    return lines
