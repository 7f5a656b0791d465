# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""A non-idempotent call whose response was lost is not sent again before its effect was looked for.

Each operation: lost response + effect present -> the effect is adopted after one call; lost response + no
effect -> called again; throttling or no connection -> retried as before, without looking.
"""

import datetime

import boto3
import botocore.exceptions
import pytest
from botocore.stub import Stubber

from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.elasticdr.orchestration.plugins.module_utils.agent import SSMClient
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import DRSAPIError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback import ReverseReplication
from ansible_collections.elasticdr.orchestration.plugins.module_utils.recovery import job_tags
from ansible_collections.elasticdr.orchestration.plugins.module_utils.retry import DRSRetry
from ansible_collections.elasticdr.orchestration.plugins.module_utils.retry import RetryPolicy
from ansible_collections.elasticdr.orchestration.plugins.module_utils.retry import response_lost

from .fakes import client_error
from .fakes import drs_client
from .fakes import iid
from .fakes import job
from .fakes import jid
from .fakes import sid
from .fakes import source_server

URL = "https://drs.us-east-1.amazonaws.com"
LOST = [
    botocore.exceptions.ReadTimeoutError(endpoint_url=URL),
    botocore.exceptions.ConnectionClosedError(endpoint_url=URL),
    client_error("InternalServerException", 500),
    client_error("ServiceUnavailable", 503),
]
NOT_PROCESSED = [
    client_error("ThrottlingException", 429),
    client_error("RequestLimitExceeded", 503),  # EC2's throttling comes with a 503
    botocore.exceptions.EndpointConnectionError(endpoint_url=URL),
    botocore.exceptions.ConnectTimeoutError(endpoint_url=URL),
]


def _name(error):
    if isinstance(error, botocore.exceptions.ClientError):
        return error.response["Error"]["Code"]
    return type(error).__name__


class Losing:
    """A client (fake or stubbed boto3) whose `operation` fails with the queued errors, one per call.

    after=True: the request was processed (the inner call ran, its effect is there) and then the response was
    lost; after=False: the request never reached the service (the inner call does not run). The client carries
    a RetryPolicy like the clients AWSConnector builds, with its waits recorded."""

    def __init__(self, inner, operation, errors, after=True):
        self.inner = inner
        self.operation = operation
        self.errors = list(errors)
        self.after = after
        self.sent = 0
        self.sleeps = []
        self.retry = DRSRetry.honour_retry_after(retries=4, delay=0.01, sleep=self.sleeps.append)

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if name != self.operation:
            return attr

        def call(**params):
            params.pop("aws_retry", None)
            self.sent += 1
            if self.errors and not self.after:
                raise self.errors.pop(0)
            result = attr(**params)
            if self.errors:
                raise self.errors.pop(0)
            return result

        return call


# ---------------------------------------------------------------------------------------------- retry.py
@pytest.mark.parametrize("error", LOST, ids=_name)
def test_errors_after_which_the_request_may_have_been_processed(error):
    assert response_lost(error)


@pytest.mark.parametrize("error", NOT_PROCESSED + [client_error("ConflictException", 409)], ids=_name)
def test_errors_that_prove_the_request_was_not_processed(error):
    assert not response_lost(error)


def test_a_lost_response_without_an_effect_lookup_is_raised_not_sent_again():
    calls = []

    def call():
        calls.append(1)
        raise botocore.exceptions.ReadTimeoutError(endpoint_url=URL)

    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        RetryPolicy(sleep=lambda s: None).run(call, idempotent=False)
    assert len(calls) == 1


def test_an_idempotent_call_is_still_retried_after_a_lost_response():
    outcomes = [botocore.exceptions.ReadTimeoutError(endpoint_url=URL), "ok"]

    def call():
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert RetryPolicy(sleep=lambda s: None).run(call) == "ok"


def test_the_last_attempt_lost_still_looks_for_the_effect():
    def call():
        raise botocore.exceptions.ConnectionClosedError(endpoint_url=URL)

    looked = []

    def lookup():
        looked.append(1)
        return "found" if len(looked) == 2 else None

    assert RetryPolicy(retries=2, sleep=lambda s: None).run(call, idempotent=False, effect_lookup=lookup) == "found"
    assert len(looked) == 2


# ---------------------------------------------------------------------------------------------- StartRecovery
def _recovery(servers=3, errors=(), after=True, jobs=()):
    ids = [sid(n) for n in range(1, servers + 1)]
    drs, fake = drs_client(servers=[source_server(i) for i in ids], jobs=list(jobs))
    losing = Losing(fake, "start_recovery", errors, after=after)
    drs.client = losing
    return drs, fake, losing, ids


@pytest.mark.parametrize("error", LOST, ids=_name)
def test_start_recovery_lost_response_adopts_the_job_it_started(error):
    drs, fake, losing, ids = _recovery(errors=[error])
    tags = job_tags("ex-1", 1, "recovery")
    jobs = drs.start_recovery(ids, False, tags)
    assert losing.sent == 1 and fake.count("start_recovery") == 1
    assert len(fake.jobs) == 1 and [j["jobID"] for j in jobs] == [fake.jobs[0]["jobID"]]
    assert fake.count("describe_jobs") == 1
    assert dict(fake.calls)["describe_jobs"]["filters"]["fromDate"] <= fake.jobs[0]["creationDateTime"]


def test_start_recovery_lost_response_without_a_job_is_sent_again():
    # The request was lost before DRS acted on it: no job of this execution, so StartRecovery is sent again.
    drs, fake, losing, ids = _recovery(errors=[botocore.exceptions.ReadTimeoutError(endpoint_url=URL)], after=False)
    jobs = drs.start_recovery(ids, False, job_tags("ex-1", 1, "recovery"))
    assert losing.sent == 2 and fake.count("start_recovery") == 1  # the first never reached the fake service
    assert fake.count("describe_jobs") == 1
    assert [j["jobID"] for j in jobs] == [j["jobID"] for j in fake.jobs] and len(fake.jobs) == 1


def test_start_recovery_lookup_ignores_other_executions_waves_and_older_jobs():
    ids = [sid(n) for n in range(1, 4)]
    now = datetime.datetime.now(datetime.timezone.utc)
    recent = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    others = [job(jid(1), ids, tags=job_tags("ex-2", 1, "recovery"), created=recent),  # another execution
              job(jid(2), ids, tags=job_tags("ex-1", 2, "recovery"), created=recent),  # another wave
              job(jid(3), ids[:2], tags=job_tags("ex-1", 1, "recovery"), created=recent),  # other servers
              job(jid(4), ids, tags=job_tags("ex-1", 1, "recovery"), created=recent)]  # known before the call
    drs, fake, losing, ids = _recovery(errors=[botocore.exceptions.ReadTimeoutError(endpoint_url=URL)], after=False,
                                       jobs=others)
    jobs = drs.start_recovery(ids, False, job_tags("ex-1", 1, "recovery"), known_job_ids={jid(4)})
    assert losing.sent == 2
    assert jobs[0]["jobID"] not in {jid(n) for n in range(1, 5)}


def test_a_drill_job_is_not_taken_for_a_recovery():
    ids = [sid(n) for n in range(1, 3)]
    recent = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    drill = dict(job(jid(9), ids, tags=job_tags("ex-1", 1, "recovery"), created=recent), initiatedBy="START_DRILL")
    drs, fake, losing, ids = _recovery(servers=2, errors=[botocore.exceptions.ReadTimeoutError(endpoint_url=URL)],
                                       after=False, jobs=[drill])
    jobs = drs.start_recovery(ids, False, job_tags("ex-1", 1, "recovery"))
    assert losing.sent == 2 and jobs[0]["jobID"] != jid(9)


@pytest.mark.parametrize("error", NOT_PROCESSED, ids=_name)
def test_start_recovery_throttled_or_unreachable_is_retried_without_looking(error):
    drs, fake, losing, ids = _recovery(errors=[error], after=False)
    jobs = drs.start_recovery(ids, False, job_tags("ex-1", 1, "recovery"))
    assert losing.sent == 2 and fake.count("describe_jobs") == 0
    assert len(jobs) == 1 and len(losing.sleeps) == 1


def test_start_recovery_lost_in_a_later_batch_keeps_the_earlier_jobs():
    drs, fake, losing, ids = _recovery(servers=5, errors=[])
    drs.servers_per_job = 2
    losing.errors = []
    original = losing.__getattr__("start_recovery")
    batches = []

    def second_batch_lost(**params):
        batches.append(params)
        result = original(**params)
        if len(batches) == 2:
            raise botocore.exceptions.ConnectionClosedError(endpoint_url=URL)
        return result

    drs.client.start_recovery = second_batch_lost
    jobs = drs.start_recovery(ids, False, job_tags("ex-1", 1, "recovery"))
    assert len(batches) == 3 and len(fake.jobs) == 3
    assert [j["jobID"] for j in jobs] == [j["jobID"] for j in fake.jobs]


# ---------------------------------------------------------------------------------------------- ReverseReplication
ORIGIN_ARN = "arn:aws:drs:us-east-1:111111111111:source-server/"


def _failback(errors, after=True, origin_servers=()):
    recovery, recovery_fake = drs_client(
        servers=[source_server(sid(1), iid(1))],
        recovery_instances=[{"recoveryInstanceID": iid(101), "ec2InstanceID": iid(101), "sourceServerID": sid(1),
                             "originEnvironment": "AWS", "isDrill": False}])
    origin, origin_fake = drs_client(servers=list(origin_servers))
    created = []

    def reverse(recovery_instance_id):
        new_id = sid(0x900 + len(created))
        created.append(new_id)
        origin_fake.servers.append(source_server(new_id, recovery_instance_id, direction="FAILBACK",
                                                 state="INITIATING", lag=None, arn=ORIGIN_ARN + new_id))
        return ORIGIN_ARN + new_id

    recovery_fake.on_reverse_replication = reverse
    losing = Losing(recovery_fake, "reverse_replication", errors, after=after)
    recovery.client = losing
    return ReverseReplication(recovery, origin), losing, created


@pytest.mark.parametrize("error", LOST, ids=_name)
def test_reverse_replication_lost_response_adopts_the_server_it_created(error):
    workflow, losing, created = _failback([error])
    entries = workflow.plan([iid(101)])
    assert workflow.start(entries) == [iid(101)]
    assert losing.sent == 1 and len(created) == 1
    assert entries[0]["reversed_source_server_id"] == created[0] and entries[0]["created"] is True


def test_reverse_replication_lost_response_adopts_a_resumed_server():
    # The origin region already had a stopped FAILBACK server for the instance: the lost call resumed it.
    stopped = source_server(sid(0x800), iid(101), direction="FAILBACK", state="STOPPED", lag=None,
                            arn=ORIGIN_ARN + sid(0x800))
    workflow, losing, created = _failback([botocore.exceptions.ReadTimeoutError(endpoint_url=URL)],
                                          origin_servers=[stopped])
    entries = workflow.plan([iid(101)])
    assert entries[0]["needs_start"]

    def resume(recovery_instance_id):
        stopped["dataReplicationInfo"] = {"dataReplicationState": "INITIATING"}
        return ORIGIN_ARN + sid(0x800)

    workflow.recovery_drs.client.inner.on_reverse_replication = resume
    workflow.start(entries)
    assert losing.sent == 1
    assert entries[0]["reversed_source_server_id"] == sid(0x800) and entries[0]["created"] is False


def test_reverse_replication_lost_response_without_a_server_is_sent_again():
    workflow, losing, created = _failback([botocore.exceptions.ConnectionClosedError(endpoint_url=URL)], after=False)
    entries = workflow.plan([iid(101)])
    workflow.start(entries)
    assert losing.sent == 2 and len(created) == 1
    assert entries[0]["reversed_source_server_id"] == created[0]


def test_reverse_replication_a_stopped_server_still_stopped_is_not_the_effect():
    stopped = source_server(sid(0x800), iid(101), direction="FAILBACK", state="STOPPED", lag=None,
                            arn=ORIGIN_ARN + sid(0x800))
    workflow, losing, created = _failback([botocore.exceptions.ReadTimeoutError(endpoint_url=URL)], after=False,
                                          origin_servers=[stopped])
    entries = workflow.plan([iid(101)])
    workflow.start(entries)
    assert losing.sent == 2


@pytest.mark.parametrize("error", NOT_PROCESSED[:2], ids=_name)
def test_reverse_replication_throttled_is_retried_without_looking(error):
    workflow, losing, created = _failback([error], after=False)
    entries = workflow.plan([iid(101)])
    origin_reads = workflow.origin_drs.client.count("describe_source_servers")
    workflow.start(entries)
    assert losing.sent == 2 and len(created) == 1
    assert workflow.origin_drs.client.count("describe_source_servers") == origin_reads


def test_reverse_replication_without_a_lookup_raises_a_lost_response():
    workflow, losing, created = _failback([botocore.exceptions.ReadTimeoutError(endpoint_url=URL)])
    with pytest.raises(DRSAPIError):
        workflow.recovery_drs.reverse_replication(iid(101))
    assert losing.sent == 1


# ---------------------------------------------------------------------------------------------- SSM SendCommand
COMMANDS = ["set -eu", "./aws-replication-installer-init --region us-east-1"]
COMMENT = f"elasticdr: DRS agent for {sid(1)}"


@pytest.fixture
def ssm():
    client = boto3.client("ssm", region_name="us-east-1", aws_access_key_id="AKIAEXAMPLE",
                          aws_secret_access_key="secret")
    stubber = Stubber(client)
    with stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def cid(name):
    """An SSM command ID (36 characters, a UUID)."""
    return f"{name:0>8}-0000-4000-8000-000000000000"


def _command(command_id, comment=COMMENT, commands=tuple(COMMANDS), document="AWS-RunShellScript", requested=None):
    return {"CommandId": cid(command_id), "DocumentName": document, "Comment": comment, "InstanceIds": [iid(101)],
            "Parameters": {"commands": list(commands)},
            "RequestedDateTime": requested or datetime.datetime.now(datetime.timezone.utc)}


def _send_params():
    return {"InstanceIds": [iid(101)], "DocumentName": "AWS-RunShellScript",
            "Parameters": {"commands": COMMANDS, "executionTimeout": ["600"]}, "TimeoutSeconds": 600,
            "Comment": COMMENT}


def _ssm_client(ssm, error, after=True):
    client, stubber = ssm
    losing = Losing(client, "send_command", [error], after=after)
    return SSMClient(RetryingBotoClientWrapper(losing, losing.retry)), stubber, losing


@pytest.mark.parametrize("error", LOST[:3], ids=_name)
def test_send_command_lost_response_adopts_the_command_it_sent(ssm, error):
    client, stubber, losing = _ssm_client(ssm, error)
    stubber.add_response("send_command", {"Command": _command("cmd-1")}, _send_params())
    old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    stubber.add_response("list_commands", {"Commands": [_command("cmd-0", requested=old),
                                                        _command("cmd-other", comment="someone else's"),
                                                        _command("cmd-1")]})
    assert client.send_command(iid(101), "AWS-RunShellScript", COMMANDS, 600, COMMENT) == cid("cmd-1")
    assert losing.sent == 1


def test_send_command_lookup_reads_by_instance_document_and_time(ssm):
    client, stubber, losing = _ssm_client(ssm, botocore.exceptions.ReadTimeoutError(endpoint_url=URL))
    stubber.add_response("send_command", {"Command": _command("cmd-1")}, _send_params())
    stubber.add_response("list_commands", {"Commands": [_command("cmd-1")]},
                         {"InstanceId": iid(101), "MaxResults": 50,
                          "Filters": [{"key": "InvokedAfter", "value": botocore.stub.ANY},
                                      {"key": "DocumentName", "value": "AWS-RunShellScript"}]})
    assert client.send_command(iid(101), "AWS-RunShellScript", COMMANDS, 600, COMMENT) == cid("cmd-1")


def test_send_command_lost_response_without_a_command_is_sent_again(ssm):
    client, stubber, losing = _ssm_client(ssm, botocore.exceptions.ReadTimeoutError(endpoint_url=URL), after=False)
    stubber.add_response("list_commands", {"Commands": [_command("cmd-x", commands=["echo other"])]})
    stubber.add_response("send_command", {"Command": _command("cmd-2")}, _send_params())
    assert client.send_command(iid(101), "AWS-RunShellScript", COMMANDS, 600, COMMENT) == cid("cmd-2")
    assert losing.sent == 2


def test_send_command_throttled_is_retried_without_looking(ssm):
    client, stubber, losing = _ssm_client(ssm, None)
    losing.errors = []
    stubber.add_client_error("send_command", "ThrottlingException", "Rate exceeded", 400)
    stubber.add_response("send_command", {"Command": _command("cmd-3")}, _send_params())
    assert client.send_command(iid(101), "AWS-RunShellScript", COMMANDS, 600, COMMENT) == cid("cmd-3")
    assert losing.sent == 2 and len(losing.sleeps) == 1  # no ListCommands: none is stubbed


# ---------------------------------------------------------------------------------------------- other DRS calls
def _server_client(operation, errors, state, after=True):
    drs, fake = drs_client(servers=[source_server(sid(1), state=state, lag=None)])

    def change(**params):
        fake._record(operation, params)
        new = "STOPPED" if operation == "stop_replication" else "INITIATING"
        fake.servers[0] = dict(fake.servers[0], dataReplicationInfo={"dataReplicationState": new})
        return {"sourceServer": fake.servers[0]}

    setattr(fake, operation, change)
    losing = Losing(fake, operation, errors, after=after)
    drs.client = losing
    return drs, fake, losing


@pytest.mark.parametrize("operation,before", [("stop_replication", "CONTINUOUS"), ("start_replication", "STOPPED")])
def test_replication_start_and_stop_adopt_the_state_a_lost_call_reached(operation, before):
    drs, fake, losing = _server_client(operation, [botocore.exceptions.ReadTimeoutError(endpoint_url=URL)], before)
    server = getattr(drs, operation)(sid(1))
    assert losing.sent == 1 and server["sourceServerID"] == sid(1)


@pytest.mark.parametrize("operation,before", [("stop_replication", "CONTINUOUS"), ("start_replication", "STOPPED")])
def test_replication_start_and_stop_sent_again_when_nothing_changed(operation, before):
    drs, fake, losing = _server_client(operation, [botocore.exceptions.ReadTimeoutError(endpoint_url=URL)], before,
                                       after=False)
    getattr(drs, operation)(sid(1))
    assert losing.sent == 2 and fake.count(operation) == 1


def test_delete_recovery_instance_lost_response_is_not_sent_again_once_it_is_gone():
    drs, fake = drs_client(recovery_instances=[{"recoveryInstanceID": iid(101), "sourceServerID": sid(1)}])

    def delete(**params):
        fake._record("delete_recovery_instance", params)
        fake.recovery_instances = []
        return {}

    fake.delete_recovery_instance = delete
    losing = Losing(fake, "delete_recovery_instance", [botocore.exceptions.ConnectionClosedError(endpoint_url=URL)])
    drs.client = losing
    drs.delete_recovery_instance(iid(101))
    assert losing.sent == 1


def test_delete_recovery_instance_lost_before_it_was_deleted_is_sent_again():
    drs, fake = drs_client(recovery_instances=[{"recoveryInstanceID": iid(101), "sourceServerID": sid(1)}])
    fake.delete_recovery_instance = lambda **params: fake._record("delete_recovery_instance", params) and {}
    losing = Losing(fake, "delete_recovery_instance", [botocore.exceptions.ReadTimeoutError(endpoint_url=URL)],
                    after=False)
    drs.client = losing
    drs.delete_recovery_instance(iid(101))
    assert losing.sent == 2 and fake.count("delete_recovery_instance") == 1


@pytest.mark.parametrize("after,sent", [(True, 1), (False, 2)], ids=["disconnected", "still-connected"])
def test_disconnect_recovery_instance_looks_for_the_disconnected_state(after, sent):
    record = {"recoveryInstanceID": iid(101), "sourceServerID": sid(1),
              "dataReplicationInfo": {"dataReplicationState": "CONTINUOUS"}}
    drs, fake = drs_client(recovery_instances=[record])

    def disconnect(**params):
        fake._record("disconnect_recovery_instance", params)
        record["dataReplicationInfo"] = {"dataReplicationState": "DISCONNECTED"}
        return {}

    fake.disconnect_recovery_instance = disconnect
    losing = Losing(fake, "disconnect_recovery_instance", [botocore.exceptions.ReadTimeoutError(endpoint_url=URL)],
                    after=after)
    drs.client = losing
    drs.disconnect_recovery_instance(iid(101))
    assert losing.sent == sent and fake.count("disconnect_recovery_instance") == 1


STAGING_ARN = "arn:aws:drs:us-east-1:333333333333:source-server/" + sid(7)


@pytest.mark.parametrize("after,sent", [(True, 1), (False, 2)], ids=["extended", "not-extended"])
def test_create_extended_source_server_looks_for_the_extended_server(after, sent):
    drs, fake = drs_client()

    def extend(**params):
        fake._record("create_extended_source_server", params)
        server = dict(source_server(sid(0x70)), stagingArea={"status": "EXTENDED", "stagingAccountID": "333333333333",
                                                             "stagingSourceServerArn": params["sourceServerArn"]})
        fake.servers.append(server)
        return {"sourceServer": server}

    fake.create_extended_source_server = extend
    losing = Losing(fake, "create_extended_source_server",
                    [botocore.exceptions.ConnectionClosedError(endpoint_url=URL)], after=after)
    drs.client = losing
    server = drs.create_extended_source_server(STAGING_ARN)
    assert server["stagingArea"]["stagingSourceServerArn"] == STAGING_ARN
    assert losing.sent == sent and len(fake.servers) == 1
