"""DRS conformance: every implemented operation, driven by two independent clients, checked on the wire.

For each operation in ``drs_simulator.drs.responses.IMPLEMENTED`` one case sets up realistic state and
names the call. The call then runs through boto3 (the raw body is captured before botocore parses it)
and through the AWS CLI (``aws drs <op> --cli-input-json``). Both are checked against the botocore model:
the HTTP status against ``http.responseCode`` and the body against the output shape (shapecheck.py).
Then the error wire format of every modelled error class the simulator produces, the server-side
validation botocore leaves to the service, unimplemented operations, and pagination
(docs/DRS_BEHAVIOUR.md sections 1 and 2).
"""
from __future__ import annotations

import base64
import dataclasses
import gzip
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from typing import Callable

import botocore
import pytest
import requests
from botocore import xform_name
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

import shapecheck
from drs_simulator.drs.responses import IMPLEMENTED
from simlib import DEFAULT_ACCOUNT, PRIMARY, RECOVERY, small_estate

STAGING_ACCOUNT = "444455556666"
UNKNOWN_SERVER_ID = "s-0123456789abcdef0"  # well formed, never issued (IDs are random 17 hex)
# One attempt, no retries. botocore's `max_attempts` counts retries after the first call, so
# simlib.NO_RETRY ({"max_attempts": 1}) still retries a 429/5xx once; `total_max_attempts` counts every call.
SINGLE_ATTEMPT = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def expected_status(operation: str) -> int:
    return shapecheck.service_model().operation_model(operation).http.get("responseCode", 200)


# --------------------------------------------------------------------------------------------- wire capture
@dataclasses.dataclass
class RawResponse:
    operation: str
    status: int
    headers: dict  # lower-case names
    body: bytes

    def json(self):
        return json.loads(self.body) if self.body else None


class Wire:
    """The raw responses a boto3 client received, captured by a `before-parse.drs.*` handler."""

    def __init__(self, client):
        self.responses: list[RawResponse] = []
        client.meta.events.register("before-parse.drs.*", self._record)

    def _record(self, operation_model, response_dict, **_):
        headers = {k.lower(): v for k, v in response_dict["headers"].items()}
        self.responses.append(RawResponse(operation_model.name, response_dict["status_code"], headers,
                                          response_dict["body"]))

    def last(self, operation: str) -> RawResponse:
        matching = [r for r in self.responses if r.operation == operation]
        assert matching, f"no {operation} response was captured"
        return matching[-1]


def recorded_client(sim, region=RECOVERY, account=DEFAULT_ACCOUNT):
    client = sim.client("drs", region=region, account=account, config=SINGLE_ATTEMPT)
    return client, Wire(client)


def success_wire_problems(raw: RawResponse) -> list[str]:
    """Status from the model; 204 means an empty body; otherwise a JSON body that fits the output shape."""
    status = expected_status(raw.operation)
    if raw.status != status:
        return [f"{raw.operation}: HTTP {raw.status}, the model says {status}: {raw.body[:300]!r}"]
    problems = [] if raw.headers.get("x-amzn-requestid") else [f"{raw.operation}: no x-amzn-RequestId header"]
    if status == 204:
        if raw.body != b"":
            problems.append(f"{raw.operation}: a 204 response must have an empty body, got {raw.body[:200]!r}")
        return problems
    if not raw.headers.get("content-type", "").startswith("application/json"):
        problems.append(f"{raw.operation}: Content-Type {raw.headers.get('content-type')!r}")
    return problems + [f"{raw.operation} {p}" for p in shapecheck.check_output(raw.operation, raw.json())]


def assert_success_wire(*raws: RawResponse):
    problems = [problem for raw in raws for problem in success_wire_problems(raw)]
    assert problems == [], "responses do not fit the model:\n" + "\n".join(problems)


# --------------------------------------------------------------------------------------------- the AWS CLI
def _cli_model_operations():
    """Operations the AWS CLI's own DRS model knows, or None when the CLI uses the installed botocore.

    awscli 1.x vendors its own botocore whose DRS model may be older than the one boto3 uses.
    """
    spec = importlib.util.find_spec("awscli")
    if spec is None:
        return None
    root = spec.submodule_search_locations[0]
    for name, opener in (("service-2.json", open), ("service-2.json.gz", gzip.open)):
        path = os.path.join(root, "botocore", "data", "drs", "2020-02-26", name)
        if os.path.exists(path):
            with opener(path, "rt") as handle:
                return set(json.load(handle)["operations"])
    return None


CLI_MODEL_OPERATIONS = _cli_model_operations()
AWS = os.path.join(os.path.dirname(sys.executable), "aws")


@pytest.fixture(scope="session")
def cli_model_dir(tmp_path_factory):
    """An AWS_DATA_PATH holding the DRS model boto3 uses, for operations the CLI's own model lacks."""
    source = os.path.join(os.path.dirname(botocore.__file__), "data", "drs")
    target = tmp_path_factory.mktemp("cli-models")
    shutil.copytree(source, target / "drs")
    return str(target)


@pytest.fixture
def aws(sim, cli_model_dir):
    """Run `aws drs <operation>` against the simulator; returns the CompletedProcess."""
    if not os.path.exists(AWS):
        pytest.fail(f"the AWS CLI is not installed at {AWS} (requirements/dev.in lists awscli)")

    def run(operation, params=None, region=RECOVERY):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_CONFIG_FILE="/dev/null",
                   AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_EC2_METADATA_DISABLED="true",
                   AWS_MAX_ATTEMPTS="1")  # total attempts: one request per call, as the status check expects
        if CLI_MODEL_OPERATIONS is not None and operation not in CLI_MODEL_OPERATIONS:
            env["AWS_DATA_PATH"] = cli_model_dir
        command = [sys.executable, AWS, "drs", xform_name(operation, "-"), "--endpoint-url", sim.url,
                   "--region", region, "--output", "json"]
        if params:
            command += ["--cli-input-json", json.dumps(params)]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)

    return run


# --------------------------------------------------------------------------------------------- cases
@dataclasses.dataclass
class Call:
    params: dict
    # Checks the parsed result (boto3 without ResponseMetadata, or the CLI's printed JSON; {} when empty).
    verify: Callable[[dict], None] | None = None


