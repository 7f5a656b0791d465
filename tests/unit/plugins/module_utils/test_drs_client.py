# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""DRSClient against botocore's Stubber: the real DRS request/response shapes, paging, batching, errors."""

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.elasticdr.orchestration.plugins.module_utils import drs as drs_utils
from ansible_collections.elasticdr.orchestration.plugins.module_utils.drs import DRSClient
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import DRSAPIError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.retry import DRSRetry

from .fakes import jid
from .fakes import sid


@pytest.fixture
def stubbed():
    """(DRSClient over a retrying stubbed boto3 DRS client, stubber, list of retry sleeps)."""
    client = boto3.client("drs", region_name="us-east-1", aws_access_key_id="AKIAEXAMPLE",
                          aws_secret_access_key="secret")
    sleeps = []
    wrapped = RetryingBotoClientWrapper(client, DRSRetry.honour_retry_after(retries=4, delay=0.01,
                                                                            sleep=sleeps.append))
    stubber = Stubber(client)
    with stubber:
        yield DRSClient(wrapped), stubber, sleeps
        stubber.assert_no_pending_responses()


def servers(ids):
    return [{"sourceServerID": i, "arn": f"arn:aws:drs:us-east-1:111111111111:source-server/{i}",
             "replicationDirection": "FAILOVER"} for i in ids]


def test_describe_source_servers_follows_next_token_across_pages(stubbed):
    drs, stubber = stubbed[:2]
    ids = [sid(n) for n in range(5)]
    stubber.add_response("describe_source_servers", {"items": servers(ids[:2]), "nextToken": "t1"},
                         {"filters": {}, "maxResults": 1000})
    stubber.add_response("describe_source_servers", {"items": servers(ids[2:4]), "nextToken": "t2"},
                         {"filters": {}, "maxResults": 1000, "nextToken": "t1"})
    stubber.add_response("describe_source_servers", {"items": servers(ids[4:])},
                         {"filters": {}, "maxResults": 1000, "nextToken": "t2"})
    assert [s["sourceServerID"] for s in drs.describe_source_servers()] == ids
    assert drs.calls == 3


def test_describe_source_servers_batches_ids_by_200_sorted_and_deduplicated(stubbed):
    drs, stubber = stubbed[:2]
    ids = [sid(n) for n in range(450)]
    requested = list(reversed(ids)) + ids[:10]  # unsorted, with duplicates
    for start, end in ((0, 200), (200, 400), (400, 450)):
        batch = ids[start:end]
        stubber.add_response("describe_source_servers", {"items": servers(batch[:3])},
                             {"filters": {"sourceServerIDs": batch}, "maxResults": 1000})
    found = drs.describe_source_servers(requested)
    assert [s["sourceServerID"] for s in found] == ids[0:3] + ids[200:203] + ids[400:403]
    assert drs.calls == 3


def test_a_batch_of_ids_is_also_paged(stubbed):
    drs, stubber = stubbed[:2]
    ids = [sid(n) for n in range(3)]
    stubber.add_response("describe_source_servers", {"items": servers(ids[:2]), "nextToken": "more"},
                         {"filters": {"sourceServerIDs": ids, "stagingAccountIDs": ["333333333333"]},
                          "maxResults": 1000})
    stubber.add_response("describe_source_servers", {"items": servers(ids[2:])},
                         {"filters": {"sourceServerIDs": ids, "stagingAccountIDs": ["333333333333"]},
                          "maxResults": 1000, "nextToken": "more"})
    assert len(drs.describe_source_servers(ids, staging_account_ids=["333333333333"])) == 3


def test_an_empty_id_list_makes_no_call(stubbed):
    drs = stubbed[0]
    assert drs.describe_source_servers([]) == []
    assert drs.describe_jobs([]) == []
    assert drs.describe_recovery_instances([]) == []
    assert drs.calls == 0


