"""Fault injection: request faults in every protocol, botocore retries, job-phase and state faults."""
import re

import botocore.exceptions
import pytest
import requests
from botocore.config import Config

# No retry at all. (botocore's `max_attempts` counts retries, not attempts: max_attempts=1 still makes
# two attempts, so the explicit `total_max_attempts` is used here.)
SINGLE_ATTEMPT = Config(retries={"total_max_attempts": 1, "mode": "standard"})
# botocore's standard retry mode: 3 attempts in all, retries throttling errors and 5xx.
STANDARD = Config(retries={"total_max_attempts": 3, "mode": "standard"})


def _attempts(sim, **filters):
    return [(r["operation"], r["status"], r["fault"]) for r in sim.requests(**filters)]


def _fault_list(sim):
    return sim.control("GET", "faults")["faults"]


def _lag_seconds(server):
    match = re.fullmatch(r"PT(\d+)S", server["dataReplicationInfo"]["lagDuration"])
    assert match, server["dataReplicationInfo"]["lagDuration"]
    return int(match.group(1))


# ------------------------------------------------------------------ request faults: DRS


def test_drs_throttle_is_typed_with_retry_after(sim):
    drs = sim.client("drs", config=SINGLE_ATTEMPT)
    drs.initialize_service()
    fault = sim.add_fault(type="throttle", service="drs", operation="DescribeJobs", count=1, retry_after=7)
    sim.clear_requests()
    with pytest.raises(drs.exceptions.ThrottlingException) as info:
        drs.describe_jobs()
    response = info.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "7"
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "ThrottlingException"
    assert response["Error"]["Code"] == "ThrottlingException"
    assert response.get("retryAfterSeconds") == "7"
    # Only DescribeJobs is throttled, and the fault ran out after one firing.
    drs.describe_source_servers()
    drs.describe_jobs()
    assert _attempts(sim, service="drs") == [
        ("DescribeJobs", 429, fault["id"]), ("DescribeSourceServers", 200, None), ("DescribeJobs", 200, None)]


def test_drs_throttle_absorbed_by_standard_retries(sim):
    sim.client("drs").initialize_service()
    sim.clear_requests()
    fault = sim.add_fault(type="throttle", service="drs", operation="DescribeSourceServers", count=2)
    drs = sim.client("drs", config=STANDARD)
    assert drs.describe_source_servers()["items"] == []
    assert _attempts(sim) == [
        ("DescribeSourceServers", 429, fault["id"]),
        ("DescribeSourceServers", 429, fault["id"]),
        ("DescribeSourceServers", 200, None),
    ]
    assert _fault_list(sim)[0]["fired"] == 2


def test_drs_throttle_beyond_retry_budget_surfaces(sim):
    sim.client("drs").initialize_service()
    sim.clear_requests()
    fault = sim.add_fault(type="throttle", service="drs", operation="DescribeJobs", count=3)
    drs = sim.client("drs", config=STANDARD)
    with pytest.raises(drs.exceptions.ThrottlingException):
        drs.describe_jobs()
    assert _attempts(sim) == [("DescribeJobs", 429, fault["id"])] * 3


@pytest.mark.parametrize("status", [503, 500])
def test_drs_server_error_burst_absorbed(sim, status):
    drs = sim.client("drs", config=STANDARD)
    drs.initialize_service()
    sim.clear_requests()
    fault = sim.add_fault(type="server_error", service="drs", operation="DescribeJobs", status=status, count=2)
    assert drs.describe_jobs()["items"] == []
    assert _attempts(sim) == [("DescribeJobs", status, fault["id"])] * 2 + [("DescribeJobs", 200, None)]

    # Seen without retries, the fault is a typed InternalServerException with the chosen status.
    sim.add_fault(type="server_error", service="drs", operation="DescribeJobs", status=status, count=1)
    single = sim.client("drs", config=SINGLE_ATTEMPT)
    with pytest.raises(single.exceptions.InternalServerException) as info:
        single.describe_jobs()
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_drs_access_denied_is_not_retried(sim):
    drs = sim.client("drs", config=STANDARD)
    drs.initialize_service()
    sim.clear_requests()
    fault = sim.add_fault(type="access_denied", service="drs", operation="DescribeSourceServers")
    with pytest.raises(drs.exceptions.AccessDeniedException) as info:
        drs.describe_source_servers()
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert _attempts(sim) == [("DescribeSourceServers", 403, fault["id"])]