class Ctx:
    """State builders shared by the cases; every builder goes through the public API or control endpoints."""

    def __init__(self, sim):
        self.sim = sim
        self.drs = sim.client("drs")
        self._estate = None

    def load(self) -> dict:
        """The default 3-server estate, loaded once; it also initialises DRS in the recovery region."""
        if self._estate is None:
            self._estate = self.sim.load_estate(small_estate(3, 1))
        return self._estate

    @property
    def estate(self) -> dict:
        return self.load()

    def server(self, index=0) -> dict:
        return list(self.estate["servers"].values())[index]

    def sid(self, index=0) -> str:
        return self.server(index)["source_server_id"]

    def arn(self, index=0) -> str:
        return self.server(index)["source_server_arn"]

    def completed_job(self, index=0, drill=True) -> dict:
        job = self.drs.start_recovery(sourceServers=[{"sourceServerID": self.sid(index)}], isDrill=drill)["job"]
        return self.sim.run_job(self.drs, job["jobID"], step=300)

    def recovery_instance(self, index=0, drill=True) -> str:
        job = self.completed_job(index, drill)
        item = job["participatingServers"][0]
        assert item["launchStatus"] == "LAUNCHED", item
        return item["recoveryInstanceID"]

    def staging_server(self, extend_into=None) -> dict:
        """A source server replicating in STAGING_ACCOUNT (section 8), optionally extended into an account."""
        body = {"instance_id": self.server(0)["source_instance_id"], "source_region": PRIMARY,
                "recovery_region": RECOVERY, "staging_account_id": STAGING_ACCOUNT,
                "account_id": extend_into or STAGING_ACCOUNT}
        return self.sim.control("POST", "source-servers", body)

    def plan(self, steps=("server",)) -> str:
        self.load()
        arn = self.drs.create_recovery_plan(name="conformance-plan")["recoveryPlan"]["recoveryPlanArn"]
        for step in steps:
            if step == "server":
                config = {"serverStepConfiguration": {"servers": [
                    {"serverArn": self.arn(0), "impactLevel": "CRITICAL"},
                    {"serverArn": self.arn(1), "impactLevel": "OPTIONAL"}]}}
                self.drs.create_recovery_plan_step(recoveryPlanArn=arn, stepName="databases", configuration=config)
            else:
                self.drs.create_recovery_plan_step(recoveryPlanArn=arn, stepName="settle",
                                                   configuration={"waitStepConfiguration": {"waitDurationMinutes": 1}})
        return arn

    def execution(self, steps=("server",)) -> str:
        plan = self.plan(steps)
        return self.drs.start_recovery_plan_execution(recoveryPlanArn=plan, mode="DRILL")[
            "recoveryPlanExecution"]["recoveryPlanExecutionArn"]


CASES: dict[str, Callable[[Ctx], Call]] = {}


def case(operation):
    def register(builder):
        assert operation not in CASES, f"two cases for {operation}"
        CASES[operation] = builder
        return builder
    return register


@case("InitializeService")
def _initialize_service(ctx):
    with pytest.raises(ctx.drs.exceptions.UninitializedAccountException):
        ctx.drs.describe_source_servers()

    def verify(result):
        assert ctx.drs.describe_source_servers()["items"] == []
        assert len(ctx.drs.describe_launch_configuration_templates()["items"]) == 1
    return Call({}, verify)


@case("DescribeSourceServers")
def _describe_source_servers(ctx):
    wanted = {ctx.sid(0), ctx.sid(2)}

    def verify(result):
        assert {s["sourceServerID"] for s in result["items"]} == wanted
        for server in result["items"]:
            assert server["dataReplicationInfo"]["dataReplicationState"] == "CONTINUOUS"
            assert server["replicationDirection"] == "FAILOVER"
    return Call({"filters": {"sourceServerIDs": sorted(wanted)}}, verify)


@case("GetLaunchConfiguration")
def _get_launch_configuration(ctx):
    def verify(result):
        assert result["sourceServerID"] == ctx.sid(1)
        assert result["ec2LaunchTemplateID"].startswith("lt-")
    return Call({"sourceServerID": ctx.sid(1)}, verify)


@case("UpdateLaunchConfiguration")
def _update_launch_configuration(ctx):
    target = ctx.server(0)["target_instance_id"]
    params = {"sourceServerID": ctx.sid(0), "launchDisposition": "STOPPED", "copyPrivateIp": False,
              "copyTags": False, "targetInstanceTypeRightSizingMethod": "NONE", "licensing": {"osByol": True},
              "launchIntoInstanceProperties": {"launchIntoEC2InstanceID": target}}

    def verify(result):
        for got in (result, ctx.drs.get_launch_configuration(sourceServerID=ctx.sid(0))):
            assert got["launchIntoInstanceProperties"] == {"launchIntoEC2InstanceID": target}
            assert (got["launchDisposition"], got["targetInstanceTypeRightSizingMethod"]) == ("STOPPED", "NONE")
            assert got["licensing"] == {"osByol": True}
    return Call(params, verify)


@case("StartRecovery")
def _start_recovery(ctx):
    ids = [ctx.sid(i) for i in range(3)]

    def verify(result):
        job = result["job"]
        assert (job["status"], job["type"], job["initiatedBy"]) == ("PENDING", "LAUNCH", "START_DRILL")
        assert sorted(p["sourceServerID"] for p in job["participatingServers"]) == sorted(ids)
        assert {p["launchStatus"] for p in job["participatingServers"]} == {"PENDING"}
        assert job["tags"] == {"purpose": "conformance"}
    return Call({"sourceServers": [{"sourceServerID": i} for i in ids], "isDrill": True,
                 "tags": {"purpose": "conformance"}}, verify)


@case("DescribeJobs")
def _describe_jobs(ctx):
    job_id = ctx.completed_job(0)["jobID"]

    def verify(result):
        assert [j["jobID"] for j in result["items"]] == [job_id]
        job = result["items"][0]
        assert job["status"] == "COMPLETED" and job["endDateTime"] >= job["creationDateTime"]
        assert job["participatingServers"][0]["launchStatus"] == "LAUNCHED"
    return Call({"filters": {"jobIDs": [job_id]}}, verify)


@case("DescribeJobLogItems")
def _describe_job_log_items(ctx):
    job_id = ctx.completed_job(1)["jobID"]

    def verify(result):
        events = [item["event"] for item in result["items"]]
        assert events[0] == "JOB_START" and events[-1] == "JOB_END", events
        assert {"SNAPSHOT_START", "SNAPSHOT_END", "CONVERSION_START", "CONVERSION_END", "LAUNCH_START"} <= set(events)
    return Call({"jobID": job_id}, verify)


@case("DeleteJob")
def _delete_job(ctx):
    job_id = ctx.completed_job(0)["jobID"]

    def verify(result):
        assert ctx.drs.describe_jobs(filters={"jobIDs": [job_id]})["items"] == []
    return Call({"jobID": job_id}, verify)


@case("DescribeRecoveryInstances")
def _describe_recovery_instances(ctx):
    instance_id = ctx.recovery_instance(0)

    def verify(result):
        assert [r["recoveryInstanceID"] for r in result["items"]] == [instance_id]
        record = result["items"][0]
        assert (record["sourceServerID"], record["isDrill"]) == (ctx.sid(0), True)
        assert record["ec2InstanceState"] == "RUNNING"
    return Call({"filters": {"sourceServerIDs": [ctx.sid(0)]}}, verify)