def test_describe_jobs_batches_job_ids_by_1000(stubbed):
    drs, stubber = stubbed[:2]
    ids = [jid(n) for n in range(2500)]
    for start, end in ((0, 1000), (1000, 2000), (2000, 2500)):
        stubber.add_response("describe_jobs", {"items": [{"jobID": ids[start], "status": "STARTED"}]},
                             {"filters": {"jobIDs": ids[start:end]}, "maxResults": 1000})
    assert [j["jobID"] for j in drs.describe_jobs(ids)] == [ids[0], ids[1000], ids[2000]]
    assert drs.calls == 3


def test_describe_jobs_since_a_date(stubbed):
    drs, stubber = stubbed[:2]
    stubber.add_response("describe_jobs", {"items": []},
                         {"filters": {"fromDate": "2026-06-01T00:00:00.000Z"}, "maxResults": 1000})
    stubber.add_response("describe_jobs", {"items": []}, {"filters": {}, "maxResults": 1000})
    assert drs.describe_jobs(from_date="2026-06-01T00:00:00.000Z") == []
    assert drs.describe_jobs() == []


def test_describe_recovery_instances_batches_by_200(stubbed):
    drs, stubber = stubbed[:2]
    ids = [f"i-{n:017x}" for n in range(201)]
    stubber.add_response("describe_recovery_instances", {"items": []},
                         {"filters": {"recoveryInstanceIDs": ids[:200]}, "maxResults": 1000})
    stubber.add_response("describe_recovery_instances", {"items": [{"recoveryInstanceID": ids[200]}]},
                         {"filters": {"recoveryInstanceIDs": ids[200:]}, "maxResults": 1000})
    stubber.add_response("describe_recovery_instances", {"items": []},
                         {"filters": {"sourceServerIDs": [sid(1)]}, "maxResults": 1000})
    stubber.add_response("describe_recovery_instances", {"items": []}, {"filters": {}, "maxResults": 1000})
    assert drs.describe_recovery_instances(ids) == [{"recoveryInstanceID": ids[200]}]
    assert drs.describe_recovery_instances(source_server_ids=[sid(1)]) == []
    assert drs.describe_recovery_instances() == []


def _job(job_id, ids):
    return {"job": {"jobID": job_id, "type": "LAUNCH", "status": "PENDING",
                    "participatingServers": [{"sourceServerID": i, "launchStatus": "PENDING"} for i in ids]}}


def test_start_recovery_splits_into_jobs_of_servers_per_job(stubbed):
    drs, stubber = stubbed[:2]
    ids = [sid(n) for n in range(250)]
    tags = {"elasticdr:execution-id": "ex-1"}
    for n, (start, end) in enumerate(((0, 100), (100, 200), (200, 250))):
        stubber.add_response("start_recovery", _job(jid(n), ids[start:end]),
                             {"sourceServers": [{"sourceServerID": i} for i in ids[start:end]], "isDrill": True,
                              "tags": tags})
    jobs = drs.start_recovery(ids, is_drill=True, tags=tags)
    assert [j["jobID"] for j in jobs] == [jid(0), jid(1), jid(2)]
    assert [len(j["participatingServers"]) for j in jobs] == [100, 100, 50]


def test_start_recovery_honours_a_raised_servers_per_job(stubbed):
    drs, stubber = stubbed[:2]
    drs.servers_per_job = 200
    ids = [sid(n) for n in range(250)]
    for n, (start, end) in enumerate(((0, 200), (200, 250))):
        stubber.add_response("start_recovery", _job(jid(n), ids[start:end]),
                             {"sourceServers": [{"sourceServerID": i} for i in ids[start:end]], "isDrill": False,
                              "tags": {}})
    assert len(drs.start_recovery(ids, is_drill=0)) == 2