# ------------------------------------------------------------------ request faults: moto services


def test_ec2_throttle_is_request_limit_exceeded_and_absorbed(sim):
    single = sim.client("ec2", region="us-east-1", config=SINGLE_ATTEMPT)
    fault = sim.add_fault(type="throttle", service="ec2", operation="DescribeInstances", count=3)
    with pytest.raises(botocore.exceptions.ClientError) as info:
        single.describe_instances()
    assert info.value.response["Error"]["Code"] == "RequestLimitExceeded"
    ec2 = sim.client("ec2", region="us-east-1", config=STANDARD)
    assert ec2.describe_instances()["Reservations"] == []
    assert _attempts(sim, service="ec2") == [("DescribeInstances", 503, fault["id"])] * 3 + [
        ("DescribeInstances", 200, None)]


def test_ec2_access_denied_is_unauthorized_operation_not_retried(sim):
    ec2 = sim.client("ec2", region="us-east-1", config=STANDARD)
    fault = sim.add_fault(type="access_denied", service="ec2", operation="DescribeVpcs")
    with pytest.raises(botocore.exceptions.ClientError) as info:
        ec2.describe_vpcs()
    assert info.value.response["Error"]["Code"] == "UnauthorizedOperation"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # Other EC2 operations are not affected.
    ec2.describe_availability_zones()
    assert _attempts(sim, service="ec2") == [("DescribeVpcs", 403, fault["id"]),
                                             ("DescribeAvailabilityZones", 200, None)]


def test_ec2_server_error_burst_absorbed(sim):
    ec2 = sim.client("ec2", region="us-east-1", config=STANDARD)
    fault = sim.add_fault(type="server_error", service="ec2", operation="DescribeVpcs", status=500, count=2)
    assert ec2.describe_vpcs()["Vpcs"]
    assert _attempts(sim, service="ec2") == [("DescribeVpcs", 500, fault["id"])] * 2 + [("DescribeVpcs", 200, None)]