@case("DescribeRecoverySnapshots")
def _describe_recovery_snapshots(ctx):
    ctx.completed_job(0)  # a second point-in-time snapshot besides the seeded one

    def verify(result):
        items = result["items"]
        assert len(items) == 2 and {s["sourceServerID"] for s in items} == {ctx.sid(0)}
        assert items[0]["timestamp"] > items[1]["timestamp"], "order=DESC must list the newest first"
    return Call({"sourceServerID": ctx.sid(0), "order": "DESC"}, verify)


@case("TerminateRecoveryInstances")
def _terminate_recovery_instances(ctx):
    instance_id = ctx.recovery_instance(0)

    def verify(result):
        job = result["job"]
        assert (job["type"], job["initiatedBy"]) == ("TERMINATE", "TERMINATE_RECOVERY_INSTANCES")
        assert [p.get("recoveryInstanceID") for p in job["participatingServers"]] == [instance_id]
    return Call({"recoveryInstanceIDs": [instance_id]}, verify)


@case("DisconnectRecoveryInstance")
def _disconnect_recovery_instance(ctx):
    instance_id = ctx.recovery_instance(0)

    def verify(result):
        record = ctx.drs.describe_recovery_instances(filters={"recoveryInstanceIDs": [instance_id]})["items"][0]
        assert record["dataReplicationInfo"]["dataReplicationState"] == "DISCONNECTED"
    return Call({"recoveryInstanceID": instance_id}, verify)


@case("DeleteRecoveryInstance")
def _delete_recovery_instance(ctx):
    instance_id = ctx.recovery_instance(0)
    ctx.drs.disconnect_recovery_instance(recoveryInstanceID=instance_id)

    def verify(result):
        assert ctx.drs.describe_recovery_instances(filters={"recoveryInstanceIDs": [instance_id]})["items"] == []
    return Call({"recoveryInstanceID": instance_id}, verify)


@case("ReverseReplication")
def _reverse_replication(ctx):
    instance_id = ctx.recovery_instance(0, drill=False)

    def verify(result):
        arn = result["reversedDirectionSourceServerArn"]
        assert arn.startswith(f"arn:aws:drs:{PRIMARY}:{DEFAULT_ACCOUNT}:source-server/s-"), arn
        primary = ctx.sim.client("drs", region=PRIMARY)
        reversed_server = [s for s in primary.describe_source_servers()["items"] if s["arn"] == arn]
        assert len(reversed_server) == 1 and reversed_server[0]["replicationDirection"] == "FAILBACK"
        assert reversed_server[0]["sourceProperties"]["identificationHints"]["awsInstanceID"] == instance_id
    return Call({"recoveryInstanceID": instance_id}, verify)


@case("StartReplication")
def _start_replication(ctx):
    ctx.drs.stop_replication(sourceServerID=ctx.sid(0))

    def verify(result):
        assert result["sourceServer"]["sourceServerID"] == ctx.sid(0)
        assert result["sourceServer"]["dataReplicationInfo"]["dataReplicationState"] == "INITIATING"
    return Call({"sourceServerID": ctx.sid(0)}, verify)


@case("StopReplication")
def _stop_replication(ctx):
    def verify(result):
        assert result["sourceServer"]["dataReplicationInfo"]["dataReplicationState"] == "STOPPED"
    return Call({"sourceServerID": ctx.sid(2)}, verify)


@case("GetReplicationConfiguration")
def _get_replication_configuration(ctx):
    def verify(result):
        assert result["sourceServerID"] == ctx.sid(0)
        assert [rule["units"] for rule in result["pitPolicy"]] == ["MINUTE", "HOUR", "DAY"]
    return Call({"sourceServerID": ctx.sid(0)}, verify)


@case("ListStagingAccounts")
def _list_staging_accounts(ctx):
    ctx.staging_server(extend_into=DEFAULT_ACCOUNT)

    def verify(result):
        assert result["accounts"] == [{"accountID": STAGING_ACCOUNT}]
    return Call({}, verify)


@case("ListExtensibleSourceServers")
def _list_extensible_source_servers(ctx):
    staged = ctx.staging_server()

    def verify(result):
        assert [s["arn"] for s in result["items"]] == [staged["arn"]]
    return Call({"stagingAccountID": STAGING_ACCOUNT}, verify)


@case("CreateExtendedSourceServer")
def _create_extended_source_server(ctx):
    staged = ctx.staging_server()

    def verify(result):
        area = result["sourceServer"]["stagingArea"]
        assert area == {"status": "EXTENDED", "stagingAccountID": STAGING_ACCOUNT,
                        "stagingSourceServerArn": staged["arn"]}
        assert result["sourceServer"]["tags"]["extended-by"] == "conformance"
    return Call({"sourceServerArn": staged["arn"], "tags": {"extended-by": "conformance"}}, verify)


@case("DescribeLaunchConfigurationTemplates")
def _describe_launch_configuration_templates(ctx):
    ctx.load()

    def verify(result):
        assert len(result["items"]) == 1
        assert result["items"][0]["launchConfigurationTemplateID"].startswith("lct-")
    return Call({}, verify)


@case("UpdateLaunchConfigurationTemplate")
def _update_launch_configuration_template(ctx):
    ctx.load()
    template_id = ctx.drs.describe_launch_configuration_templates()["items"][0]["launchConfigurationTemplateID"]
    params = {"launchConfigurationTemplateID": template_id, "launchDisposition": "STOPPED",
              "launchIntoSourceInstance": True, "copyPrivateIp": False, "targetInstanceTypeRightSizingMethod": "NONE"}

    def verify(result):
        template = result["launchConfigurationTemplate"]
        assert template["launchConfigurationTemplateID"] == template_id
        assert (template["launchDisposition"], template["launchIntoSourceInstance"]) == ("STOPPED", True)
    return Call(params, verify)


@case("TagResource")
def _tag_resource(ctx):
    def verify(result):
        tags = ctx.drs.list_tags_for_resource(resourceArn=ctx.arn(0))["tags"]
        assert tags["owner"] == "dr-team" and tags["Name"] == list(ctx.estate["servers"])[0]
    return Call({"resourceArn": ctx.arn(0), "tags": {"owner": "dr-team"}}, verify)


@case("UntagResource")
def _untag_resource(ctx):
    ctx.drs.tag_resource(resourceArn=ctx.arn(0), tags={"keep": "1", "drop": "2"})

    def verify(result):
        tags = ctx.drs.list_tags_for_resource(resourceArn=ctx.arn(0))["tags"]
        assert "drop" not in tags and tags["keep"] == "1"
    return Call({"resourceArn": ctx.arn(0), "tagKeys": ["drop"]}, verify)


@case("ListTagsForResource")
def _list_tags_for_resource(ctx):
    def verify(result):
        assert result["tags"]["Name"] == list(ctx.estate["servers"])[1]
        assert result["tags"]["drs:wave"] == "1"
    return Call({"resourceArn": ctx.arn(1)}, verify)


