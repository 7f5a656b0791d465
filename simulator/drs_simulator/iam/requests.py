"""What a request asks IAM for: its action, the resources it touches (each with its tags) and its condition keys.

Resource-level detail follows the Service Authorization Reference's resource types for the operations the collection
and its estates use (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html);
any other operation is checked against `*`, which only a statement with `"Resource": "*"` (or a wildcard that
matches it) allows, as AWS does for actions without resource types.
"""
from __future__ import annotations

import json
from urllib.parse import parse_qs

from moto.ec2.models import ec2_backends

from ..ec2access import instance_tags

# IAM service prefix of each SigV4 signing name the simulator serves (they differ only for CloudWatch).
IAM_PREFIX = {"monitoring": "cloudwatch"}
# The tag condition-key prefixes each service documents for a resource's tags, besides aws:ResourceTag/.
RESOURCE_TAG_KEYS = {"ec2": ("ec2:ResourceTag/",), "ssm": ("ssm:resourceTag/",)}


class Resource:
    def __init__(self, arn: str, tags: dict | None = None):
        self.arn, self.tags = arn, tags or {}

    def __repr__(self):
        return f"Resource({self.arn})"


class Request:
    """One request as IAM sees it."""

    def __init__(self, service, operation, region, account, params, resources=None, context=None):
        self.service = service
        self.prefix = IAM_PREFIX.get(service, service)
        self.operation = operation
        self.action = f"{self.prefix}:{operation}"
        self.region, self.account, self.params = region, account, params
        self.resources = resources or [Resource("*")]
        self.context = context or {}  # request-wide keys (aws:RequestTag/..., sts:ExternalId, ...)

    def resource_context(self, resource: Resource) -> dict:
        keys = {}
        for key, value in resource.tags.items():
            for prefix in ("aws:ResourceTag/",) + RESOURCE_TAG_KEYS.get(self.prefix, ()):
                keys[f"{prefix}{key}".lower()] = [value]
        return keys


def _query_params(environ, body: bytes) -> dict:
    params = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    if body and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        params.update({k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()})
    return params


def _json_params(body: bytes) -> dict:
    if not body:
        return {}
    try:
        value = json.loads(body)
    except ValueError:
        try:
            from botocore.parsers import BaseCBORParser

            parser = BaseCBORParser()
            value = parser.parse_data_item(parser.get_peekable_stream_from_bytes(body))
        except Exception:  # pylint: disable=broad-except
            return {}
    return value if isinstance(value, dict) else {}


def request_params(environ, body: bytes) -> dict:
    if environ.get("HTTP_X_AMZ_TARGET") or "/operation/" in environ.get("PATH_INFO", "") \
            or environ.get("CONTENT_TYPE", "").startswith(("application/x-amz-json", "application/json",
                                                           "application/cbor")):
        return _json_params(body)
    return _query_params(environ, body)


def numbered(params: dict, prefix: str) -> list[str]:
    """Query-protocol list members: InstanceId.1, InstanceId.2, ..."""
    found = []
    index = 1
    while f"{prefix}.{index}" in params:
        found.append(params[f"{prefix}.{index}"])
        index += 1
    return found


def _query_tags(params: dict, prefix: str = "Tag") -> dict:
    tags = {}
    index = 1
    while f"{prefix}.{index}.Key" in params:
        tags[params[f"{prefix}.{index}.Key"]] = params.get(f"{prefix}.{index}.Value", "")
        index += 1
    return tags


def _request_tag_keys(tags: dict) -> dict:
    context = {f"aws:requesttag/{k}".lower(): [v] for k, v in tags.items()}
    if tags:
        context["aws:tagkeys"] = list(tags)
    return context


_EC2_TYPES = {"i": "instance", "vol": "volume", "sg": "security-group", "subnet": "subnet", "eni": "network-interface",
              "snap": "snapshot", "ami": "image", "vpc": "vpc", "lt": "launch-template"}


def ec2_arn(region, account, resource_id) -> str:
    kind = _EC2_TYPES.get(resource_id.split("-", 1)[0], "resource")
    owner = "" if kind == "image" else account
    return f"arn:aws:ec2:{region}:{owner}:{kind}/{resource_id}"


def _ec2_resource(region, account, resource_id) -> Resource:
    backend = ec2_backends[account][region]
    return Resource(ec2_arn(region, account, resource_id), instance_tags(backend, resource_id))


def _ec2(operation, params, region, account):
    resources, context = None, {}
    ids = []
    if operation in ("StopInstances", "StartInstances", "TerminateInstances", "RebootInstances"):
        ids = numbered(params, "InstanceId")
    elif operation in ("CreateTags", "DeleteTags"):
        ids = numbered(params, "ResourceId")
        tags = _query_tags(params)
        context.update(_request_tag_keys(tags))
        if operation == "DeleteTags":
            context = {"aws:tagkeys": list(tags)} if tags else {}
    elif operation in ("AttachVolume", "DetachVolume"):
        ids = [i for i in (params.get("InstanceId"), params.get("VolumeId")) if i]
    elif operation in ("ModifyInstanceAttribute", "GetConsoleOutput", "GetConsoleScreenshot"):
        ids = [params["InstanceId"]] if params.get("InstanceId") else []
    elif operation == "DeleteVolume":
        ids = [params["VolumeId"]] if params.get("VolumeId") else []
    if ids:
        resources = [_ec2_resource(region, account, i) for i in ids]
    return resources, context