def test_a_refused_batch_raises_with_the_jobs_already_started(stubbed):
    drs, stubber, sleeps = stubbed
    drs.servers_per_job = 2
    ids = [sid(n) for n in range(5)]
    stubber.add_response("start_recovery", _job(jid(0), ids[:2]),
                         {"sourceServers": [{"sourceServerID": i} for i in ids[:2]], "isDrill": False, "tags": {}})
    stubber.add_client_error("start_recovery", "ConflictException", f"{ids[2]} is already in an active job", 409,
                             modeled_fields={"resourceId": ids[2], "resourceType": "SOURCE_SERVER"})
    with pytest.raises(DRSAPIError) as info:
        drs.start_recovery(ids, is_drill=False)
    error = info.value
    assert error.code == "ConflictException" and error.status == 409
    assert [j["jobID"] for j in error.kwargs["started_jobs"]] == [jid(0)]
    assert error.kwargs["refused_servers"] == ids[2:4]
    assert error.message == "Failed to start a recovery job"
    assert sleeps == []  # a conflict is not retried; the third batch is never sent (no pending response left)


def test_the_first_batch_refused_reports_no_started_jobs(stubbed):
    drs, stubber = stubbed[:2]
    stubber.add_client_error("start_recovery", "UninitializedAccountException", "not initialised", 400)
    with pytest.raises(DRSAPIError) as info:
        drs.start_recovery([sid(1)], is_drill=True)
    assert info.value.kwargs == {"started_jobs": [], "refused_servers": [sid(1)]}


def test_errors_become_drs_api_errors_naming_the_operation_and_server(stubbed):
    drs, stubber, sleeps = stubbed
    stubber.add_client_error("get_launch_configuration", "ResourceNotFoundException", "no such server", 404,
                             expected_params={"sourceServerID": sid(7)})
    with pytest.raises(DRSAPIError) as info:
        drs.get_launch_configuration(sid(7))
    assert info.value.message == f"Failed to get the launch configuration of {sid(7)}"
    assert (info.value.code, info.value.status) == ("ResourceNotFoundException", 404)
    assert "no such server" in str(info.value)
    assert sleeps == []


def test_validation_errors_are_not_retried(stubbed):
    drs, stubber, sleeps = stubbed
    stubber.add_client_error("describe_jobs", "ValidationException", "bad filter", 400,
                             modeled_fields={"reason": "fieldValidationFailed",
                                             "fieldList": [{"name": "filters.jobIDs", "message": "too many"}]})
    with pytest.raises(DRSAPIError) as info:
        drs.describe_jobs([jid(1)])
    assert info.value.code == "ValidationException" and sleeps == [] and drs.calls == 1


def test_throttling_in_the_middle_of_paging_is_retried_after_retry_after(stubbed):
    drs, stubber, sleeps = stubbed
    stubber.add_response("describe_job_log_items", {"items": [{"event": "JOB_START"}], "nextToken": "p2"},
                         {"jobID": jid(1), "maxResults": 1000})
    stubber.add_client_error("describe_job_log_items", "ThrottlingException", "rate exceeded", 429,
                             response_meta={"HTTPHeaders": {"retry-after": "4"}})
    stubber.add_client_error("describe_job_log_items", "InternalServerException", "oops", 500)
    stubber.add_response("describe_job_log_items", {"items": [{"event": "JOB_END"}]},
                         {"jobID": jid(1), "maxResults": 1000, "nextToken": "p2"})
    assert [i["event"] for i in drs.describe_job_log_items(jid(1))] == ["JOB_START", "JOB_END"]
    assert len(sleeps) == 2 and sleeps[0] >= 4


def test_persistent_throttling_gives_up_as_a_drs_api_error(stubbed):
    drs, stubber, sleeps = stubbed
    for _repeat in range(4):
        stubber.add_client_error("describe_source_servers", "ThrottlingException", "rate exceeded", 429)
    with pytest.raises(DRSAPIError) as info:
        drs.describe_source_servers()
    assert info.value.code == "ThrottlingException" and len(sleeps) == 3