@case("CreateRecoveryPlan")
def _create_recovery_plan(ctx):
    ctx.load()

    def verify(result):
        plan = result["recoveryPlan"]
        assert (plan["name"], plan["status"], plan["tags"]) == ("wave 1 drill", "ACTIVE", {"wave": "1"})
    return Call({"name": "wave 1 drill", "description": "databases first", "tags": {"wave": "1"}}, verify)


@case("CreateRecoveryPlanStep")
def _create_recovery_plan_step(ctx):
    plan = ctx.plan(steps=())
    config = {"serverStepConfiguration": {"servers": [{"serverArn": ctx.arn(0), "impactLevel": "CRITICAL"}]}}

    def verify(result):
        step = result["recoveryPlanStep"]
        assert (step["stepName"], step["stepOrder"], step["configuration"]) == ("databases", 1, config)
    return Call({"recoveryPlanArn": plan, "stepName": "databases", "configuration": config}, verify)


@case("ListRecoveryPlanSteps")
def _list_recovery_plan_steps(ctx):
    plan = ctx.plan(steps=("server", "wait"))

    def verify(result):
        steps = result["recoveryPlanSteps"]
        assert [(s["stepOrder"], s["stepName"]) for s in steps] == [(1, "databases"), (2, "settle")]
    return Call({"recoveryPlanArn": plan}, verify)


@case("StartRecoveryPlanExecution")
def _start_recovery_plan_execution(ctx):
    plan = ctx.plan()

    def verify(result):
        execution = result["recoveryPlanExecution"]
        assert execution["recoveryPlanArn"] == plan
        assert (execution["mode"], execution["tags"]) == ("DRILL", {"run": "conformance"})
        assert execution["status"] in ("CREATED", "IN_PROGRESS")
    return Call({"recoveryPlanArn": plan, "mode": "DRILL", "tags": {"run": "conformance"}}, verify)


@case("GetRecoveryPlanExecution")
def _get_recovery_plan_execution(ctx):
    execution = ctx.execution(steps=("server", "wait"))
    ctx.sim.advance(900)  # the server step's job (~555 s), then the 1-minute wait

    def verify(result):
        got = result["recoveryPlanExecution"]
        assert (got["recoveryPlanExecutionArn"], got["status"]) == (execution, "COMPLETED")
        assert got["completedAt"] > got["startedAt"]
    return Call({"recoveryPlanExecutionArn": execution}, verify)


@case("ListRecoveryPlanExecutionSteps")
def _list_recovery_plan_execution_steps(ctx):
    execution = ctx.execution(steps=("server", "wait"))
    ctx.sim.advance(60)

    def verify(result):
        steps = result["recoveryPlanExecutionSteps"]
        assert [(s["stepIndex"], s["status"]) for s in steps] == [(1, "EXECUTING"), (2, "NOT_STARTED")]
        servers = steps[0]["configuration"]["executionServerStepConfiguration"]["servers"]
        jobs = {server["jobID"] for server in servers}
        assert len(jobs) == 1
        assert ctx.drs.describe_jobs(filters={"jobIDs": sorted(jobs)})["items"][0]["status"] == "STARTED"
    return Call({"recoveryPlanExecutionArn": execution}, verify)


@case("CancelRecoveryPlanExecution")
def _cancel_recovery_plan_execution(ctx):
    execution = ctx.execution(steps=("wait", "server"))
    ctx.sim.advance(10)

    def verify(result):
        assert result["recoveryPlanExecution"]["status"] in ("CANCELLING", "CANCELLED")
        steps = ctx.drs.list_recovery_plan_execution_steps(recoveryPlanExecutionArn=execution)
        assert [s["status"] for s in steps["recoveryPlanExecutionSteps"]] == ["SKIPPED", "SKIPPED"]
        assert ctx.drs.describe_jobs()["items"] == [], "a cancelled plan must not start its server step"
    return Call({"recoveryPlanExecutionArn": execution}, verify)


@case("UpdateReplicationConfiguration")
def _update_replication_configuration(ctx):
    current = ctx.drs.get_replication_configuration(sourceServerID=ctx.sid(0))
    current.pop("ResponseMetadata")
    # The round trip tools written for DRS make: what Get returned, changed, sent back whole.
    params = dict(current, bandwidthThrottling=50, dataPlaneRouting="PUBLIC_IP")

    def verify(result):
        for got in (result, ctx.drs.get_replication_configuration(sourceServerID=ctx.sid(0))):
            assert (got["bandwidthThrottling"], got["dataPlaneRouting"]) == (50, "PUBLIC_IP")
            assert got["stagingAreaSubnetId"] == current["stagingAreaSubnetId"]
    return Call(params, verify)


@case("DisconnectSourceServer")
def _disconnect_source_server(ctx):
    def verify(result):
        info = result["dataReplicationInfo"]
        assert info["dataReplicationState"] == "DISCONNECTED" and "lagDuration" not in info
        assert {d["totalStorageBytes"] for d in info["replicatedDisks"]} == {0}
    return Call({"sourceServerID": ctx.sid(2)}, verify)


@case("DeleteSourceServer")
def _delete_source_server(ctx):
    ctx.drs.disconnect_source_server(sourceServerID=ctx.sid(1))

    def verify(result):
        assert ctx.drs.describe_source_servers(filters={"sourceServerIDs": [ctx.sid(1)]})["items"] == []
    return Call({"sourceServerID": ctx.sid(1)}, verify)


@case("StopFailback")
def _stop_failback(ctx):
    instance_id = ctx.recovery_instance(0, drill=False)
    ctx.drs.reverse_replication(recoveryInstanceID=instance_id)

    def verify(result):
        record = ctx.drs.describe_recovery_instances(filters={"recoveryInstanceIDs": [instance_id]})["items"][0]
        assert record["failback"]["state"] == "FAILBACK_NOT_STARTED"
    return Call({"recoveryInstanceID": instance_id}, verify)


def test_model_status_codes_are_the_documented_ones():
    """expected_status reads the model; pin the codes of docs/DRS_BEHAVIOUR.md section 1 so a model change shows."""
    documented = {"CreateRecoveryPlan": 201, "CreateRecoveryPlanStep": 201, "CreateExtendedSourceServer": 201,
                  "StartRecoveryPlanExecution": 201, "StartRecovery": 202, "InitializeService": 204,
                  "DeleteJob": 204, "DescribeJobs": 200, "ListStagingAccounts": 200}
    assert {op: expected_status(op) for op in documented} == documented


def test_every_implemented_operation_has_a_conformance_case():
    model_operations = set(shapecheck.service_model().operation_names)
    assert len(IMPLEMENTED) == len(set(IMPLEMENTED)), "IMPLEMENTED lists an operation twice"
    assert set(IMPLEMENTED) <= model_operations, set(IMPLEMENTED) - model_operations
    assert sorted(CASES) == sorted(IMPLEMENTED), (
        f"without a conformance case: {sorted(set(IMPLEMENTED) - set(CASES))}; "
        f"case for an unimplemented operation: {sorted(set(CASES) - set(IMPLEMENTED))}")


