"""DRS wire layer: parse and validate a request, call the backend, shape the response.

Status codes, error headers and string timestamps follow the botocore model (section 1 of
docs/DRS_BEHAVIOUR.md).
"""
from __future__ import annotations

import base64
import json

from .. import idempotency
from . import shapes
from .exceptions import ConflictException, DRSError, NotImplementedOperation, ValidationException

_TOKEN_RESOURCE = {"CreateRecoveryPlan": "RECOVERY_PLAN", "CreateRecoveryPlanStep": "RECOVERY_PLAN_STEP",
                   "StartRecoveryPlanExecution": "RECOVERY_PLAN_EXECUTION"}

IMPLEMENTED = (
    "InitializeService", "DescribeSourceServers", "GetLaunchConfiguration", "UpdateLaunchConfiguration",
    "StartRecovery", "DescribeJobs", "DescribeJobLogItems", "DeleteJob", "DescribeRecoveryInstances",
    "DescribeRecoverySnapshots", "TerminateRecoveryInstances", "DisconnectRecoveryInstance",
    "DeleteRecoveryInstance", "ReverseReplication", "StartReplication", "StopReplication",
    "GetReplicationConfiguration", "ListStagingAccounts", "ListExtensibleSourceServers",
    "CreateExtendedSourceServer", "DescribeLaunchConfigurationTemplates", "UpdateLaunchConfigurationTemplate",
    "TagResource", "UntagResource", "ListTagsForResource", "CreateRecoveryPlan", "CreateRecoveryPlanStep",
    "ListRecoveryPlanSteps", "StartRecoveryPlanExecution", "GetRecoveryPlanExecution",
    "ListRecoveryPlanExecutionSteps", "CancelRecoveryPlanExecution", "UpdateReplicationConfiguration",
    "DisconnectSourceServer", "DeleteSourceServer", "StopFailback",
)


def paginate(items, params, default_max=None):
    """Slice a list by maxResults/nextToken; the token is an opaque offset."""
    token = params.get("nextToken")
    start = 0
    if token:
        try:
            # Only the exact form issued below: a forged "offset:-2" would otherwise slice from the end.
            kind, offset = base64.urlsafe_b64decode(token.encode()).decode().split(":", 1)
            if kind != "offset" or not offset.isdigit():
                raise ValueError(f"not an issued token: {token!r}")
            start = int(offset)
        except (ValueError, IndexError, UnicodeDecodeError) as exc:
            raise ValidationException("nextToken is not a token this service issued",
                                      field_list=[{"name": "nextToken", "message": "invalid token"}]) from exc
    size = params.get("maxResults") or default_max or len(items) or 1
    page = items[start:start + size]
    next_token = None
    if start + size < len(items):
        next_token = base64.urlsafe_b64encode(f"offset:{start + size}".encode()).decode()
    return page, next_token


