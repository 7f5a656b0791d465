"""Recovery jobs (docs/DRS_BEHAVIOUR.md section 5): status over simulated time, per-server results, the job
log, quotas and conflicts, drill vs recovery, clean-up of previous recovery instances, DeleteJob, unknown
servers and configurable durations. Each test checks the resulting DRS records and EC2 state."""
from __future__ import annotations

import datetime as dt

import pytest

# Simulated seconds per poll in sim.run_job: fewer round trips than the default 60.
POLL = 300

# Default phase durations (config.Durations): job start, snapshot, conversion, launch.
DEFAULT_JOB_SECONDS = 15 + 60 + 240 + 240
UNKNOWN_SERVER = "s-0123456789abcdef0"


def _ids(estate, *names):
    return [estate["servers"][n]["source_server_id"] for n in names]


def _start(drs, server_ids, drill=True, **kwargs):
    return drs.start_recovery(sourceServers=[{"sourceServerID": s} for s in server_ids], isDrill=drill,
                              **kwargs)["job"]


def _job(drs, job_id):
    return drs.describe_jobs(filters={"jobIDs": [job_id]})["items"][0]


def _events(drs, job_id):
    return drs.describe_job_log_items(jobID=job_id)["items"]


def _time(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _instance(ec2, instance_id):
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def _instance_ids(ec2):
    return {i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]}


def _status(job):
    return job["status"], [p["launchStatus"] for p in job["participatingServers"]]


# ---------------------------------------------------------------------------------------- lifecycle
def test_job_status_moves_pending_started_completed_with_simulated_time(sim, estate):
    sim.set_config(durations={"job_start": 100, "snapshot": 100, "conversion": 100, "launch": 100})
    drs = sim.client("drs")
    (sid,) = _ids(estate, "db-01")
    job = _start(drs, [sid])
    assert _status(job) == ("PENDING", ["PENDING"])

    sim.advance(50)
    assert _status(_job(drs, job["jobID"])) == ("PENDING", ["PENDING"])
    assert _events(drs, job["jobID"]) == []

    sim.advance(100)   # t=150: started, snapshot running
    assert _status(_job(drs, job["jobID"])) == ("STARTED", ["IN_PROGRESS"])
    assert [e["event"] for e in _events(drs, job["jobID"])] == ["JOB_START", "SNAPSHOT_START"]

    sim.advance(200)   # t=350: converted, launching
    current = _job(drs, job["jobID"])
    assert _status(current) == ("STARTED", ["IN_PROGRESS"])
    assert "recoveryInstanceID" not in current["participatingServers"][0]
    assert [e["event"] for e in _events(drs, job["jobID"])][-1] == "LAUNCH_START"

    sim.advance(100)   # t=450: launched
    done = _job(drs, job["jobID"])
    assert _status(done) == ("COMPLETED", ["LAUNCHED"])
    assert done["endDateTime"]


def test_job_reports_per_server_launch_status_and_recovery_instance(sim, estate):
    drs, ec2 = sim.client("drs"), sim.client("ec2")
    sids = _ids(estate, "db-01", "db-02")
    before = _instance_ids(ec2)
    job = sim.run_job(drs, _start(drs, sids)["jobID"], step=POLL)

    assert job["status"] == "COMPLETED"
    by_server = {p["sourceServerID"]: p for p in job["participatingServers"]}
    assert set(by_server) == set(sids)
    assert {p["launchStatus"] for p in by_server.values()} == {"LAUNCHED"}
    new_instances = {p["recoveryInstanceID"] for p in by_server.values()}
    assert len(new_instances) == 2
    assert _instance_ids(ec2) - before == new_instances

    records = {r["recoveryInstanceID"]: r for r in drs.describe_recovery_instances()["items"]}
    assert set(records) == new_instances
    for sid, item in by_server.items():
        record = records[item["recoveryInstanceID"]]
        assert record["sourceServerID"] == sid
        assert record["ec2InstanceID"] == item["recoveryInstanceID"]
        assert record["jobID"] == job["jobID"]
        assert record["ec2InstanceState"] == "RUNNING"
        instance = _instance(ec2, item["recoveryInstanceID"])
        assert instance["State"]["Name"] == "running"
        tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
        assert tags["AWSElasticDisasterRecoverySourceServerID"] == sid
    servers = {s["sourceServerID"]: s for s in drs.describe_source_servers(filters={"sourceServerIDs": sids})["items"]}
    for sid in sids:
        assert servers[sid]["recoveryInstanceId"] == by_server[sid]["recoveryInstanceID"]
        assert servers[sid]["lastLaunchResult"] == "SUCCEEDED"