@pytest.mark.parametrize("operation", sorted(IMPLEMENTED))
def test_boto3_call_conforms(sim, operation):
    ctx = Ctx(sim)
    call = CASES[operation](ctx)
    drs, wire = recorded_client(sim)
    result = getattr(drs, xform_name(operation))(**call.params)
    assert_success_wire(wire.last(operation))
    result.pop("ResponseMetadata")
    if call.verify:
        call.verify(result)


@pytest.mark.parametrize("operation", sorted(IMPLEMENTED))
def test_cli_call_conforms(sim, aws, operation):
    ctx = Ctx(sim)
    call = CASES[operation](ctx)
    sim.clear_requests()
    done = aws(operation, call.params)
    assert done.returncode == 0, f"aws drs {xform_name(operation, '-')} failed ({done.returncode}): {done.stderr}"
    # The CLI may page through a list, so it can make several calls: every one must carry the model's status.
    served = [entry["status"] for entry in sim.requests(service="drs") if entry["operation"] == operation]
    assert served and set(served) == {expected_status(operation)}, served
    output_shape = shapecheck.output_shape(operation)
    if expected_status(operation) == 204 or output_shape is None or not output_shape.members:
        assert done.stdout.strip() == "", done.stdout
        result = {}
    else:
        result = json.loads(done.stdout)
        problems = shapecheck.check_output(operation, result)
        assert problems == [], f"CLI output of {operation} does not fit the model:\n" + "\n".join(problems)
    if call.verify:
        call.verify(result)


# --------------------------------------------------------------------------------------------- state tour
def test_responses_fit_the_model_through_failures_and_failback(sim):
    """The members that only appear in some states (errors, skipped servers, failback) fit the model too."""
    estate = sim.load_estate(small_estate(3, 1))
    ids = [s["source_server_id"] for s in estate["servers"].values()]
    sim.add_fault(type="launch_failure", source_server_ids=[ids[1]])
    sim.add_fault(type="replication_stall", source_server_ids=[ids[2]])
    drs, wire = recorded_client(sim)
    primary, primary_wire = recorded_client(sim, region=PRIMARY)

    target = list(estate["servers"].values())[0]["target_instance_id"]
    drs.update_launch_configuration(sourceServerID=ids[0], copyPrivateIp=False, copyTags=False,
                                    launchIntoInstanceProperties={"launchIntoEC2InstanceID": target})
    stalled = drs.describe_source_servers(filters={"sourceServerIDs": [ids[2]]})["items"][0]
    assert stalled["dataReplicationInfo"]["dataReplicationState"] == "STALLED"
    job = drs.start_recovery(sourceServers=[{"sourceServerID": i} for i in ids[:2] + [UNKNOWN_SERVER_ID]],
                             isDrill=False)["job"]
    job = sim.run_job(drs, job["jobID"])
    statuses = {p["sourceServerID"]: p["launchStatus"] for p in job["participatingServers"]}
    assert statuses == {ids[0]: "LAUNCHED", ids[1]: "FAILED"}
    events = {item["event"] for item in drs.describe_job_log_items(jobID=job["jobID"])["items"]}
    assert {"SERVER_SKIPPED", "LAUNCH_FAILED"} <= events
    drs.describe_source_servers()
    instance_id = next(p["recoveryInstanceID"] for p in job["participatingServers"] if "recoveryInstanceID" in p)
    assert instance_id == target, "server 0 was launched into its pre-provisioned target"

    drs.reverse_replication(recoveryInstanceID=instance_id)
    sim.advance(300)  # the reversed server is in INITIAL_SYNC (8 GiB at 200 s/GiB)
    syncing = primary.describe_source_servers()["items"]
    assert [s["dataReplicationInfo"]["dataReplicationState"] for s in syncing] == ["INITIAL_SYNC"]
    drs.describe_recovery_instances()
    sim.advance(2400)  # CONTINUOUS: failback is ready for launch
    record = drs.describe_recovery_instances()["items"][0]
    assert record["failback"]["state"] == "FAILBACK_READY_FOR_LAUNCH"
    primary.describe_source_servers()

    drs.describe_jobs()
    drs.describe_recovery_snapshots(sourceServerID=ids[0])

    captured = wire.responses + primary_wire.responses
    assert len(captured) >= 14
    assert_success_wire(*captured)


def test_failed_plan_execution_details_fit_the_model(sim):
    estate = sim.load_estate(small_estate(2, 1))
    ids = [s["source_server_id"] for s in estate["servers"].values()]
    sim.add_fault(type="launch_failure", source_server_ids=[ids[0]])
    drs, wire = recorded_client(sim)
    plan = drs.create_recovery_plan(name="failing plan")["recoveryPlan"]["recoveryPlanArn"]
    servers = [{"serverArn": s["source_server_arn"], "impactLevel": level}
               for s, level in zip(estate["servers"].values(), ("CRITICAL", "OPTIONAL"))]
    drs.create_recovery_plan_step(recoveryPlanArn=plan, stepName="all",
                                  configuration={"serverStepConfiguration": {"servers": servers}})
    drs.create_recovery_plan_step(recoveryPlanArn=plan, stepName="later",
                                  configuration={"waitStepConfiguration": {"waitDurationMinutes": 5}})
    execution = drs.start_recovery_plan_execution(recoveryPlanArn=plan, mode="RECOVERY")["recoveryPlanExecution"]
    sim.advance(900)
    got = drs.get_recovery_plan_execution(recoveryPlanExecutionArn=execution["recoveryPlanExecutionArn"])
    assert got["recoveryPlanExecution"]["status"] == "FAILED"
    assert got["recoveryPlanExecution"]["errorDetail"]["message"]
    steps = drs.list_recovery_plan_execution_steps(recoveryPlanExecutionArn=execution["recoveryPlanExecutionArn"])
    assert [s["status"] for s in steps["recoveryPlanExecutionSteps"]] == ["FAILED", "SKIPPED"]
    failed_only = drs.list_recovery_plan_execution_steps(
        recoveryPlanExecutionArn=execution["recoveryPlanExecutionArn"], filter={"status": "FAILED"})
    assert [s["stepName"] for s in failed_only["recoveryPlanExecutionSteps"]] == ["all"]
    assert failed_only["recoveryPlanExecutionSteps"][0]["errorDetail"]["code"]
    assert_success_wire(*wire.responses)


# --------------------------------------------------------------------------------------------- the checker itself
def _job(**overrides):
    job = {"jobID": "drsjob-0123456789abcdef0",
           "arn": "arn:aws:drs:us-west-2:123456789012:job/drsjob-0123456789abcdef0",
           "type": "LAUNCH", "initiatedBy": "START_DRILL", "creationDateTime": "2026-06-15T15:00:00.000Z",
           "status": "PENDING", "tags": {"k": "v"},
           "participatingServers": [{"sourceServerID": "s-0123456789abcdef0", "launchStatus": "PENDING"}]}
    job.update(overrides)
    return job


