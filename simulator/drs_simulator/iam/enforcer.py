"""IAM enforced in the simulator: every request authorised against the caller's IAM policies, as AWS does.

With enforcement on (`serve --iam enforce`, DRS_SIMULATOR_IAM=enforce, or POST /_simulator/iam {"enforce": true}),
each request signed by an IAM user's access key or by a session of an existing role is evaluated before it is
served: its action on each resource it names (with the resource's tags), the request's own condition keys, and the
global keys (aws:PrincipalArn, aws:PrincipalAccount, aws:username, aws:RequestedRegion, aws:SecureTransport,
aws:CurrentTime). sts:AssumeRole also needs the role's trust policy (principal and conditions such as
sts:ExternalId). A denied call answers as the service does (AccessDeniedException / UnauthorizedOperation / AccessDenied
naming the action and resource) and changes nothing.

DRS itself acts with the caller's credentials (docs/DRS_BEHAVIOUR.md section 9b): `check_as_caller` evaluates an
action DRS performs on the caller's behalf with aws:CalledVia = [drs.amazonaws.com] and aws:ViaAWSService = true,
and the DRS backend turns a denial into the server's LAUNCH_FAILED job-log entry.

moto's own access control (INITIAL_NO_AUTH_ACTION_COUNT) is not used for authorisation: it checks every request
against the resource `*` and evaluates only StringEquals conditions, so a statement scoped to tagged instances would
be refused and a condition on aws:CalledVia ignored, neither of which AWS does. Its way of finding the identity behind
an access key is kept (principals.py).
"""
from __future__ import annotations

import datetime as _dt
import os
import re
from urllib.parse import unquote
from xml.sax.saxutils import escape

from . import policy as iampolicy
from . import requests as iamrequests
from .principals import Principal, find_principal, identity_policies, principal_by_arn, trust_policy

DRS_SERVICE_PRINCIPAL = "drs.amazonaws.com"
ASSUME_ROLE_ACTIONS = ("sts:AssumeRole",)


class Denial:
    """A refused request: what was asked, by whom, on what, and why.

    It answers the way the server's injected access-denied faults do (type, message, status), so each service's
    own error shape is used: AccessDeniedException (DRS, DynamoDB, SSM), UnauthorizedOperation (EC2),
    AccessDenied (STS, IAM, CloudFormation).
    """

    type = "access_denied"
    retry_after = None
    status = None
    id = None

    def __init__(self, principal: Principal, action: str, resource: str | None, reason: str):
        self.principal, self.action, self.resource, self.reason = principal, action, resource, reason

    @property
    def message(self) -> str:
        target = f" on resource: {self.resource}" if self.resource and self.resource != "*" else ""
        text = f"User: {self.principal.arn} is not authorized to perform: {self.action}{target}"
        text = f"{text} {self.reason}" if self.reason else text
        if self.action.startswith("ec2:"):
            # EC2's UnauthorizedOperation message (EC2 API reference, "Error codes").
            text = f"You are not authorized to perform this operation. {text}"
        return text

    def describe(self) -> dict:
        return {"principal": self.principal.arn, "action": self.action, "resource": self.resource,
                "message": self.message}


def _reason(decision) -> str:
    if decision.decision == iampolicy.EXPLICIT_DENY:
        return "with an explicit deny in an identity-based policy"
    return f"because no identity-based policy allows the {decision.action} action"


def _enabled_from_environment() -> bool:
    return os.environ.get("DRS_SIMULATOR_IAM", "").lower() in ("enforce", "1", "true", "on")