def test_dynamodb_throttle_absorbed(sim):
    ddb = sim.client("dynamodb", region="us-east-1", config=STANDARD)
    ddb.create_table(TableName="drs-runs", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    fault = sim.add_fault(type="throttle", service="dynamodb", operation="PutItem", count=2)
    ddb.put_item(TableName="drs-runs", Item={"id": {"S": "run-1"}})
    assert ddb.get_item(TableName="drs-runs", Key={"id": {"S": "run-1"}})["Item"]["id"]["S"] == "run-1"
    assert _attempts(sim, service="dynamodb", operation="PutItem") == [
        ("PutItem", 400, fault["id"]), ("PutItem", 400, fault["id"]), ("PutItem", 200, None)]

    sim.add_fault(type="throttle", service="dynamodb", operation="GetItem", count=1)
    single = sim.client("dynamodb", region="us-east-1", config=SINGLE_ATTEMPT)
    with pytest.raises(single.exceptions.ThrottlingException) as info:
        single.get_item(TableName="drs-runs", Key={"id": {"S": "run-1"}})
    assert info.value.response["Error"]["Code"] == "ThrottlingException"


def test_cloudwatch_throttle_parses_as_error_code(sim):
    single = sim.client("cloudwatch", region="us-east-1", config=SINGLE_ATTEMPT)
    fault = sim.add_fault(type="throttle", service="cloudwatch", operation="ListMetrics", count=1)
    with pytest.raises(botocore.exceptions.ClientError) as info:
        single.list_metrics()
    error = info.value.response["Error"]
    # CloudWatch is a former query service: the code a client sees is the query code, whatever
    # wire protocol botocore picked for it.
    assert error["Code"] == "Throttling"
    assert error["Message"] == "Rate exceeded"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert _attempts(sim, service="cloudwatch") == [("ListMetrics", 400, fault["id"])]

    # The same throttle is absorbed by botocore's retries (Throttling is a retryable code).
    sim.add_fault(type="throttle", service="cloudwatch", operation="ListMetrics", count=2)
    cloudwatch = sim.client("cloudwatch", region="us-east-1", config=STANDARD)
    assert cloudwatch.list_metrics()["Metrics"] == []
    assert [a[1] for a in _attempts(sim, service="cloudwatch")] == [400, 400, 400, 200]


def test_cloudwatch_access_denied_code(sim):
    cloudwatch = sim.client("cloudwatch", region="us-east-1", config=STANDARD)
    sim.add_fault(type="access_denied", service="cloudwatch", operation="PutMetricData")
    with pytest.raises(botocore.exceptions.ClientError) as info:
        cloudwatch.put_metric_data(Namespace="DRS", MetricData=[{"MetricName": "x", "Value": 1.0}])
    assert info.value.response["Error"]["Code"] == "AccessDenied"
    assert len(sim.requests(service="cloudwatch")) == 1


def test_query_service_fault_message_is_escaped(sim):
    """A custom message with XML special characters still parses (STS speaks query XML)."""
    sts = sim.client("sts", region="us-east-1", config=SINGLE_ATTEMPT)
    sim.add_fault(type="access_denied", service="sts", message="role <DRS> & policy denied")
    with pytest.raises(botocore.exceptions.ClientError) as info:
        sts.get_caller_identity()
    assert info.value.response["Error"]["Code"] == "AccessDenied"
    assert info.value.response["Error"]["Message"] == "role <DRS> & policy denied"


# ------------------------------------------------------------------ fault lifecycle


def test_probability_with_seed_repeats_the_same_pattern(sim):
    def pattern():
        drs = sim.client("drs", config=SINGLE_ATTEMPT)
        drs.initialize_service()
        fault = sim.add_fault(type="throttle", service="drs", operation="DescribeJobs", probability=0.5, seed=42)
        outcome = []
        for _ in range(24):
            try:
                drs.describe_jobs()
                outcome.append("ok")
            except drs.exceptions.ThrottlingException:
                outcome.append("throttled")
        fired = next(f for f in _fault_list(sim) if f["id"] == fault["id"])["fired"]
        assert fired == outcome.count("throttled")
        logged = [r["fault"] is not None for r in sim.requests(operation="DescribeJobs")]
        assert logged == [o == "throttled" for o in outcome]
        return outcome

    first = pattern()
    assert 0 < first.count("throttled") < len(first), first
    sim.reset()
    assert pattern() == first


def test_count_exhausts(sim):
    drs = sim.client("drs", config=SINGLE_ATTEMPT)
    drs.initialize_service()
    sim.add_fault(type="access_denied", service="drs", operation="ListStagingAccounts", count=2)
    outcomes = []
    for _ in range(4):
        try:
            drs.list_staging_accounts()
            outcomes.append("ok")
        except drs.exceptions.AccessDeniedException:
            outcomes.append("denied")
    assert outcomes == ["denied", "denied", "ok", "ok"]
    (fault,) = _fault_list(sim)
    assert fault["fired"] == 2 and fault["count"] == 2


def test_delete_faults_by_id_and_all(sim):
    ec2 = sim.client("ec2", region="us-east-1", config=SINGLE_ATTEMPT)
    first = sim.add_fault(type="access_denied", service="ec2", operation="DescribeVpcs")
    second = sim.add_fault(type="access_denied", service="ec2", operation="DescribeSubnets")
    third = sim.add_fault(type="throttle", service="drs")
    assert first["id"] != second["id"] != third["id"]

    assert sim.control("DELETE", "faults", params={"id": first["id"]}) == {"removed": 1}
    assert sim.control("DELETE", "faults", params={"id": first["id"]}) == {"removed": 0}
    assert [f["id"] for f in _fault_list(sim)] == [second["id"], third["id"]]
    assert ec2.describe_vpcs()["Vpcs"]  # no longer faulted
    with pytest.raises(botocore.exceptions.ClientError):
        ec2.describe_subnets()

    assert sim.control("DELETE", "faults") == {"removed": 2}
    assert _fault_list(sim) == []
    assert ec2.describe_subnets()["Subnets"]


def test_post_a_list_of_faults(sim):
    added = sim.control("POST", "faults", [
        {"type": "throttle", "service": "ec2", "operation": "DescribeVpcs"},
        {"type": "server_error", "service": "drs", "status": 502, "count": 1},
    ])["faults"]
    assert [(f["type"], f["service"], f["status"]) for f in added] == [
        ("throttle", "ec2", None), ("server_error", "drs", 502)]
    assert [f["id"] for f in _fault_list(sim)] == [f["id"] for f in added]


@pytest.mark.parametrize("spec, member", [
    ({"type": "explode"}, "type"),
    ({"type": "throttle", "probability": 2}, "probability"),
    ({"type": "throttle", "count": 0}, "count"),
    ({"type": "throttle", "count": -3}, "count"),
    ({"type": "throttle", "colour": "red"}, "colour"),
    ({"type": "throttle", "source_server_ids": ["s-1234567890abcdef0"]}, "source_server_ids"),
    ({"type": "server_error", "status": 418}, "status"),
    ({"type": "throttle", "retry_after": -1}, "retry_after"),
    ({"type": "snapshot_failure", "source_server_ids": "s-1234567890abcdef0"}, "source_server_ids"),
], ids=["unknown-type", "probability-2", "count-0", "count-negative", "unknown-member", "servers-on-throttle",
        "status-418", "negative-retry-after", "servers-not-a-list"])
def test_bad_fault_spec_is_refused(sim, spec, member):
    answer = sim.control("POST", "faults", spec, expect=400)
    assert member in answer["error"], answer
    assert _fault_list(sim) == []
    assert sim.control("GET", "health")["status"] == "ok"


def test_bad_fault_in_a_list_adds_none(sim):
    answer = sim.control("POST", "faults", [
        {"type": "throttle", "service": "ec2"},
        {"type": "throttle", "probability": 1.5},
    ], expect=400)
    assert "probability" in answer["error"] and "[1]" in answer["error"], answer
    # The request was refused as a whole: the valid first spec was not installed either.
    assert _fault_list(sim) == []
    assert sim.client("ec2", region="us-east-1", config=SINGLE_ATTEMPT).describe_vpcs()["Vpcs"]


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"throttle"'])
def test_fault_body_that_is_not_a_spec(sim, body):
    response = requests.post(f"{sim.url}/_simulator/faults", data=body,
                             headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 400
    assert response.json()["error"]
    assert _fault_list(sim) == []
    assert sim.control("GET", "health")["status"] == "ok"


# ------------------------------------------------------------------ job phase faults


def _job_log(drs, job_id):
    return drs.describe_job_log_items(jobID=job_id)["items"]


def test_phase_faults_fail_only_the_chosen_servers(sim):
    from simlib import small_estate

    estate = sim.load_estate(small_estate(4, 1))
    ids = [entry["source_server_id"] for entry in estate["servers"].values()]
    snap, conv, launch, healthy = ids
    sim.add_fault(type="snapshot_failure", source_server_ids=[snap])
    sim.add_fault(type="conversion_failure", source_server_ids=[conv])
    sim.add_fault(type="launch_failure", source_server_ids=[launch], message="no capacity in us-west-2a")

    drs = sim.client("drs")
    job = drs.start_recovery(sourceServers=[{"sourceServerID": i} for i in ids], isDrill=True)["job"]
    job = sim.run_job(drs, job["jobID"])
    assert job["status"] == "COMPLETED"  # there is no failed job status
    status = {p["sourceServerID"]: p["launchStatus"] for p in job["participatingServers"]}
    assert status == {snap: "FAILED", conv: "FAILED", launch: "FAILED", healthy: "LAUNCHED"}

    log = _job_log(drs, job["jobID"])
    events = {}
    for item in log:
        server = (item.get("eventData") or {}).get("sourceServerID")
        events.setdefault(server, []).append(item["event"])
    assert "SNAPSHOT_FAIL" in events[snap] and "SNAPSHOT_END" not in events[snap]
    assert "CONVERSION_START" not in events[snap]
    assert "CONVERSION_FAIL" in events[conv] and "SNAPSHOT_END" in events[conv]
    assert "LAUNCH_START" not in events[conv]
    assert "LAUNCH_FAILED" in events[launch] and "CONVERSION_END" in events[launch]
    assert not {"SNAPSHOT_FAIL", "CONVERSION_FAIL", "LAUNCH_FAILED"} & set(events[healthy])
    assert "LAUNCH_START" in events[healthy]
    raw = next(i["eventData"]["rawError"] for i in log if i["event"] == "LAUNCH_FAILED")
    assert raw == "no capacity in us-west-2a"
    assert log[-1]["event"] == "JOB_END"

    # The failed servers report a failed last launch; only the healthy one has a recovery instance.
    servers = {s["sourceServerID"]: s for s in drs.describe_source_servers()["items"]}
    assert {i: servers[i]["lastLaunchResult"] for i in ids} == {
        snap: "FAILED", conv: "FAILED", launch: "FAILED", healthy: "SUCCEEDED"}
    recovered = drs.describe_recovery_instances()["items"]
    assert [r["sourceServerID"] for r in recovered] == [healthy]


def test_phase_fault_count_applies_to_one_job_only(sim, estate):
    ids = [entry["source_server_id"] for entry in estate["servers"].values()]
    sim.add_fault(type="launch_failure", source_server_ids=[ids[0]], count=1)
    drs = sim.client("drs")

    def drill():
        job = drs.start_recovery(sourceServers=[{"sourceServerID": ids[0]}], isDrill=True)["job"]
        return sim.run_job(drs, job["jobID"])

    first = drill()
    second = drill()
    assert first["participatingServers"][0]["launchStatus"] == "FAILED"
    assert second["participatingServers"][0]["launchStatus"] == "LAUNCHED"


# ------------------------------------------------------------------ state faults


def test_replication_stall_for_chosen_servers_only(sim, estate):
    ids = [entry["source_server_id"] for entry in estate["servers"].values()]
    stalled, *others = ids
    drs = sim.client("drs")

    def servers():
        return {s["sourceServerID"]: s for s in drs.describe_source_servers()["items"]}

    before = servers()
    states = {i: before[i]["dataReplicationInfo"]["dataReplicationState"] for i in ids}
    assert states == dict.fromkeys(ids, "CONTINUOUS")
    steady_lag = _lag_seconds(before[stalled])

    fault = sim.add_fault(type="replication_stall", source_server_ids=[stalled])
    sim.advance(300)
    first = servers()
    assert first[stalled]["dataReplicationInfo"]["dataReplicationState"] == "STALLED"
    assert first[stalled]["dataReplicationInfo"]["dataReplicationError"]["error"]
    lag_1 = _lag_seconds(first[stalled])
    assert lag_1 >= steady_lag + 300
    for other in others:
        assert first[other]["dataReplicationInfo"]["dataReplicationState"] == "CONTINUOUS"
        assert _lag_seconds(first[other]) == steady_lag

    sim.advance(600)
    lag_2 = _lag_seconds(servers()[stalled])
    assert lag_2 >= lag_1 + 600

    assert sim.control("DELETE", "faults", params={"id": fault["id"]}) == {"removed": 1}
    after = servers()[stalled]
    assert after["dataReplicationInfo"]["dataReplicationState"] == "CONTINUOUS"
    assert _lag_seconds(after) == steady_lag
    assert not after["dataReplicationInfo"].get("dataReplicationError")


def _describe_job(drs, job_id):
    return drs.describe_jobs(filters={"jobIDs": [job_id]})["items"][0]


def test_job_never_ends(sim, estate):
    ids = [entry["source_server_id"] for entry in estate["servers"].values()]
    fault = sim.add_fault(type="job_never_ends", source_server_ids=[ids[0]])
    drs = sim.client("drs")
    stuck = drs.start_recovery(sourceServers=[{"sourceServerID": ids[0]}], isDrill=True)["job"]["jobID"]
    normal = drs.start_recovery(sourceServers=[{"sourceServerID": ids[1]}], isDrill=True)["job"]["jobID"]

    sim.advance(2 * 3600)
    assert _describe_job(drs, stuck)["status"] == "STARTED"
    assert _describe_job(drs, normal)["status"] == "COMPLETED"  # the fault names only ids[0]
    sim.advance(7 * 24 * 3600)
    assert _describe_job(drs, stuck)["status"] == "STARTED"
    assert "JOB_END" not in [i["event"] for i in _job_log(drs, stuck)]
    # The stuck job keeps its server busy.
    with pytest.raises(drs.exceptions.ConflictException):
        drs.start_recovery(sourceServers=[{"sourceServerID": ids[0]}], isDrill=True)

    # Observed: the fault is latched onto the job when it starts (JOB_START). Removing the fault
    # afterwards does not finish that job, however far time advances: it stays STARTED, never logs
    # JOB_END and keeps its server in an active job (only /moto-api/reset clears it). The server's own
    # phases still run to the end (its launchStatus is LAUNCHED), so only the job's completion hangs.
    # Jobs started after the removal complete normally.
    assert sim.control("DELETE", "faults", params={"id": fault["id"]}) == {"removed": 1}
    sim.advance(24 * 3600)
    job = _describe_job(drs, stuck)
    assert job["status"] == "STARTED"
    assert [p["launchStatus"] for p in job["participatingServers"]] == ["LAUNCHED"]
    later = drs.start_recovery(sourceServers=[{"sourceServerID": ids[2]}], isDrill=True)["job"]["jobID"]
    assert sim.run_job(drs, later)["status"] == "COMPLETED"


# ------------------------------------------------------------------ response_lost: done, but no answer


def test_drs_response_lost_starts_the_job_and_the_client_gets_no_response(sim, estate):
    ids = [entry["source_server_id"] for entry in estate["servers"].values()]
    drs = sim.client("drs", config=SINGLE_ATTEMPT)
    fault = sim.add_fault(type="response_lost", service="drs", operation="StartRecovery", count=1)
    sim.clear_requests()
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        drs.start_recovery(sourceServers=[{"sourceServerID": ids[0]}], isDrill=True, tags={"run": "lost"})
    # The job was started all the same: DescribeJobs has it, with its server and tags.
    jobs = [j for j in drs.describe_jobs()["items"] if j.get("tags", {}).get("run") == "lost"]
    assert len(jobs) == 1
    assert [p["sourceServerID"] for p in jobs[0]["participatingServers"]] == [ids[0]]
    # A second StartRecovery of the same server is what a blind retry would do: DRS refuses it.
    with pytest.raises(drs.exceptions.ConflictException):
        drs.start_recovery(sourceServers=[{"sourceServerID": ids[0]}], isDrill=True)
    # The fault ran out: the next call is answered.
    assert drs.start_recovery(sourceServers=[{"sourceServerID": ids[1]}], isDrill=True)["job"]["jobID"]
    attempts = _attempts(sim, service="drs")
    assert attempts[0] == ("StartRecovery", 202, fault["id"])
    assert [a for a in attempts if a[2]] == [attempts[0]]
    assert next(f for f in _fault_list(sim) if f["id"] == fault["id"])["fired"] == 1


def test_drs_response_lost_spares_refused_requests(sim, estate):
    drs = sim.client("drs", config=SINGLE_ATTEMPT)
    fault = sim.add_fault(type="response_lost", service="drs", operation="GetLaunchConfiguration", count=1)
    with pytest.raises(drs.exceptions.ResourceNotFoundException):
        drs.get_launch_configuration(sourceServerID="s-0000000000000dead")
    assert next(f for f in _fault_list(sim) if f["id"] == fault["id"])["fired"] == 0
    server_id = next(iter(estate["servers"].values()))["source_server_id"]
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        drs.get_launch_configuration(sourceServerID=server_id)


@pytest.mark.parametrize("service,region", [("ec2", "us-east-1"), ("ssm", "us-east-1")])
def test_moto_service_response_lost_does_the_work(sim, service, region):
    client = sim.client(service, region=region, config=SINGLE_ATTEMPT)
    operation = {"ec2": "CreateSecurityGroup", "ssm": "PutParameter"}[service]
    fault = sim.add_fault(type="response_lost", service=service, operation=operation, count=1)
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        if service == "ec2":
            client.create_security_group(GroupName="lost-answer", Description="created, answer lost")
        else:
            client.put_parameter(Name="/lost/answer", Value="stored", Type="String")
    if service == "ec2":
        groups = client.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["lost-answer"]}])
        assert len(groups["SecurityGroups"]) == 1
    else:
        assert client.get_parameter(Name="/lost/answer")["Parameter"]["Value"] == "stored"
    assert (operation, 200, fault["id"]) in _attempts(sim, service=service)


def test_response_lost_refuses_source_server_ids(sim):
    answer = sim.control("POST", "faults", {"type": "response_lost", "source_server_ids": ["s-1234567890abcdef0"]},
                         expect=400)
    assert "source_server_ids" in answer["error"]
    assert _fault_list(sim) == []