def test_shapecheck_accepts_a_body_that_fits():
    assert shapecheck.check_output("DescribeJobs", {"items": [_job()], "nextToken": "abc"}) == []
    assert shapecheck.check_output("StartRecovery", {"job": _job()}) == []
    assert shapecheck.check_output("DeleteRecoveryInstance", {}) == []  # no output shape, empty object


@pytest.mark.parametrize("body, path, words", [
    ({"items": [_job(creationDateTime=1781535600)]}, "$.items[0].creationDateTime", "expected a string"),
    ({"items": [_job(endDateTime="2026-06-15 15:00:00")]}, "$.items[0].endDateTime", "does not match the pattern"),
    ({"items": [_job(status="FAILED")]}, "$.items[0].status", "not a value of enum JobStatus"),
    ({"items": [_job(jobID="drsjob_0123456789abcdef0")]}, "$.items[0].jobID", "does not match the pattern"),
    ({"items": [_job(isDrill=True)]}, "$.items[0].isDrill", "not a member of Job"),
    ({"items": [{k: v for k, v in _job().items() if k != "jobID"}]}, "$.items[0].jobID", "required member"),
    ({"items": [_job(participatingServers={"sourceServerID": "s-0123456789abcdef0"})]},
     "$.items[0].participatingServers", "expected a list"),
    ({"items": [_job(tags={"k": 1})]}, "$.items[0].tags['k']", "expected a string"),
    ({"items": [_job(endDateTime=None)]}, "$.items[0].endDateTime", "null"),
    ({"items": [_job()], "nextToken": 7}, "$.nextToken", "expected a string"),
    ({"items": "none"}, "$.items", "expected a list"),
])
def test_shapecheck_reports_what_is_wrong_and_where(body, path, words):
    problems = shapecheck.check_output("DescribeJobs", body)
    assert len(problems) == 1, problems
    assert problems[0].startswith(path + ":") and words in problems[0], problems


def test_shapecheck_checks_nested_types_unions_errors_and_timestamps():
    server = {"sourceServerID": "s-0123456789abcdef0", "lifeCycle": {"lastLaunch": {"initiated": {"type": "DRY_RUN"}}},
              "sourceProperties": {"ramBytes": "8 GiB", "networkInterfaces": [{"isPrimary": "yes"}]}}
    problems = shapecheck.check_output("DescribeSourceServers", {"items": [server]})
    assert sorted(p.split(":")[0] for p in problems) == [
        "$.items[0].lifeCycle.lastLaunch.initiated.type", "$.items[0].sourceProperties.networkInterfaces[0].isPrimary",
        "$.items[0].sourceProperties.ramBytes"], problems
    step = {"recoveryPlanStepArn": "arn:aws:drs:us-west-2:123456789012:recovery-plan/rp-1/step/1", "stepOrder": 21,
            "stepName": "web", "createdAt": "2026-06-15T15:00:00Z", "updatedAt": "2026-06-15T15:00:00Z",
            "configuration": {"waitStepConfiguration": {"waitDurationMinutes": 5},
                              "serverStepConfiguration": {"servers": []}}}
    problems = shapecheck.check_output("CreateRecoveryPlanStep", {"recoveryPlanStep": step})
    assert any("union" in p for p in problems) and any("stepOrder" in p and "maximum 20" in p for p in problems)
    assert any("servers" in p and "minimum 1" in p for p in problems), problems
    # Timestamp-typed members (timestampFormat iso8601) must be ISO-8601 strings, Z or an offset.
    lifecycle = shapecheck.service_model().shape_for("RecoveryLifeCycle")
    assert shapecheck.check(lifecycle, {"apiCallDateTime": "2026-06-15T15:00:00.000Z"}) == []
    assert shapecheck.check(lifecycle, {"apiCallDateTime": "2026-06-15T15:00:00+00:00"}) == []
    assert "ISO-8601 timestamp string" in shapecheck.check(lifecycle, {"apiCallDateTime": 1781535600})[0]
    assert "not an ISO-8601" in shapecheck.check(lifecycle, {"apiCallDateTime": "2026-02-30T15:00:00Z"})[0]
    # Error bodies: modelled members only, reason from its enum, fieldList items {name, message}.
    assert shapecheck.check_error("ValidationException", {"message": "m", "code": "ValidationException",
                                                          "reason": "fieldValidationFailed",
                                                          "fieldList": [{"name": "a", "message": "b"}]}) == []
    problems = shapecheck.check_error("ValidationException", {"message": "m", "reason": "because",
                                                              "fieldList": [{"field": "a"}], "__type": "x"})
    assert sorted(p.split(":")[0] for p in problems) == ["$.__type", "$.fieldList[0].field", "$.reason"], problems
    assert shapecheck.check_error("ThrottlingException", {"serviceCode": "drs"}) == [
        "$.message: required member of ThrottlingException is missing"]
    # A header-bound member (Retry-After) does not belong in the body.
    assert shapecheck.check_error("ThrottlingException", {"message": "m", "retryAfterSeconds": "1"})[0].startswith(
        "$.retryAfterSeconds: not a member")


def test_shapecheck_waives_only_the_listed_model_errata():
    disk = shapecheck.service_model().shape_for("RecoveryInstanceDisk")
    assert shapecheck.check(disk, {"ebsVolumeID": "vol-0123456789abcdef0"}) == []  # 21 characters, max says 19
    assert shapecheck.check(disk, {"ebsVolumeID": "vol-0123456789abcdef0123"})[0].startswith("$.ebsVolumeID")
    assert shapecheck.check(disk, {"ebsVolumeID": "vol-0123"})[0].startswith("$.ebsVolumeID")  # below min 10


# --------------------------------------------------------------------------------------------- error wire format
def assert_error_wire(client, wire, code, status, call):
    """Call, expect the typed exception `code`; check status, x-amzn-ErrorType and the body. Returns the body."""
    with pytest.raises(getattr(client.exceptions, code)) as raised:
        call()
    assert type(raised.value).__name__ == code
    error = raised.value.response
    assert error["Error"]["Code"] == code
    assert error["ResponseMetadata"]["HTTPStatusCode"] == status
    raw = wire.responses[-1]
    assert raw.status == status, raw
    assert raw.headers.get("x-amzn-errortype", "").split(":")[0] == code, raw.headers
    assert raw.headers.get("content-type", "").startswith("application/json"), raw.headers
    body = raw.json()
    assert shapecheck.check_error(code, body) == []
    assert body["message"] and error["Error"]["Message"] == body["message"]
    return body, error