def test_job_log_events_come_in_order_without_launch_end(sim, estate):
    drs = sim.client("drs")
    (sid,) = _ids(estate, "db-01")
    job = sim.run_job(drs, _start(drs, [sid])["jobID"], step=POLL)

    log = _events(drs, job["jobID"])
    assert [e["event"] for e in log] == ["JOB_START", "SNAPSHOT_START", "SNAPSHOT_END", "CONVERSION_START",
                                         "CONVERSION_END", "LAUNCH_START", "JOB_END"]
    times = [_time(e["logDateTime"]) for e in log]
    assert times == sorted(times)
    assert all(e["eventData"]["sourceServerID"] == sid for e in log[1:-1])
    # The job ends when the launch ends: JOB_END is stamped after the launch phase.
    assert _time(log[-1]["logDateTime"]) - _time(log[-2]["logDateTime"]) == dt.timedelta(seconds=240)


def test_job_whose_every_server_fails_still_completes(sim, estate):
    drs, ec2 = sim.client("drs"), sim.client("ec2")
    sids = _ids(estate, "db-01", "db-02")
    sim.add_fault(type="launch_failure")
    before = _instance_ids(ec2)
    job = sim.run_job(drs, _start(drs, sids)["jobID"], step=POLL)

    assert job["status"] == "COMPLETED"
    assert [p["launchStatus"] for p in job["participatingServers"]] == ["FAILED", "FAILED"]
    assert not any("recoveryInstanceID" in p for p in job["participatingServers"])
    log = _events(drs, job["jobID"])
    failed = [e for e in log if e["event"] == "LAUNCH_FAILED"]
    assert {e["eventData"]["sourceServerID"] for e in failed} == set(sids)
    assert all(e["eventData"]["rawError"] for e in failed)
    assert log[-1]["event"] == "JOB_END"
    assert _instance_ids(ec2) == before
    assert drs.describe_recovery_instances()["items"] == []
    servers = drs.describe_source_servers(filters={"sourceServerIDs": sids})["items"]
    assert {s["lastLaunchResult"] for s in servers} == {"FAILED"}


# ---------------------------------------------------------------------------------------- limits
def test_one_active_job_per_source_server(sim, estate):
    drs = sim.client("drs")
    first, second = _ids(estate, "db-01", "db-02")
    job = _start(drs, [first])
    with pytest.raises(drs.exceptions.ConflictException) as caught:
        _start(drs, [second, first])
    assert caught.value.response["resourceType"] == "SOURCE_SERVER"
    assert caught.value.response["resourceId"] == first
    assert [j["jobID"] for j in drs.describe_jobs()["items"]] == [job["jobID"]]

    sim.run_job(drs, job["jobID"], step=POLL)
    again = _start(drs, [first])
    assert again["status"] == "PENDING"
    assert [p["sourceServerID"] for p in again["participatingServers"]] == [first]


def test_servers_per_job_quota_is_enforced_and_configurable(sim, estate):
    drs = sim.client("drs")
    sids = _ids(estate, "db-01", "db-02", "db-03")
    sim.set_config(quotas={"servers_per_job": 2})
    with pytest.raises(drs.exceptions.ServiceQuotaExceededException) as caught:
        _start(drs, sids)
    assert caught.value.response["quotaCode"] == "servers-per-job"
    assert drs.describe_jobs()["items"] == []

    job = _start(drs, sids[:2])
    assert len(job["participatingServers"]) == 2

    sim.set_config(quotas={"servers_per_job": 3})
    sim.run_job(drs, job["jobID"], step=POLL)
    assert len(_start(drs, sids)["participatingServers"]) == 3