class DRSResponse:
    def __init__(self, registry):
        self.registry = registry

    def dispatch(self, method, path, query_string, body, account_id, region):
        """Return (status, headers, body bytes, operation name)."""
        operation = None
        try:
            operation, labels = shapes.route(method, path)
            if operation not in IMPLEMENTED:
                raise NotImplementedOperation(operation)
            params = shapes.parse_request(operation, labels, query_string, body)
            shapes.validate_input(operation, params)
            backend = self.registry.backend(account_id, region)
            token = idempotency.token_member("drs", operation)
            key = fingerprint = None
            if token and params.get(token[0]):
                # A repeated clientToken with the same input answers as the first call did; with another input
                # it is a ConflictException (idempotency.py).
                key = ("drs", account_id, region, operation, params[token[0]])
                fingerprint = json.dumps(params, sort_keys=True)
                now = backend.now.timestamp()
                try:
                    answer = self.registry.idempotency.lookup(key, fingerprint, operation, token[0], now)
                except idempotency.TokenMismatch as mismatch:
                    raise ConflictException(str(mismatch), resource_type=_TOKEN_RESOURCE.get(operation),
                                            condition="IDEMPOTENT_PARAMETER_MISMATCH") from None
                if answer is not None:
                    return answer[0], dict(answer[1]), answer[2], operation
            result = getattr(self, _snake(operation))(backend, params)
            op_model = shapes.service_model().operation_model(operation)
            status = op_model.http.get("responseCode", 200)
            if status == 204:
                answer = (204, {}, b"")
            else:
                payload = json.dumps(shapes.to_wire(result or {})).encode()
                answer = (status, {"Content-Type": "application/json"}, payload)
            if key is not None:
                self.registry.idempotency.remember(key, fingerprint, (answer[0], dict(answer[1]), answer[2]),
                                                   backend.now.timestamp())
            return (*answer, operation)
        except DRSError as error:
            headers = {"Content-Type": "application/json", **error.headers()}
            return error.status, headers, json.dumps(error.body()).encode(), operation or _guess(path)

    # ---------------------------------------------------------------- service
    def initialize_service(self, backend, params):
        backend.initialize_service()

    # ---------------------------------------------------------------- source servers
    def describe_source_servers(self, backend, params):
        servers = backend.describe_source_servers(params.get("filters") or {})
        page, token = paginate(servers, params)
        return {"items": [backend.source_server_dict(s) for s in page], "nextToken": token}

    def start_replication(self, backend, params):
        return {"sourceServer": backend.source_server_dict(backend.start_replication(params["sourceServerID"]))}

    def stop_replication(self, backend, params):
        return {"sourceServer": backend.source_server_dict(backend.stop_replication(params["sourceServerID"]))}

    def get_launch_configuration(self, backend, params):
        return backend.get_launch_configuration(params["sourceServerID"])

    def update_launch_configuration(self, backend, params):
        return backend.update_launch_configuration(params)

    def get_replication_configuration(self, backend, params):
        return backend.get_replication_configuration(params["sourceServerID"])

    def update_replication_configuration(self, backend, params):
        return backend.update_replication_configuration(params)

    def disconnect_source_server(self, backend, params):
        return backend.source_server_dict(backend.disconnect_source_server(params["sourceServerID"]))

    def delete_source_server(self, backend, params):
        backend.delete_source_server(params["sourceServerID"])

    def describe_launch_configuration_templates(self, backend, params):
        items = backend.describe_launch_configuration_templates(set(params.get("launchConfigurationTemplateIDs") or []))
        page, token = paginate(items, params)
        return {"items": page, "nextToken": token}

    def update_launch_configuration_template(self, backend, params):
        return {"launchConfigurationTemplate": backend.update_launch_configuration_template(params)}

    # ---------------------------------------------------------------- jobs
    def start_recovery(self, backend, params):
        job = backend.start_recovery(params["sourceServers"], params.get("isDrill", False), params.get("tags"))
        return {"job": job.to_dict()}

    def describe_jobs(self, backend, params):
        jobs = backend.describe_jobs(params.get("filters") or {})
        page, token = paginate(jobs, params)
        return {"items": [j.to_dict() for j in page], "nextToken": token}

    def describe_job_log_items(self, backend, params):
        page, token = paginate(backend.job_log(params["jobID"]), params)
        return {"items": page, "nextToken": token}

    def delete_job(self, backend, params):
        backend.delete_job(params["jobID"])

    # ---------------------------------------------------------------- recovery instances
    def describe_recovery_instances(self, backend, params):
        records = backend.describe_recovery_instances(params.get("filters") or {})
        page, token = paginate(records, params)
        return {"items": [backend.recovery_instance_dict(r) for r in page], "nextToken": token}

    def describe_recovery_snapshots(self, backend, params):
        items = backend.describe_recovery_snapshots(params["sourceServerID"], params.get("filters") or {},
                                                    params.get("order", "ASC"))
        page, token = paginate(items, params)
        return {"items": page, "nextToken": token}

    def terminate_recovery_instances(self, backend, params):
        return {"job": backend.terminate_recovery_instances(params["recoveryInstanceIDs"]).to_dict()}

    def disconnect_recovery_instance(self, backend, params):
        backend.disconnect_recovery_instance(params["recoveryInstanceID"])

    def delete_recovery_instance(self, backend, params):
        backend.delete_recovery_instance(params["recoveryInstanceID"])

    def stop_failback(self, backend, params):
        backend.stop_failback(params["recoveryInstanceID"])

    def reverse_replication(self, backend, params):
        return {"reversedDirectionSourceServerArn": backend.reverse_replication(params["recoveryInstanceID"])}

    # ---------------------------------------------------------------- staging accounts
    def list_staging_accounts(self, backend, params):
        page, token = paginate(backend.list_staging_accounts(), params)
        return {"accounts": page, "nextToken": token}

    def list_extensible_source_servers(self, backend, params):
        servers = backend.list_extensible_source_servers(params["stagingAccountID"])
        page, token = paginate(servers, params)
        return {"items": [{"hostname": s.hostname, "arn": s.arn, "tags": dict(s.tags)} for s in page],
                "nextToken": token}

    def create_extended_source_server(self, backend, params):
        server = backend.create_extended_source_server(params["sourceServerArn"], params.get("tags"))
        return {"sourceServer": backend.source_server_dict(server)}

    # ---------------------------------------------------------------- tags
    def tag_resource(self, backend, params):
        backend.tags_of(params["resourceArn"]).update(params["tags"])

    def untag_resource(self, backend, params):
        tags = backend.tags_of(params["resourceArn"])
        for key in params["tagKeys"]:
            tags.pop(key, None)

    def list_tags_for_resource(self, backend, params):
        return {"tags": dict(backend.tags_of(params["resourceArn"]))}

    # ---------------------------------------------------------------- recovery plans
    def create_recovery_plan(self, backend, params):
        plan = backend.create_recovery_plan(params["name"], params.get("description"), params.get("tags"))
        return {"recoveryPlan": plan.to_dict()}

    def create_recovery_plan_step(self, backend, params):
        return {"recoveryPlanStep": backend.create_recovery_plan_step(params)}

    def list_recovery_plan_steps(self, backend, params):
        page, token = paginate(backend.list_recovery_plan_steps(params["recoveryPlanArn"]), params)
        return {"recoveryPlanSteps": page, "nextToken": token}

    def start_recovery_plan_execution(self, backend, params):
        return {"recoveryPlanExecution": backend.start_recovery_plan_execution(params).to_dict()}

    def get_recovery_plan_execution(self, backend, params):
        return {"recoveryPlanExecution": backend.get_execution(params["recoveryPlanExecutionArn"]).to_dict()}

    def list_recovery_plan_execution_steps(self, backend, params):
        execution = backend.get_execution(params["recoveryPlanExecutionArn"])
        wanted = (params.get("filter") or {}).get("status")
        steps = [{k: v for k, v in s.items() if k not in ("attempt", "createdAt", "updatedAt")}
                 for s in execution.steps if not wanted or s["status"] == wanted]
        page, token = paginate(steps, params)
        return {"recoveryPlanExecutionSteps": page, "nextToken": token}

    def cancel_recovery_plan_execution(self, backend, params):
        execution = backend.cancel_recovery_plan_execution(params["recoveryPlanExecutionArn"])
        return {"recoveryPlanExecution": execution.to_dict()}


def _snake(name: str) -> str:
    out = []
    for index, char in enumerate(name):
        if char.isupper() and index:
            out.append("_")
        out.append(char.lower())
    return "".join(out)


def _guess(path: str) -> str:
    segment = path.strip("/").split("/")[0]
    return segment or "Unknown"