def test_validation_exception_wire_format(sim):
    drs, wire = recorded_client(sim)
    body, _ = assert_error_wire(drs, wire, "ValidationException", 400,
                                lambda: drs.get_launch_configuration(sourceServerID="S-0123456789ABCDEF0"))
    assert (body["code"], body["reason"]) == ("ValidationException", "fieldValidationFailed")
    assert [field["name"] for field in body["fieldList"]] == ["sourceServerID"]
    assert all(field["message"] for field in body["fieldList"])


def test_resource_not_found_exception_wire_format(sim, estate):
    drs, wire = recorded_client(sim)
    body, error = assert_error_wire(drs, wire, "ResourceNotFoundException", 404,
                                    lambda: drs.get_launch_configuration(sourceServerID=UNKNOWN_SERVER_ID))
    assert (body["code"], body["resourceId"], body["resourceType"]) == (
        "ResourceNotFoundException", UNKNOWN_SERVER_ID, "SOURCE_SERVER")
    assert error["resourceId"] == UNKNOWN_SERVER_ID  # botocore lifts the modelled members into the response


def test_conflict_exception_wire_format(sim, estate):
    drs, wire = recorded_client(sim)
    sid = next(iter(estate["servers"].values()))["source_server_id"]
    drs.start_recovery(sourceServers=[{"sourceServerID": sid}], isDrill=True)
    body, _ = assert_error_wire(drs, wire, "ConflictException", 409,
                                lambda: drs.start_recovery(sourceServers=[{"sourceServerID": sid}], isDrill=True))
    # `code` carries undocumented condition text: only its presence is part of the contract (section 1).
    assert (body["resourceType"], body["resourceId"]) == ("SOURCE_SERVER", sid) and body["code"]


def test_service_quota_exceeded_exception_wire_format(sim, estate):
    sim.set_config(quotas={"servers_per_job": 1})
    drs, wire = recorded_client(sim)
    servers = [{"sourceServerID": s["source_server_id"]} for s in estate["servers"].values()][:2]
    body, error = assert_error_wire(drs, wire, "ServiceQuotaExceededException", 402,
                                    lambda: drs.start_recovery(sourceServers=servers, isDrill=True))
    assert (body["code"], body["serviceCode"], body["resourceType"]) == ("ServiceQuotaExceededException", "drs", "JOB")
    assert body["quotaCode"] and error["quotaCode"] == body["quotaCode"]
    assert drs.describe_jobs()["items"] == [], "a refused StartRecovery must not create a job"


def test_uninitialized_account_exception_wire_format(sim, estate):
    fresh_region, wire = recorded_client(sim, region="eu-west-1")
    body, _ = assert_error_wire(fresh_region, wire, "UninitializedAccountException", 400,
                                fresh_region.describe_source_servers)
    assert body["code"] == "UninitializedAccountException"
    fresh_account, wire = recorded_client(sim, account="777788889999")
    assert_error_wire(fresh_account, wire, "UninitializedAccountException", 400,
                      lambda: fresh_account.describe_jobs())


@pytest.mark.parametrize("fault, code, status", [
    ("access_denied", "AccessDeniedException", 403),
    ("throttle", "ThrottlingException", 429),
    ("server_error", "InternalServerException", 500),
])
def test_injected_fault_wire_format(sim, estate, fault, code, status):
    sim.add_fault(type=fault, service="drs", operation="DescribeSourceServers", count=1, retry_after=7)
    drs, wire = recorded_client(sim)
    body, error = assert_error_wire(drs, wire, code, status, drs.describe_source_servers)
    if code == "AccessDeniedException":
        assert body["code"] == code
    else:
        # Retry-After travels as a header; botocore maps it to the modelled retryAfterSeconds member.
        assert wire.responses[-1].headers["retry-after"] == "7"
        assert str(error["retryAfterSeconds"]) == "7"
    if code == "ThrottlingException":
        assert body["serviceCode"] == "drs" and body["quotaCode"]
    assert len(drs.describe_source_servers()["items"]) == 3, "a count=1 fault answers exactly one call"
    statuses = [entry["status"] for entry in sim.requests(service="drs", operation="DescribeSourceServers")]
    assert statuses == [status, 200], "SINGLE_ATTEMPT: botocore must not have retried"


# --------------------------------------------------------------------------------------------- server-side validation
VALIDATION_CASES = {
    # botocore checks only required members, types and minimums; these reach the server (section 1).
    "id pattern": ("GetLaunchConfiguration", {"sourceServerID": "S-0123456789ABCDEF0"}, "sourceServerID"),
    "enum": ("UpdateLaunchConfiguration", {"sourceServerID": UNKNOWN_SERVER_ID, "launchDisposition": "SOMETIMES"},
             "launchDisposition"),
    "list maximum": ("StartRecovery", {"sourceServers": [{"sourceServerID": f"s-{i:017x}"} for i in range(201)]},
                     "sourceServers"),
    "pattern inside a list": ("DescribeSourceServers", {"filters": {"sourceServerIDs": ["s-01234567-89abcdef"]}},
                              "filters.sourceServerIDs[0]"),
    "date pattern": ("DescribeJobs", {"filters": {"fromDate": "2026-13-45T99:00:00Z"}}, "filters.fromDate"),
    "string maximum": ("UpdateLaunchConfiguration", {"sourceServerID": UNKNOWN_SERVER_ID, "name": "n" * 129}, "name"),
    "query-string maximum": ("ListStagingAccounts", {"maxResults": 51}, "maxResults"),
    "nested enum": ("CreateRecoveryPlanStep", {
        "recoveryPlanArn": "arn:aws:drs:us-west-2:123456789012:recovery-plan/rp-0123456789abcdef0",
        "stepName": "web", "configuration": {"serverStepConfiguration": {"servers": [
            {"serverArn": "arn:aws:drs:us-west-2:123456789012:source-server/s-0123456789abcdef0",
             "impactLevel": "SOMEWHAT"}]}}}, "configuration.serverStepConfiguration.servers[0].impactLevel"),
    "plan name pattern": ("CreateRecoveryPlan", {"name": "-drill!"}, "name"),
    "mode enum": ("StartRecoveryPlanExecution", {
        "recoveryPlanArn": "arn:aws:drs:us-west-2:123456789012:recovery-plan/rp-0123456789abcdef0",
        "mode": "PRACTICE"}, "mode"),
}


def test_server_side_validation(sim):
    """Each case answers ValidationException(fieldValidationFailed) naming the field; all cases are reported."""
    drs, wire = recorded_client(sim)
    failures = []
    for name, (operation, params, field) in VALIDATION_CASES.items():
        try:
            body, _ = assert_error_wire(drs, wire, "ValidationException", 400,
                                        lambda: getattr(drs, xform_name(operation))(**params))
            assert body["reason"] == "fieldValidationFailed", body
            assert field in [item["name"] for item in body["fieldList"]], body["fieldList"]
        except (AssertionError, pytest.fail.Exception) as problem:
            failures.append(f"{name} ({operation}): {problem}")
    assert failures == []