def test_concurrent_jobs_quota_is_enforced_and_configurable(sim, estate):
    drs = sim.client("drs")
    a, b, c = _ids(estate, "db-01", "db-02", "db-03")
    sim.set_config(quotas={"concurrent_jobs": 2})
    first = _start(drs, [a])
    _start(drs, [b])
    with pytest.raises(drs.exceptions.ServiceQuotaExceededException) as caught:
        _start(drs, [c])
    assert caught.value.response["quotaCode"] == "concurrent-jobs"
    assert len(drs.describe_jobs()["items"]) == 2

    sim.run_job(drs, first["jobID"], step=POLL)   # both finish: the quota counts active jobs only
    assert _start(drs, [c])["status"] == "PENDING"


# ---------------------------------------------------------------------------------------- drill vs recovery
@pytest.mark.parametrize("drill, initiated_by, launch_type", [
    (True, "START_DRILL", "DRILL"),
    (False, "START_RECOVERY", "RECOVERY"),
])
def test_drill_and_recovery_differ_only_in_is_drill(sim, estate, drill, initiated_by, launch_type):
    drs = sim.client("drs")
    (sid,) = _ids(estate, "db-01")
    started = _start(drs, [sid], drill=drill, tags={"purpose": "test"})
    assert started["initiatedBy"] == initiated_by
    assert started["type"] == "LAUNCH"
    assert started["tags"] == {"purpose": "test"}
    job = sim.run_job(drs, started["jobID"], step=POLL)

    instance_id = job["participatingServers"][0]["recoveryInstanceID"]
    (record,) = drs.describe_recovery_instances(filters={"sourceServerIDs": [sid]})["items"]
    assert record["recoveryInstanceID"] == instance_id
    assert record["isDrill"] is drill
    (server,) = drs.describe_source_servers(filters={"sourceServerIDs": [sid]})["items"]
    initiated = server["lifeCycle"]["lastLaunch"]["initiated"]
    assert initiated["type"] == launch_type
    assert initiated["jobID"] == job["jobID"]
    assert server["lifeCycle"]["lastLaunch"]["status"] == "LAUNCHED"
    # Replication keeps running through a drill or a recovery.
    assert server["dataReplicationInfo"]["dataReplicationState"] == "CONTINUOUS"


# ---------------------------------------------------------------------------------------- clean-up
def test_new_launch_terminates_previous_new_recovery_instance(sim, estate):
    drs, ec2 = sim.client("drs"), sim.client("ec2")
    (sid,) = _ids(estate, "db-01")
    first = sim.run_job(drs, _start(drs, [sid])["jobID"], step=POLL)
    old = first["participatingServers"][0]["recoveryInstanceID"]

    sim.set_config(durations={"cleanup": 100})
    second = sim.run_job(drs, _start(drs, [sid])["jobID"], step=POLL)
    new = second["participatingServers"][0]["recoveryInstanceID"]
    assert new != old
    # The clean-up phase is part of the job and takes its configured time.
    elapsed = _time(second["endDateTime"]) - _time(second["creationDateTime"])
    assert elapsed == dt.timedelta(seconds=DEFAULT_JOB_SECONDS + 100)
    events = [e for e in _events(drs, second["jobID"]) if e["event"].startswith("CLEANUP")]
    assert [(e["event"], e["eventData"]["targetInstanceID"]) for e in events] == [
        ("CLEANUP_START", old), ("CLEANUP_END", old)]
    assert _instance(ec2, old)["State"]["Name"] == "terminated"
    assert _instance(ec2, new)["State"]["Name"] == "running"
    assert [r["recoveryInstanceID"] for r in drs.describe_recovery_instances()["items"]] == [new]


def test_new_launch_never_terminates_a_launched_into_target(sim, estate):
    drs, ec2 = sim.client("drs"), sim.client("ec2")
    server = estate["servers"]["db-01"]
    sid, target = server["source_server_id"], server["target_instance_id"]
    drs.update_launch_configuration(sourceServerID=sid, copyPrivateIp=False, copyTags=False,
                                    launchIntoInstanceProperties={"launchIntoEC2InstanceID": target})
    first = sim.run_job(drs, _start(drs, [sid])["jobID"], step=POLL)
    assert first["participatingServers"][0]["recoveryInstanceID"] == target

    # The next launch goes to a new instance: the previous recovery instance (the target) must survive.
    drs.update_launch_configuration(sourceServerID=sid, launchIntoInstanceProperties={})
    second = sim.run_job(drs, _start(drs, [sid])["jobID"], step=POLL)
    new = second["participatingServers"][0]
    assert new["launchStatus"] == "LAUNCHED"
    assert new["recoveryInstanceID"] != target
    assert not [e for e in _events(drs, second["jobID"]) if e["event"].startswith("CLEANUP")]
    assert _instance(ec2, target)["State"]["Name"] == "running"
    assert _instance(ec2, target)["PrivateIpAddress"] == server["target_private_ip"]


