"""The /_simulator/ control endpoints: health, seeding source servers, clock, request log, config, reset."""
import datetime as dt

import pytest
import requests

from simlib import DEFAULT_ACCOUNT, PRIMARY, RECOVERY

OTHER_ACCOUNT = "111122223333"
STAGING_ACCOUNT = "444455556666"


_IMAGES = {}


def _image(ec2, region):
    # moto answers an unfiltered DescribeImages with over a thousand images (seconds): filter, and cache.
    if region not in _IMAGES:
        images = ec2.describe_images(Owners=["amazon"], Filters=[
            {"Name": "architecture", "Values": ["x86_64"]}, {"Name": "name", "Values": ["*ubuntu*"]}])["Images"]
        _IMAGES[region] = sorted(i["ImageId"] for i in images)[0]
    return _IMAGES[region]


def _instance(sim, region=PRIMARY, name="app-01"):
    ec2 = sim.client("ec2", region=region)
    image = _image(ec2, region)
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.small",
                                 TagSpecifications=[{"ResourceType": "instance",
                                                     "Tags": [{"Key": "Name", "Value": name}]}])["Instances"][0]
    return instance


def _seed(sim, instance_id, expect=200, **extra):
    payload = {"instance_id": instance_id, "source_region": PRIMARY, "recovery_region": RECOVERY}
    payload.update(extra)
    return sim.control("POST", "source-servers", payload, expect=expect)


def _time(text):
    return dt.datetime.fromisoformat(text)


# ------------------------------------------------------------------ health and unknown endpoints


def test_health(sim):
    health = sim.control("GET", "health")
    assert health["status"] == "ok"
    assert health["time_scale"] == 1.0
    assert health["estate"] is None
    assert health["pending_events"] == 0
    assert health["requests_logged"] == 0
    # Simulated time runs at least as fast as real time (tests may have moved it ahead; reset keeps it).
    now = dt.datetime.now(dt.timezone.utc)
    assert (_time(health["simulated_time"]) - now).total_seconds() > -5


def test_health_reports_the_estate_and_pending_work(sim, estate):
    health = sim.control("GET", "health")
    assert health["estate"] == "generated-3-servers-1-waves"
    drs = sim.client("drs")
    server_id = next(iter(estate["servers"].values()))["source_server_id"]
    drs.start_recovery(sourceServers=[{"sourceServerID": server_id}], isDrill=True)
    assert sim.control("GET", "health")["pending_events"] >= 1
    assert sim.control("GET", "health")["requests_logged"] == 1  # loading the estate cleared the log


@pytest.mark.parametrize("method, name", [("GET", "nothing-here"), ("POST", "health"), ("PUT", "faults"),
                                          ("DELETE", "clock")])
def test_unknown_endpoint_is_404_naming_the_endpoints(sim, method, name):
    response = requests.request(method, f"{sim.url}/_simulator/{name}", timeout=30)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert f"{method} /_simulator/{name}" in error
    for known in ("health", "source-servers", "clock", "requests", "faults", "config", "estate"):
        assert known in error, error


# ------------------------------------------------------------------ seeding source servers


def test_seed_source_server_for_an_instance(sim):
    instance = _instance(sim)
    seeded = _seed(sim, instance["InstanceId"], replication_state="BACKLOG", lag_seconds=120,
                   tags={"app": "billing", "tier": "db"})
    assert seeded["sourceServerID"].startswith("s-") and len(seeded["sourceServerID"]) == 19
    assert seeded["arn"] == f"arn:aws:drs:{RECOVERY}:{DEFAULT_ACCOUNT}:source-server/{seeded['sourceServerID']}"

    drs = sim.client("drs", region=RECOVERY)
    (server,) = drs.describe_source_servers(filters={"sourceServerIDs": [seeded["sourceServerID"]]})["items"]
    assert server["arn"] == seeded["arn"]
    assert server["tags"] == {"app": "billing", "tier": "db"}
    assert server["dataReplicationInfo"]["dataReplicationState"] == "BACKLOG"
    assert server["dataReplicationInfo"]["lagDuration"] == "PT120S"
    assert server["sourceProperties"]["identificationHints"]["awsInstanceID"] == instance["InstanceId"]
    assert server["sourceProperties"]["identificationHints"]["hostname"] == "app-01"
    assert server["sourceCloudProperties"]["originRegion"] == PRIMARY
    assert server["sourceCloudProperties"]["originAccountID"] == DEFAULT_ACCOUNT
    assert server["sourceProperties"]["networkInterfaces"][0]["ips"] == [instance["PrivateIpAddress"]]
    assert server["replicationDirection"] == "FAILOVER"
    # Nothing appears in the primary region's DRS.
    primary = sim.client("drs", region=PRIMARY)
    with pytest.raises(primary.exceptions.UninitializedAccountException):
        primary.describe_source_servers()