def _ssm(operation, params, region, account):
    if operation != "SendCommand":
        return None, {}
    document = params.get("DocumentName", "")
    # AWS-owned documents have no account in their ARN (SSM's resource type "document").
    owner = "" if document.startswith(("AWS-", "AWSEC2-", "AWSSupport-")) else account
    resources = [Resource(f"arn:aws:ssm:{region}:{owner}:document/{document}")]
    backend = ec2_backends[account][region]
    for instance_id in params.get("InstanceIds") or []:
        resources.append(Resource(ec2_arn(region, account, instance_id), instance_tags(backend, instance_id)))
    return resources, {}


def _dynamodb(operation, params, region, account):
    tables = []
    if params.get("TableName"):
        tables.append(params["TableName"])
    for key in ("RequestItems",):
        tables += list((params.get(key) or {}).keys())
    for item in params.get("TransactItems") or []:
        for part in item.values():
            if isinstance(part, dict) and part.get("TableName"):
                tables.append(part["TableName"])
    if not tables:
        return None, {}
    resources = []
    for table in dict.fromkeys(tables):
        arn = f"arn:aws:dynamodb:{region}:{account}:table/{table}"
        if params.get("IndexName"):
            arn += f"/index/{params['IndexName']}"
        resources.append(Resource(arn))
    return resources, {}


def _cloudformation(operation, params, region, account):
    name = params.get("StackName")
    if not name or operation in ("ValidateTemplate", "ListStacks"):
        return None, {}
    if name.startswith("arn:"):
        return [Resource(name)], {}
    stack_id = "*"
    try:
        from moto.cloudformation.models import cloudformation_backends

        backend = cloudformation_backends[account][region]
        for stack in list(backend.stacks.values()):
            if stack.name == name and stack.status != "DELETE_COMPLETE":
                stack_id = stack.stack_id.rsplit("/", 1)[-1]
    except Exception:  # pylint: disable=broad-except
        pass
    return [Resource(f"arn:aws:cloudformation:{region}:{account}:stack/{name}/{stack_id}")], {}


def _sts(operation, params, region, account):
    if operation not in ("AssumeRole",):
        return None, {}
    context = {}
    if params.get("ExternalId"):
        context["sts:externalid"] = [params["ExternalId"]]
    if params.get("RoleSessionName"):
        context["sts:rolesessionname"] = [params["RoleSessionName"]]
    return [Resource(params.get("RoleArn", "*"))], context


def _iam(operation, params, region, account):
    if operation == "SimulatePrincipalPolicy" and params.get("PolicySourceArn"):
        return [Resource(params["PolicySourceArn"])], {}
    return None, {}


def _cloudwatch(operation, params, region, account):
    if operation == "PutMetricData" and params.get("Namespace"):
        return None, {"cloudwatch:namespace": [params["Namespace"]]}
    return None, {}


def drs_arn(region, account, kind, resource_id) -> str:
    return f"arn:aws:drs:{region}:{account}:{kind}/{resource_id}"


def _drs(operation, params, region, account, runtime=None):
    """DRS resources: source servers, recovery instances and jobs named in the request (with their tags)."""
    # Only the resources an operation acts on: the top-level IDs (filters of Describe* calls name no resource,
    # and those actions have no resource type in the Service Authorization Reference).
    arns = []
    ids = [item.get("sourceServerID") for item in params.get("sourceServers") or [] if isinstance(item, dict)]
    if params.get("sourceServerID"):
        ids.append(params["sourceServerID"])
    arns += [drs_arn(region, account, "source-server", i) for i in ids if i]
    recovery_instances = list(params.get("recoveryInstanceIDs") or [])
    if params.get("recoveryInstanceID"):
        recovery_instances.append(params["recoveryInstanceID"])
    arns += [drs_arn(region, account, "recovery-instance", i) for i in recovery_instances]
    for member, kind in (("launchConfigurationTemplateID", "launch-configuration-template"),
                         ("replicationConfigurationTemplateID", "replication-configuration-template"),
                         ("jobID", "job")):
        if isinstance(params.get(member), str):
            arns.append(drs_arn(region, account, kind, params[member]))
    if params.get("resourceArn"):
        arns.append(params["resourceArn"])
    context = {}
    tags = params.get("tags") if isinstance(params.get("tags"), dict) else {}
    if tags:
        context.update(_request_tag_keys(tags))
    if not arns:
        return None, context
    resources = []
    for arn in arns:
        tags_of = {}
        if runtime is not None:
            backend = runtime.drs.existing_backend(account, region)
            if backend is not None:
                try:
                    tags_of = backend.tags_of(arn)
                except Exception:  # pylint: disable=broad-except
                    tags_of = {}
        resources.append(Resource(arn, tags_of))
    return resources, context


_BUILDERS = {"ec2": _ec2, "ssm": _ssm, "dynamodb": _dynamodb, "cloudformation": _cloudformation, "sts": _sts,
             "iam": _iam, "monitoring": _cloudwatch, "cloudwatch": _cloudwatch}


def build(service, operation, params, region, account, runtime=None) -> Request:
    if service == "drs":
        resources, context = _drs(operation, params, region, account, runtime)
    else:
        builder = _BUILDERS.get(service)
        resources, context = builder(operation, params, region, account) if builder else (None, {})
    return Request(service, operation, region, account, params, resources, context)