# ---------------------------------------------------------------------------------------- DeleteJob
def test_delete_job_refuses_an_active_job_and_deletes_a_completed_one(sim, estate):
    sim.set_config(durations={"job_start": 300})   # stays PENDING however slow the machine is
    drs = sim.client("drs")
    (sid,) = _ids(estate, "db-01")
    job = _start(drs, [sid])
    with pytest.raises(drs.exceptions.ConflictException) as caught:
        drs.delete_job(jobID=job["jobID"])
    assert caught.value.response["resourceType"] == "JOB"
    assert _job(drs, job["jobID"])["status"] == "PENDING"

    sim.run_job(drs, job["jobID"], step=POLL)
    drs.delete_job(jobID=job["jobID"])
    assert drs.describe_jobs(filters={"jobIDs": [job["jobID"]]})["items"] == []
    with pytest.raises(drs.exceptions.ResourceNotFoundException):
        drs.describe_job_log_items(jobID=job["jobID"])
    # Deleting the job record leaves the recovery instance alone.
    assert len(drs.describe_recovery_instances()["items"]) == 1


# ---------------------------------------------------------------------------------------- unknown servers
def test_unknown_source_server_is_skipped_by_default(sim, estate):
    drs = sim.client("drs")
    (sid,) = _ids(estate, "db-01")
    job = _start(drs, [sid, UNKNOWN_SERVER])
    assert [p["sourceServerID"] for p in job["participatingServers"]] == [sid]
    skipped = [e for e in _events(drs, job["jobID"]) if e["event"] == "SERVER_SKIPPED"]
    assert [e["eventData"]["sourceServerID"] for e in skipped] == [UNKNOWN_SERVER]
    assert skipped[0]["eventData"]["rawError"]

    done = sim.run_job(drs, job["jobID"], step=POLL)
    assert [(p["sourceServerID"], p["launchStatus"]) for p in done["participatingServers"]] == [(sid, "LAUNCHED")]


def test_unknown_source_server_conflicts_when_configured(sim, estate):
    drs = sim.client("drs")
    (sid,) = _ids(estate, "db-01")
    sim.set_config(behaviour={"unknown_server_in_start_recovery": "conflict"})
    with pytest.raises(drs.exceptions.ConflictException) as caught:
        _start(drs, [sid, UNKNOWN_SERVER])
    assert caught.value.response["resourceId"] == UNKNOWN_SERVER
    assert drs.describe_jobs()["items"] == []
    (server,) = drs.describe_source_servers(filters={"sourceServerIDs": [sid]})["items"]
    assert server["lastLaunchResult"] == "NOT_STARTED"


# ---------------------------------------------------------------------------------------- durations
@pytest.mark.parametrize("durations, total", [
    ({}, DEFAULT_JOB_SECONDS),
    ({"job_start": 5, "snapshot": 10, "conversion": 20, "launch": 30}, 65),
    ({"launch": 3600}, 15 + 60 + 240 + 3600),
])
def test_jobs_take_as_long_as_the_configured_durations(sim, estate, durations, total):
    if durations:
        sim.set_config(durations=durations)
    drs = sim.client("drs")
    (sid,) = _ids(estate, "db-01")
    job = _start(drs, [sid])

    sim.advance(total - 30)
    assert _job(drs, job["jobID"])["status"] == "STARTED"
    sim.advance(60)
    done = _job(drs, job["jobID"])
    assert done["status"] == "COMPLETED"
    elapsed = _time(done["endDateTime"]) - _time(done["creationDateTime"])
    assert elapsed == dt.timedelta(seconds=total)