def test_seed_source_server_defaults(sim):
    instance = _instance(sim)
    seeded = _seed(sim, instance["InstanceId"])
    drs = sim.client("drs")
    (server,) = drs.describe_source_servers()["items"]
    assert server["sourceServerID"] == seeded["sourceServerID"]
    assert server["dataReplicationInfo"]["dataReplicationState"] == "CONTINUOUS"
    assert server["dataReplicationInfo"]["lagDuration"] == "PT5S"
    assert server["tags"] == {}
    assert server["stagingArea"]["status"] == "NOT_EXTENDED"


def test_seed_source_server_in_another_account(sim):
    instance = _instance(sim)
    seeded = _seed(sim, instance["InstanceId"], account_id=OTHER_ACCOUNT)
    assert seeded["arn"].startswith(f"arn:aws:drs:{RECOVERY}:{OTHER_ACCOUNT}:source-server/")
    other = sim.client("drs", account=OTHER_ACCOUNT)
    (server,) = other.describe_source_servers()["items"]
    assert server["sourceServerID"] == seeded["sourceServerID"]
    # The instance still belongs to the default account.
    assert server["sourceCloudProperties"]["originAccountID"] == DEFAULT_ACCOUNT
    default = sim.client("drs")
    with pytest.raises(default.exceptions.UninitializedAccountException):
        default.describe_source_servers()


def test_seed_source_server_through_a_staging_account(sim):
    instance = _instance(sim)
    seeded = _seed(sim, instance["InstanceId"], staging_account_id=STAGING_ACCOUNT, tags={"wave": "1"})
    drs = sim.client("drs")
    (server,) = drs.describe_source_servers(filters={"stagingAccountIDs": [STAGING_ACCOUNT]})["items"]
    assert server["sourceServerID"] == seeded["sourceServerID"]
    assert server["arn"].split(":")[4] == DEFAULT_ACCOUNT
    assert server["stagingArea"]["status"] == "EXTENDED"
    assert server["stagingArea"]["stagingAccountID"] == STAGING_ACCOUNT
    staging = sim.client("drs", account=STAGING_ACCOUNT)
    (base,) = staging.describe_source_servers()["items"]
    assert server["stagingArea"]["stagingSourceServerArn"] == base["arn"]
    assert base["arn"].split(":")[4] == STAGING_ACCOUNT
    assert base["tags"] == {"wave": "1"}
    assert [a["accountID"] for a in drs.list_staging_accounts()["accounts"]] == [STAGING_ACCOUNT]


def test_seed_source_server_staging_equal_to_account(sim):
    instance = _instance(sim)
    seeded = _seed(sim, instance["InstanceId"], account_id=STAGING_ACCOUNT, staging_account_id=STAGING_ACCOUNT)
    staging = sim.client("drs", account=STAGING_ACCOUNT)
    (server,) = staging.describe_source_servers()["items"]
    assert server["sourceServerID"] == seeded["sourceServerID"]
    assert server["stagingArea"]["status"] == "NOT_EXTENDED"


@pytest.mark.parametrize("change, expected", [
    ({"instance_id": "i-0123456789abcdef0"}, "i-0123456789abcdef0"),
    ({"source_region": None}, "source_region"),
    ({"recovery_region": None}, "recovery_region"),
    ({"replication_state": "SYNCING"}, "replication_state"),
    ({"lag_seconds": -5}, "lag_seconds"),
    ({"lag_seconds": "5"}, "lag_seconds"),
    ({"tags": {"a": 1}}, "tags"),
    ({"replication": "CONTINUOUS"}, "replication"),
], ids=["unknown-instance", "no-source-region", "no-recovery-region", "bad-state", "negative-lag", "lag-string",
        "tag-value-not-string", "unknown-member"])
def test_seed_source_server_bad_input(sim, change, expected):
    instance = _instance(sim)
    payload = {"instance_id": instance["InstanceId"], "source_region": PRIMARY, "recovery_region": RECOVERY}
    payload.update(change)
    payload = {k: v for k, v in payload.items() if v is not None}
    answer = sim.control("POST", "source-servers", payload, expect=400)
    assert expected in answer["error"], answer
    assert sim.control("GET", "health")["status"] == "ok"
    # Nothing was created.
    drs = sim.client("drs")
    with pytest.raises(drs.exceptions.UninitializedAccountException):
        drs.describe_source_servers()