def test_launch_configuration_calls_strip_response_metadata(stubbed):
    drs, stubber = stubbed[:2]
    config = {"sourceServerID": sid(1), "copyPrivateIp": False, "copyTags": False,
              "launchIntoInstanceProperties": {"launchIntoEC2InstanceID": "i-0123456789abcdef0"}}
    stubber.add_response("get_launch_configuration", dict(config, ResponseMetadata={"HTTPStatusCode": 200}),
                         {"sourceServerID": sid(1)})
    stubber.add_response("update_launch_configuration", dict(config, launchDisposition="STARTED"),
                         {"sourceServerID": sid(1), "launchDisposition": "STARTED", "copyTags": False})
    assert drs.get_launch_configuration(sid(1)) == config
    updated = drs.update_launch_configuration(sid(1), {"launchDisposition": "STARTED", "copyTags": False})
    assert updated["launchDisposition"] == "STARTED" and "ResponseMetadata" not in updated


def test_reverse_replication_and_staging_calls_use_their_own_limits(stubbed):
    drs, stubber = stubbed[:2]
    arn = f"arn:aws:drs:us-east-1:111111111111:source-server/{sid(9)}"
    stubber.add_response("reverse_replication", {"reversedDirectionSourceServerArn": arn},
                         {"recoveryInstanceID": "i-0123456789abcdef0"})
    stubber.add_response("list_staging_accounts", {"accounts": [{"accountID": "333333333333"}]}, {"maxResults": 50})
    stubber.add_response("list_extensible_source_servers", {"items": []},
                         {"stagingAccountID": "333333333333", "maxResults": 300})
    assert drs.reverse_replication("i-0123456789abcdef0") == arn
    assert drs.list_staging_accounts() == ["333333333333"]
    assert drs.list_extensible_source_servers("333333333333") == []


def test_terminate_recovery_instances_is_deliberately_absent():
    # It would terminate the launched-into target or the original server (docs/DRS_BEHAVIOUR.md section 4).
    assert not any("terminate" in name for name in dir(DRSClient))


@pytest.mark.parametrize("value,seconds", [
    ("PT1M30.5S", 90.5), ("P1DT2H", 93600.0), ("PT0S", 0.0), ("PT45S", 45.0), ("P1W", 604800.0),
    ("PT2H3M4S", 7384.0), (None, None), ("", None), ("90", None), ("PT5X", None), ("P1M", None), ("PT5", None),
    (30, None),
])
def test_parse_duration(value, seconds):
    assert drs_utils.parse_duration(value) == seconds


def test_record_helpers():
    server = {"sourceServerID": sid(1),
              "sourceProperties": {"identificationHints": {"awsInstanceID": "i-0123456789abcdef0"}},
              "dataReplicationInfo": {"dataReplicationState": "CONTINUOUS", "lagDuration": "PT12S"},
              "stagingArea": {"status": "EXTENDED", "stagingAccountID": "333333333333"}}
    assert drs_utils.source_instance_id(server) == "i-0123456789abcdef0"
    assert drs_utils.replication_info(server) == ("CONTINUOUS", 12.0)
    assert drs_utils.staging_account_of(server) == "333333333333"
    assert drs_utils.staging_account_of(dict(server, stagingArea={"status": "NOT_EXTENDED",
                                                                  "stagingAccountID": "333333333333"})) is None
    bare = {"sourceServerID": sid(2)}
    assert drs_utils.source_instance_id(bare) is None
    assert drs_utils.replication_info(bare) == (None, None)
    assert drs_utils.launch_into_target({"launchIntoInstanceProperties": {"launchIntoEC2InstanceID": "i-1"}}) == "i-1"
    assert drs_utils.launch_into_target({"launchIntoInstanceProperties": {"launchIntoEC2InstanceID": ""}}) is None
    assert drs_utils.launch_into_target({}) is None
    assert list(drs_utils.chunks(range(5), 2)) == [[0, 1], [2, 3], [4]]