def test_validation_rejects_without_side_effects(sim, estate):
    drs, wire = recorded_client(sim)
    sid = next(iter(estate["servers"].values()))["source_server_id"]
    before = drs.get_launch_configuration(sourceServerID=sid)
    assert_error_wire(drs, wire, "ValidationException", 400,
                      lambda: drs.update_launch_configuration(sourceServerID=sid, launchDisposition="SOMETIMES",
                                                              copyTags=True))
    after = drs.get_launch_configuration(sourceServerID=sid)
    before.pop("ResponseMetadata"), after.pop("ResponseMetadata")
    assert after == before


# --------------------------------------------------------------------------------------------- raw requests
def signed_request(sim, method, path, body=b"", region=RECOVERY):
    """A SigV4-signed DRS request that bypasses botocore's serialiser and parser."""
    request = AWSRequest(method=method, url=sim.url + path, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials("testing", "testing"), "drs", region).add_auth(request)
    prepared = request.prepare()
    return requests.request(method, prepared.url, headers=dict(prepared.headers), data=body, timeout=30)


def assert_modelled_validation(response, reason):
    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert response.headers.get("x-amzn-ErrorType") == "ValidationException", response.headers
    assert response.headers.get("Content-Type", "").startswith("application/json"), response.headers
    body = response.json()
    assert shapecheck.check_error("ValidationException", body) == []
    assert body["reason"] == reason, body
    return body


@pytest.mark.parametrize("operation, params", [
    ("RetryDataReplication", {"sourceServerID": UNKNOWN_SERVER_ID}),
    ("CreateSourceNetwork", {"vpcID": "vpc-0123456789abcdef0", "originAccountID": DEFAULT_ACCOUNT,
                             "originRegion": PRIMARY}),
])
def test_unimplemented_operation_is_a_modelled_validation_exception(sim, estate, operation, params):
    assert operation not in IMPLEMENTED
    drs, wire = recorded_client(sim)
    body, _ = assert_error_wire(drs, wire, "ValidationException", 400,
                                lambda: getattr(drs, xform_name(operation))(**params))
    assert body["reason"] == "unknownOperation" and operation in body["message"]


def test_every_unimplemented_model_operation_answers_unknown_operation(sim):
    model = shapecheck.service_model()
    missing = [op for op in model.operation_names if op not in IMPLEMENTED]
    assert missing, "the model has operations the simulator does not implement"
    for operation in missing:
        http = model.operation_model(operation).http
        path = http["requestUri"].split("?")[0].replace("{resourceArn}", "arn%3Aaws%3Adrs%3Ax")
        response = signed_request(sim, http["method"], path, b"{}")
        body = assert_modelled_validation(response, "unknownOperation")
        assert operation in body["message"], (operation, body)
    assert_modelled_validation(signed_request(sim, "POST", "/NoSuchOperation", b"{}"), "unknownOperation")


def test_unparseable_body_is_a_cannot_parse_validation_exception(sim):
    assert_modelled_validation(signed_request(sim, "POST", "/DescribeJobs", b"{not json"), "cannotParse")
    assert_modelled_validation(signed_request(sim, "POST", "/DescribeJobs", b"[1, 2]"), "cannotParse")


# --------------------------------------------------------------------------------------------- pagination
def test_describe_source_servers_pages_return_every_server_once(sim):
    estate = sim.load_estate(small_estate(7, 1))
    drs, wire = recorded_client(sim)
    pages = list(drs.get_paginator("describe_source_servers").paginate(PaginationConfig={"PageSize": 3}))
    ids = [server["sourceServerID"] for page in pages for server in page["items"]]
    assert sorted(ids) == sorted(s["source_server_id"] for s in estate["servers"].values())
    assert len(ids) == len(set(ids)) == 7
    assert [len(page["items"]) for page in pages] == [3, 3, 1]
    assert ["nextToken" in page for page in pages] == [True, True, False]
    assert_success_wire(*wire.responses)


def test_describe_jobs_pages_return_every_job_once(sim):
    estate = sim.load_estate(small_estate(5, 1))
    drs, wire = recorded_client(sim)
    job_ids = {drs.start_recovery(sourceServers=[{"sourceServerID": s["source_server_id"]}],
                                  isDrill=True)["job"]["jobID"] for s in estate["servers"].values()}
    assert len(job_ids) == 5
    seen, token, pages = [], None, 0
    while True:  # the raw maxResults/nextToken loop, as a client without paginators writes it
        page = drs.describe_jobs(maxResults=2, **({"nextToken": token} if token else {}))
        seen += [job["jobID"] for job in page["items"]]
        pages += 1
        token = page.get("nextToken")
        if not token:
            break
        assert pages < 10, "nextToken never ran out"
    assert pages == 3 and sorted(seen) == sorted(job_ids) and len(seen) == len(set(seen))
    paged = [job["jobID"] for page in drs.get_paginator("describe_jobs").paginate(PaginationConfig={"PageSize": 4})
             for job in page["items"]]
    assert sorted(paged) == sorted(job_ids)
    assert_success_wire(*wire.responses)


def test_a_token_the_service_did_not_issue_is_a_validation_exception(sim):
    drs, wire = recorded_client(sim)
    drs.initialize_service()
    for _ in range(3):
        drs.start_recovery(sourceServers=[{"sourceServerID": UNKNOWN_SERVER_ID}], isDrill=True)  # skipped, still a job
    issued = drs.describe_jobs(maxResults=1)["nextToken"]
    assert len(drs.describe_jobs(maxResults=1, nextToken=issued)["items"]) == 1
    failures = []
    for token in ("garbage", "not-a-token-0000",
                  base64.urlsafe_b64encode(b"offset:-2").decode(),  # a forged offset from the end
                  base64.urlsafe_b64encode(b"page:2").decode(), issued[::-1]):
        try:
            body, _ = assert_error_wire(drs, wire, "ValidationException", 400,
                                        lambda: drs.describe_jobs(maxResults=1, nextToken=token))
            assert [item["name"] for item in body["fieldList"]] == ["nextToken"], body
        except (AssertionError, pytest.fail.Exception) as problem:
            failures.append(f"nextToken {token!r}: {problem}")
    assert failures == []


# --------------------------------------------------------------------------------------------- CLI errors
@pytest.mark.parametrize("operation, params, code", [
    ("GetLaunchConfiguration", {"sourceServerID": UNKNOWN_SERVER_ID}, "ResourceNotFoundException"),
    ("UpdateLaunchConfiguration", {"sourceServerID": UNKNOWN_SERVER_ID, "launchDisposition": "SOMETIMES"},
     "ValidationException"),
])
def test_cli_reports_the_modelled_error(sim, estate, aws, operation, params, code):
    done = aws(operation, params)
    assert done.returncode in (254, 255), (done.returncode, done.stdout, done.stderr)  # v2 uses 254, v1 255
    assert f"An error occurred ({code}) when calling the {operation} operation" in done.stderr, done.stderr