def test_seed_source_server_instance_in_wrong_region(sim):
    instance = _instance(sim, region=RECOVERY)
    answer = _seed(sim, instance["InstanceId"], expect=400)
    assert instance["InstanceId"] in answer["error"] and PRIMARY in answer["error"], answer


@pytest.mark.parametrize("body", [b"", b"{not json", b"[]"])
def test_control_body_must_be_a_json_object(sim, body):
    response = requests.post(f"{sim.url}/_simulator/source-servers", data=body, timeout=30)
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]


# ------------------------------------------------------------------ clock


def test_clock_advance(sim):
    before = sim.control("GET", "clock")
    assert before["time_scale"] == 1.0
    advanced = sim.advance(3600)
    gained = (_time(advanced["simulated_time"]) - _time(before["simulated_time"])).total_seconds()
    assert 3600 <= gained < 3660
    after = sim.control("GET", "clock")
    assert _time(after["simulated_time"]) >= _time(advanced["simulated_time"])


def test_clock_advance_runs_due_work(sim, estate):
    drs = sim.client("drs")
    server_id = next(iter(estate["servers"].values()))["source_server_id"]
    job = drs.start_recovery(sourceServers=[{"sourceServerID": server_id}], isDrill=True)["job"]
    assert sim.advance(0)["events_run"] == 0
    assert sim.advance(20)["events_run"] >= 1  # job_start is 15 simulated seconds
    assert drs.describe_jobs(filters={"jobIDs": [job["jobID"]]})["items"][0]["status"] == "STARTED"


@pytest.mark.parametrize("payload", [{"advance_seconds": -1}, {"advance_seconds": "60"}, {"advance_seconds": True},
                                     {}])
def test_clock_bad_advance(sim, payload):
    before = _time(sim.control("GET", "clock")["simulated_time"])
    answer = sim.control("POST", "clock", payload, expect=400)
    assert "advance_seconds" in answer["error"]
    after = _time(sim.control("GET", "clock")["simulated_time"])
    assert (after - before).total_seconds() < 30


# ------------------------------------------------------------------ request log


def test_request_log_filters(sim):
    drs = sim.client("drs")
    ec2 = sim.client("ec2", region=PRIMARY)
    drs.initialize_service()
    drs.describe_jobs()
    ec2.describe_vpcs()
    ec2.create_tags(Resources=[ec2.describe_vpcs()["Vpcs"][0]["VpcId"]], Tags=[{"Key": "k", "Value": "v"}])

    every = sim.requests()
    assert [(r["service"], r["operation"], r["mutating"]) for r in every] == [
        ("drs", "InitializeService", True), ("drs", "DescribeJobs", False), ("ec2", "DescribeVpcs", False),
        ("ec2", "DescribeVpcs", False), ("ec2", "CreateTags", True)]
    seqs = [r["seq"] for r in every]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert {r["region"] for r in every} == {RECOVERY, PRIMARY}
    assert {r["account"] for r in every} == {DEFAULT_ACCOUNT}
    assert [r["status"] for r in every] == [204, 200, 200, 200, 200]

    assert [r["operation"] for r in sim.requests(service="drs")] == ["InitializeService", "DescribeJobs"]
    assert [r["operation"] for r in sim.requests(service="ec2", operation="DescribeVpcs")] == ["DescribeVpcs"] * 2
    assert [r["operation"] for r in sim.requests(mutating="true")] == ["InitializeService", "CreateTags"]
    assert [r["operation"] for r in sim.requests(mutating="false")] == ["DescribeJobs", "DescribeVpcs", "DescribeVpcs"]
    assert [r["operation"] for r in sim.requests(since=seqs[2])] == ["DescribeVpcs", "CreateTags"]
    assert sim.requests(service="drs", since=seqs[1]) == []
    assert sim.requests(service="sts") == []

    assert sim.control("DELETE", "requests") == {"cleared": 5}
    assert sim.requests() == []
    drs.describe_jobs()
    (entry,) = sim.requests()
    assert entry["seq"] > seqs[-1]  # sequence numbers keep growing across a clear


def test_request_log_bad_since(sim):
    answer = sim.control("GET", "requests", params={"since": "yesterday"}, expect=400)
    assert "since" in answer["error"]


def test_control_calls_are_not_logged(sim):
    sim.control("GET", "health")
    sim.control("GET", "faults")
    sim.advance(1)
    assert sim.requests() == []


# ------------------------------------------------------------------ config