class IAMEnforcer:
    def __init__(self, runtime, enforce: bool | None = None):
        self.runtime = runtime
        self.default = _enabled_from_environment() if enforce is None else bool(enforce)
        self.enforce = self.default
        self.current: Principal | None = None  # the caller of the request being served (requests are serialised)
        self.denials: list[dict] = []

    def reset(self):
        self.enforce = self.default
        self.current = None
        self.denials.clear()

    # ------------------------------------------------------------ context
    def global_context(self, principal: Principal, region: str, called_via: tuple = ()) -> dict:
        context = {
            "aws:principalarn": [principal.policy_source_arn if principal.kind == "role" else principal.arn],
            "aws:principalaccount": [principal.account],
            "aws:principaltype": ["AssumedRole" if principal.kind == "role" else "User"],
            "aws:requestedregion": [region] if region else None,
            "aws:securetransport": ["false"],
            "aws:currenttime": [_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")],
            "aws:viaawsservice": ["true" if called_via else "false"],
        }
        if principal.kind == "user":
            context["aws:username"] = [principal.name]
        if called_via:
            context["aws:calledvia"] = list(called_via)
            context["aws:calledviafirst"] = [called_via[0]]
            context["aws:calledvialast"] = [called_via[-1]]
        return {k: v for k, v in context.items() if v}

    def decide(self, principal: Principal, action: str, resources, request_context: dict, region: str,
               called_via: tuple = (), resource_context=None):
        """The first refused resource's Decision, or the Decision of the last resource (allowed)."""
        documents = identity_policies(principal)
        base = self.global_context(principal, region, called_via)
        base.update(request_context)
        decision = None
        for resource in resources:
            context = dict(base)
            context.update(resource_context(resource) if resource_context else {})
            context.setdefault("aws:resourceaccount", [_account_of(resource.arn) or principal.account])
            decision = iampolicy.evaluate(documents, action, resource.arn, context)
            if decision.allowed and principal.session_policy:
                session = iampolicy.evaluate([("session policy", principal.session_policy)], action, resource.arn,
                                             context)
                if not session.allowed:
                    decision = session
            if not decision.allowed:
                return decision
        return decision

    # ------------------------------------------------------------ requests
    def identify(self, access_key, account, session_token=None) -> Principal | None:
        """The caller of the request being served, looked up only while enforcement is on: with it off, no
        request pays for a scan of the account's users and role sessions."""
        self.current = find_principal(access_key, account, session_token) if self.enforce else None
        return self.current

    def authorize(self, service, operation, environ, body, account, region) -> Denial | None:
        """Called for every signed request once its caller is identified; None when it may be served."""
        principal = self.current
        if not self.enforce or principal is None or principal.kind == "operator":
            return None
        if principal.kind == "invalid-token":
            return self._deny(Denial(Principal("user", account, principal.name, f"arn:aws:iam::{account}:unknown"),
                                     f"{service}:{operation}", None,
                                     "because the security token included in the request is invalid"))
        if service == "sts" and operation == "GetCallerIdentity":
            return None  # always allowed (IAM User Guide: "GetCallerIdentity ... no permissions are required")
        params = iamrequests.request_params(environ, body)
        path = environ.get("PATH_INFO", "")
        if service == "drs" and path.startswith("/tags/"):  # TagResource, UntagResource, ListTagsForResource
            params["resourceArn"] = unquote(path[len("/tags/"):])
        request = iamrequests.build(service, operation, params, region, account, self.runtime)
        decision = self.decide(principal, request.action, request.resources, request.context, region,
                               resource_context=request.resource_context)
        if service == "sts" and operation in ("AssumeRole",):
            return self._assume_role(principal, request, decision)
        if not decision.allowed:
            return self._deny(Denial(principal, request.action, decision.resource, _reason(decision)))
        if service == "drs":
            return self._drs_on_call(principal, request, region)
        return None

    def _assume_role(self, principal, request, identity_decision) -> Denial | None:
        role_arn = request.resources[0].arn
        document = trust_policy(role_arn)
        not_authorized = Denial(principal, "sts:AssumeRole", role_arn, "")
        if document is None:
            return self._deny(not_authorized)
        context = self.global_context(principal, request.region)
        context.update(request.context)
        trust = iampolicy.evaluate_trust(document, "sts:AssumeRole", context["aws:principalarn"][0],
                                         principal.account, context)
        if not trust.allowed:
            return self._deny(not_authorized)
        same_account = _account_of(role_arn) == principal.account
        trusted_by_name = iampolicy.names_principal_directly(document, context["aws:principalarn"][0])
        if identity_decision.allowed or (same_account and trusted_by_name):
            return None
        return self._deny(Denial(principal, "sts:AssumeRole", role_arn, _reason(identity_decision)))

    def _drs_on_call(self, principal, request, region) -> Denial | None:
        """What DRS authorises at the call itself, besides the action: tags given to a create call."""
        if request.operation == "ReverseReplication":
            # The dependent actions the Service Authorization Reference lists for drs:ReverseReplication, which
            # DRS performs as the caller before it answers.
            for action in ("drs:DescribeReplicationConfigurationTemplates", "drs:DescribeSourceServers",
                           "ec2:DescribeInstances"):
                denial = self._as_caller(principal, action, "*", None, region)
                if denial:
                    return denial
        if request.operation == "StartRecovery" and request.params.get("tags"):
            # Tag-on-create: tags given to a call that creates a resource also need drs:TagResource
            # (docs/DRS_BEHAVIOUR.md section 9b).
            # The job does not exist yet: its ARN pattern stands for it, with drs:CreateAction naming the call.
            job = iamrequests.Resource(f"arn:aws:drs:{region}:{request.account}:job/*")
            context = dict(request.context, **{"drs:createaction": ["StartRecovery"]})
            decision = self.decide(principal, "drs:TagResource", [job], context, region)
            if not decision.allowed:
                return self._deny(Denial(principal, "drs:TagResource", decision.resource, _reason(decision)))
        return None

    def _deny(self, denial: Denial) -> Denial:
        self.denials.append(denial.describe())
        return denial

    # ------------------------------------------------------------ DRS acting as the caller
    def check_as_caller(self, caller: Principal | None, action: str, arn: str, tags: dict | None = None,
                        region: str = "") -> str | None:
        """Why DRS, acting with the caller's credentials, may not perform `action` on `arn`; None if it may."""
        denial = self._as_caller(caller, action, arn, tags, region)
        return denial.message if denial else None

    def _as_caller(self, caller, action, arn, tags, region) -> Denial | None:
        if not self.enforce or caller is None or not caller.enforced:
            return None
        resource = iamrequests.Resource(arn, tags or {})
        request = iamrequests.Request(action.split(":")[0], action.split(":")[1], region, caller.account, {})
        try:
            decision = self.decide(caller, action, [resource], {}, region, called_via=(DRS_SERVICE_PRINCIPAL,),
                                   resource_context=request.resource_context)
        except Exception as exc:  # pylint: disable=broad-except
            return self._deny(Denial(caller, action, arn, f"(the policy could not be evaluated: {exc})"))
        if decision.allowed:
            return None
        return self._deny(Denial(caller, action, arn, _reason(decision) + " (called via drs.amazonaws.com)"))

    def launch_denial(self, caller, region, account, source_server_arn, source_server_tags=None, target_id=None,
                      target_tags=None, starts=False) -> str | None:
        """Why DRS, acting as the caller of StartRecovery, cannot launch this server now (None if it can).

        DRS creates the recovery instance record (drs:CreateRecoveryInstanceForDrs, on the source server: Service
        Authorization Reference), and for a launch into an existing instance detaches the target's volumes,
        attaches the recovered ones and starts it as the caller (managed policy
        AWSElasticDisasterRecoveryConsoleFullAccess_v2, statement ConsoleFullAccess21; docs/DRS_BEHAVIOUR.md
        section 9b).
        """
        checks = [("drs:CreateRecoveryInstanceForDrs", source_server_arn, source_server_tags)]
        if target_id:
            arn = iamrequests.ec2_arn(region, account, target_id)
            checks += [("ec2:DetachVolume", arn, target_tags), ("ec2:AttachVolume", arn, target_tags)]
            if starts:
                checks.append(("ec2:StartInstances", arn, target_tags))
        for action, arn, tags in checks:
            message = self.check_as_caller(caller, action, arn, tags, region)
            if message:
                return message
        return None

    # ------------------------------------------------------------ iam:SimulatePrincipalPolicy
    def simulate_principal_policy(self, params: dict):
        """(status, XML body) of iam:SimulatePrincipalPolicy with this evaluator (moto does not implement it)."""
        source = params.get("PolicySourceArn", "")
        principal = principal_by_arn(source)
        if principal is None:
            return 404, _error_xml("Sender", "NoSuchEntity", f"The entity {source} cannot be found.")
        actions = iamrequests.numbered(params, "ActionNames.member")
        if not actions:
            return 400, _error_xml("Sender", "ValidationError", "1 validation error detected: ActionNames is required")
        resources = iamrequests.numbered(params, "ResourceArns.member") or ["*"]
        context = {}
        index = 1
        while f"ContextEntries.member.{index}.ContextKeyName" in params:
            key = params[f"ContextEntries.member.{index}.ContextKeyName"]
            values = iamrequests.numbered(params, f"ContextEntries.member.{index}.ContextKeyValues.member")
            context[key.lower()] = values
            index += 1
        extra = [(f"PolicyInputList.{i + 1}", doc)
                 for i, doc in enumerate(iamrequests.numbered(params, "PolicyInputList.member"))]
        documents = identity_policies(principal) + extra
        base = {"aws:principalarn": [source], "aws:principalaccount": [principal.account]}
        if principal.kind == "user":
            base["aws:username"] = [principal.name]
        base.update(context)
        results = []
        for action in actions:
            for resource in resources:
                decision = iampolicy.evaluate(documents, action, resource, base)
                missing = sorted(_missing_keys(documents, action, resource, base))
                results.append((action, resource, decision, missing))
        start = int(params.get("Marker") or 0)
        size = int(params.get("MaxItems") or 1000)
        page = results[start:start + size]
        truncated = start + size < len(results)
        members = "".join(_result_xml(*r) for r in page)
        marker = f"<Marker>{start + size}</Marker>" if truncated else ""
        body = ('<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
                f"<SimulatePrincipalPolicyResult><IsTruncated>{str(truncated).lower()}</IsTruncated>{marker}"
                f"<EvaluationResults>{members}</EvaluationResults></SimulatePrincipalPolicyResult>"
                "<ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ResponseMetadata>"
                "</SimulatePrincipalPolicyResponse>")
        return 200, body


_KEY = re.compile(r"^[A-Za-z0-9-]+:")


def _missing_keys(documents, action, resource, context):
    """Condition keys of the statements that name this action and resource, absent from the context."""
    missing = set()
    for _, document in documents:
        for statement in iampolicy.statements(document):
            try:
                if not statement_names(statement, action, resource, context):
                    continue
            except iampolicy.PolicyError:
                continue
            for keys in (statement.get("Condition") or {}).values():
                for key in keys:
                    if key.lower() not in context and _KEY.match(key):
                        missing.add(key)
    return missing


def statement_names(statement, action, resource, context) -> bool:
    """Whether a statement names the action and resource (its conditions aside)."""
    bare = {k: v for k, v in statement.items() if k != "Condition"}
    return iampolicy.statement_applies(bare, action, resource, context)


def _result_xml(action, resource, decision, missing) -> str:
    matched = "".join(
        f"<member><SourcePolicyId>{escape(name)}</SourcePolicyId><SourcePolicyType>IAM Policy</SourcePolicyType>"
        f"</member>" for name, _ in decision.matched)
    missing_xml = "".join(f"<member>{escape(k)}</member>" for k in missing)
    specific = (f"<ResourceSpecificResults><member><EvalResourceName>{escape(resource)}</EvalResourceName>"
                f"<EvalResourceDecision>{decision.decision}</EvalResourceDecision>"
                f"<MatchedStatements>{matched}</MatchedStatements><MissingContextValues>{missing_xml}"
                "</MissingContextValues></member></ResourceSpecificResults>")
    return (f"<member><EvalActionName>{escape(action)}</EvalActionName><EvalResourceName>{escape(resource)}"
            f"</EvalResourceName><EvalDecision>{decision.decision}</EvalDecision><MatchedStatements>{matched}"
            f"</MatchedStatements><MissingContextValues>{missing_xml}</MissingContextValues>{specific}</member>")


def _error_xml(kind, code, message) -> str:
    return (f'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>{kind}</Type>'
            f"<Code>{code}</Code><Message>{escape(message)}</Message></Error>"
            "<RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ErrorResponse>")


def _account_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None