def test_config_get_and_post(sim):
    config = sim.control("GET", "config")
    assert set(config) == {"durations", "quotas", "behaviour"}
    assert config["quotas"]["servers_per_job"] == 100
    assert config["durations"]["snapshot"] == 60.0
    updated = sim.set_config(quotas={"servers_per_job": 2}, durations={"snapshot": 5})
    assert updated["quotas"]["servers_per_job"] == 2
    assert updated["durations"]["snapshot"] == 5.0
    again = sim.control("GET", "config")
    assert again["quotas"]["servers_per_job"] == 2
    assert again["quotas"]["concurrent_jobs"] == config["quotas"]["concurrent_jobs"]  # untouched


def test_config_quota_takes_effect(sim, estate):
    ids = [entry["source_server_id"] for entry in estate["servers"].values()]
    drs = sim.client("drs")
    sim.set_config(quotas={"servers_per_job": 2})
    with pytest.raises(drs.exceptions.ServiceQuotaExceededException) as info:
        drs.start_recovery(sourceServers=[{"sourceServerID": i} for i in ids], isDrill=True)
    assert "2" in info.value.response["Error"]["Message"]
    assert drs.describe_jobs()["items"] == []
    job = drs.start_recovery(sourceServers=[{"sourceServerID": i} for i in ids[:2]], isDrill=True)["job"]
    assert len(job["participatingServers"]) == 2


def test_config_behaviour_takes_effect(sim, estate):
    drs = sim.client("drs")
    sim.set_config(behaviour={"unknown_server_in_start_recovery": "conflict"})
    with pytest.raises(drs.exceptions.ConflictException):
        drs.start_recovery(sourceServers=[{"sourceServerID": "s-0123456789abcdef0"}], isDrill=True)


@pytest.mark.parametrize("payload, expected", [
    ({"limits": {"x": 1}}, "limits"),
    ({"quotas": {"servers_per_wave": 3}}, "quotas.servers_per_wave"),
    ({"quotas": {"servers_per_job": -1}}, "quotas.servers_per_job"),
    ({"quotas": {"servers_per_job": "many"}}, "quotas.servers_per_job"),
    ({"behaviour": {"require_initial_sync": "yes"}}, "behaviour.require_initial_sync"),
    ({"behaviour": {"launch_into_old_volumes": "shred"}}, "behaviour.launch_into_old_volumes"),
    ({"durations": [1, 2]}, "durations"),
], ids=["unknown-section", "unknown-key", "negative", "not-a-number", "not-a-bool", "bad-choice", "not-a-mapping"])
def test_config_bad_update(sim, payload, expected):
    before = sim.control("GET", "config")
    answer = sim.control("POST", "config", payload, expect=400)
    assert expected in answer["error"], answer
    assert sim.control("GET", "config") == before
    assert sim.control("GET", "health")["status"] == "ok"


def test_config_bad_update_changes_nothing(sim):
    """A refused update is refused as a whole, even when an earlier part of it was valid."""
    before = sim.control("GET", "config")
    sim.control("POST", "config", {"quotas": {"servers_per_job": 7}, "bogus": {}}, expect=400)
    sim.control("POST", "config", {"quotas": {"servers_per_job": 7, "nope": 1}}, expect=400)
    sim.control("POST", "config", {"behaviour": {"launch_into_old_volumes": "delete",
                                                 "repeated_reverse_replication": "maybe"}}, expect=400)
    assert sim.control("GET", "config") == before


# ------------------------------------------------------------------ reset


def test_moto_reset_resets_everything(sim, estate):
    drs = sim.client("drs")
    server_id = next(iter(estate["servers"].values()))["source_server_id"]
    drs.start_recovery(sourceServers=[{"sourceServerID": server_id}], isDrill=True)
    sim.add_fault(type="throttle", service="ec2", operation="DescribeVpcs")
    sim.set_config(quotas={"concurrent_jobs": 1})
    assert sim.requests() and sim.control("GET", "faults")["faults"]
    assert sim.control("GET", "estate")["servers"]

    requests.post(f"{sim.url}/moto-api/reset", timeout=60).raise_for_status()

    assert sim.control("GET", "faults") == {"faults": []}
    assert sim.requests() == []
    assert sim.control("GET", "config")["quotas"]["concurrent_jobs"] == 20
    assert sim.control("GET", "estate") == {}
    health = sim.control("GET", "health")
    assert health["pending_events"] == 0 and health["estate"] is None
    with pytest.raises(drs.exceptions.UninitializedAccountException):
        drs.describe_source_servers()
    drs.initialize_service()
    assert drs.describe_source_servers()["items"] == []
    assert drs.describe_jobs()["items"] == []
    ec2 = sim.client("ec2", region=PRIMARY)
    assert ec2.describe_instances()["Reservations"] == []  # moto's own state went too; no fault left
