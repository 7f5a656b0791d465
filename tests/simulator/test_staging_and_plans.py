"""Staging and target accounts (docs/DRS_BEHAVIOUR.md section 8) and DRS recovery plans (section 9)."""
from __future__ import annotations

import pytest

from simlib import RECOVERY, small_estate

# Simulated seconds per poll in sim.run_job: fewer round trips than the default 60.
POLL = 300

STAGING = "222222222222"
TARGET = "111111111111"
SECOND_TARGET = "333333333333"


# ---------------------------------------------------------------------------------------- helpers
def _tags(item):
    return {t["Key"]: t["Value"] for t in item.get("Tags") or []}


def _instance(ec2, instance_id):
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def _by_id(items):
    return {s["sourceServerID"]: s for s in items}


@pytest.fixture
def staged(sim):
    """Sources in the default account; db-01 replicates in a staging account and is extended into the
    target account, which owns the recovery network (and so every target); db-02 replicates directly
    in the target account."""
    doc = small_estate(2, 1, **{"db-01": {"staging_account": STAGING, "drs_account": TARGET}})
    recovery_net = next(n for n in doc["networks"] if n["region"] == RECOVERY)
    recovery_net["account"] = TARGET
    return sim.load_estate(doc)


# ---------------------------------------------------------------------------------------- staging accounts
def test_extended_server_shows_its_staging_area_in_the_target_account(sim, staged):
    db1, db2 = staged["servers"]["db-01"], staged["servers"]["db-02"]
    assert (db1["drs_account"], db2["drs_account"]) == (TARGET, TARGET)
    target, staging = sim.client("drs", account=TARGET), sim.client("drs", account=STAGING)

    servers = _by_id(target.describe_source_servers()["items"])
    assert set(servers) == {db1["source_server_id"], db2["source_server_id"]}
    (base,) = staging.describe_source_servers()["items"]
    extended = servers[db1["source_server_id"]]
    assert extended["arn"].split(":")[4] == TARGET
    assert extended["stagingArea"] == {"status": "EXTENDED", "stagingAccountID": STAGING,
                                       "stagingSourceServerArn": base["arn"]}
    assert base["arn"].split(":")[4] == STAGING
    assert base["sourceProperties"]["identificationHints"]["awsInstanceID"] == db1["source_instance_id"]
    assert servers[db2["source_server_id"]]["stagingArea"]["status"] == "NOT_EXTENDED"
    # The extended server reports what the staging account replicates.
    assert extended["dataReplicationInfo"]["dataReplicationState"] == "CONTINUOUS"

    filtered = target.describe_source_servers(filters={"stagingAccountIDs": [STAGING]})["items"]
    assert [s["sourceServerID"] for s in filtered] == [db1["source_server_id"]]
    assert target.describe_source_servers(filters={"stagingAccountIDs": ["999999999999"]})["items"] == []
    assert target.list_staging_accounts()["accounts"] == [{"accountID": STAGING}]
    assert staging.list_staging_accounts()["accounts"] == []


def test_second_target_account_extends_a_staging_server_through_assume_role(sim, staged):
    db1 = staged["servers"]["db-01"]
    base_arn = sim.client("drs", account=STAGING).describe_source_servers()["items"][0]["arn"]
    second = sim.client("drs", account=SECOND_TARGET)
    with pytest.raises(second.exceptions.UninitializedAccountException):
        second.list_extensible_source_servers(stagingAccountID=STAGING)
    second.initialize_service()

    extensible = second.list_extensible_source_servers(stagingAccountID=STAGING)["items"]
    assert [(s["arn"], s["hostname"]) for s in extensible] == [(base_arn, "db-01")]
    created = second.create_extended_source_server(sourceServerArn=base_arn, tags={"team": "dr"})["sourceServer"]
    assert created["arn"].split(":")[4] == SECOND_TARGET
    assert created["stagingArea"] == {"status": "EXTENDED", "stagingAccountID": STAGING,
                                      "stagingSourceServerArn": base_arn}
    assert created["tags"]["team"] == "dr"
    assert created["sourceProperties"]["identificationHints"]["awsInstanceID"] == db1["source_instance_id"]

    assert [s["sourceServerID"] for s in second.describe_source_servers()["items"]] == [created["sourceServerID"]]
    assert second.list_extensible_source_servers(stagingAccountID=STAGING)["items"] == []
    assert second.list_staging_accounts()["accounts"] == [{"accountID": STAGING}]
    # The first target account keeps its own extension.
    first = sim.client("drs", account=TARGET).describe_source_servers(filters={"stagingAccountIDs": [STAGING]})
    assert [s["sourceServerID"] for s in first["items"]] == [db1["source_server_id"]]
    calls = sim.requests(service="drs", operation="CreateExtendedSourceServer")
    assert [(c["account"], c["status"]) for c in calls] == [(SECOND_TARGET, 201)]


def test_cross_account_launch_into_a_target_in_the_target_account(sim, staged):
    db1 = staged["servers"]["db-01"]
    sid, target_id = db1["source_server_id"], db1["target_instance_id"]
    assert db1["target_account"] == TARGET
    drs, ec2 = sim.client("drs", account=TARGET), sim.client("ec2", account=TARGET)
    old_volumes = {b["Ebs"]["VolumeId"] for b in _instance(ec2, target_id)["BlockDeviceMappings"]}
    drs.update_launch_configuration(sourceServerID=sid, copyPrivateIp=False, copyTags=False,
                                    launchIntoInstanceProperties={"launchIntoEC2InstanceID": target_id})

    job = drs.start_recovery(sourceServers=[{"sourceServerID": sid}], isDrill=True)["job"]
    assert job["arn"].split(":")[4] == TARGET
    done = sim.run_job(drs, job["jobID"], step=POLL)
    (item,) = done["participatingServers"]
    assert (item["launchStatus"], item["recoveryInstanceID"]) == ("LAUNCHED", target_id)
    instance = _instance(ec2, target_id)
    assert instance["State"]["Name"] == "running"
    assert instance["PrivateIpAddress"] == db1["target_private_ip"]
    new_volumes = {b["Ebs"]["VolumeId"] for b in instance["BlockDeviceMappings"]}
    assert new_volumes and not new_volumes & old_volumes
    for volume in ec2.describe_volumes(VolumeIds=list(new_volumes))["Volumes"]:
        assert _tags(volume)["drs:recovered-from"] == sid
    assert [r["recoveryInstanceID"] for r in drs.describe_recovery_instances()["items"]] == [target_id]
    # Nothing is launched in the staging account or the source account.
    assert sim.client("drs", account=STAGING).describe_recovery_instances()["items"] == []
    source = sim.client("ec2", region="us-east-1")
    assert _instance(source, db1["source_instance_id"])["State"]["Name"] == "running"
    assert sim.client("ec2").describe_instances(Filters=[
        {"Name": "tag:AWSElasticDisasterRecoverySourceServerID", "Values": [sid]}])["Reservations"] == []


# ---------------------------------------------------------------------------------------- recovery plans
def _server_step(estate, **impact):
    return {"serverStepConfiguration": {"servers": [
        {"serverArn": estate["servers"][name]["source_server_arn"], "impactLevel": level}
        for name, level in impact.items()]}}


def _wait_step(minutes):
    return {"waitStepConfiguration": {"waitDurationMinutes": minutes}}


def _plan(drs, estate, name="wave-1", wait_minutes=10):
    """db-01 (CRITICAL) + db-02 (OPTIONAL), then a wait, then db-03 (CRITICAL)."""
    arn = drs.create_recovery_plan(name=name, description="test plan")["recoveryPlan"]["recoveryPlanArn"]
    drs.create_recovery_plan_step(recoveryPlanArn=arn, stepName="databases",
                                  configuration=_server_step(estate, **{"db-01": "CRITICAL", "db-02": "OPTIONAL"}))
    drs.create_recovery_plan_step(recoveryPlanArn=arn, stepName="settle", configuration=_wait_step(wait_minutes))
    drs.create_recovery_plan_step(recoveryPlanArn=arn, stepName="last-database",
                                  configuration=_server_step(estate, **{"db-03": "CRITICAL"}))
    return arn


def _steps(drs, execution_arn):
    return drs.list_recovery_plan_execution_steps(recoveryPlanExecutionArn=execution_arn)["recoveryPlanExecutionSteps"]


def _statuses(drs, execution_arn):
    return [s["status"] for s in _steps(drs, execution_arn)]


def _execution(drs, execution_arn):
    return drs.get_recovery_plan_execution(recoveryPlanExecutionArn=execution_arn)["recoveryPlanExecution"]


def _step_job(step):
    job_ids = {s.get("jobID") for s in step["configuration"]["executionServerStepConfiguration"]["servers"]}
    assert len(job_ids) == 1 and None not in job_ids, job_ids
    return job_ids.pop()


def test_recovery_plan_steps_are_listed_in_step_order(sim, estate):
    drs = sim.client("drs")
    arn = _plan(drs, estate)
    drs.create_recovery_plan_step(recoveryPlanArn=arn, stepName="first", stepOrder=1, configuration=_wait_step(1))

    steps = drs.list_recovery_plan_steps(recoveryPlanArn=arn)["recoveryPlanSteps"]
    assert [(s["stepOrder"], s["stepName"]) for s in steps] == [
        (1, "first"), (2, "databases"), (3, "settle"), (4, "last-database")]
    servers = steps[1]["configuration"]["serverStepConfiguration"]["servers"]
    assert [(s["serverArn"], s["impactLevel"]) for s in servers] == [
        (estate["servers"]["db-01"]["source_server_arn"], "CRITICAL"),
        (estate["servers"]["db-02"]["source_server_arn"], "OPTIONAL")]
    assert steps[2]["configuration"] == _wait_step(10)


def test_plan_execution_runs_steps_in_order_as_time_advances(sim, estate):
    drs = sim.client("drs")
    ids = {name: s["source_server_id"] for name, s in estate["servers"].items()}
    plan = _plan(drs, estate, wait_minutes=10)
    execution = drs.start_recovery_plan_execution(recoveryPlanArn=plan, mode="DRILL")["recoveryPlanExecution"]
    arn = execution["recoveryPlanExecutionArn"]
    assert (execution["status"], execution["mode"]) == ("IN_PROGRESS", "DRILL")

    assert _statuses(drs, arn) == ["EXECUTING", "NOT_STARTED", "NOT_STARTED"]
    first_job = _step_job(_steps(drs, arn)[0])
    job = drs.describe_jobs(filters={"jobIDs": [first_job]})["items"][0]
    assert job["initiatedBy"] == "START_DRILL"
    assert {p["sourceServerID"] for p in job["participatingServers"]} == {ids["db-01"], ids["db-02"]}
    assert len(drs.describe_jobs()["items"]) == 1

    sim.run_job(drs, first_job)      # now at most 60 s past the end of the first job
    assert _statuses(drs, arn) == ["COMPLETED", "WAITING", "NOT_STARTED"]
    sim.advance(300)
    assert _statuses(drs, arn) == ["COMPLETED", "WAITING", "NOT_STARTED"]
    assert len(drs.describe_jobs()["items"]) == 1
    sim.advance(360)                 # the 10-minute wait is over
    assert _statuses(drs, arn) == ["COMPLETED", "COMPLETED", "EXECUTING"]
    second_job = _step_job(_steps(drs, arn)[2])
    assert second_job != first_job
    job = drs.describe_jobs(filters={"jobIDs": [second_job]})["items"][0]
    assert [p["sourceServerID"] for p in job["participatingServers"]] == [ids["db-03"]]
    assert _execution(drs, arn)["status"] == "IN_PROGRESS"

    sim.run_job(drs, second_job, step=POLL)
    assert _statuses(drs, arn) == ["COMPLETED", "COMPLETED", "COMPLETED"]
    done = _execution(drs, arn)
    assert done["status"] == "COMPLETED" and done["completedAt"]
    records = drs.describe_recovery_instances()["items"]
    assert {r["sourceServerID"] for r in records} == set(ids.values())
    assert {r["isDrill"] for r in records} == {True}


def test_failing_critical_server_fails_the_execution_and_skips_later_steps(sim, estate):
    drs = sim.client("drs")
    ids = {name: s["source_server_id"] for name, s in estate["servers"].items()}
    sim.add_fault(type="launch_failure", source_server_ids=[ids["db-01"]])
    arn = drs.start_recovery_plan_execution(recoveryPlanArn=_plan(drs, estate), mode="RECOVERY")[
        "recoveryPlanExecution"]["recoveryPlanExecutionArn"]
    first_job = _step_job(_steps(drs, arn)[0])
    job = sim.run_job(drs, first_job, step=POLL)
    assert {p["sourceServerID"]: p["launchStatus"] for p in job["participatingServers"]} == {
        ids["db-01"]: "FAILED", ids["db-02"]: "LAUNCHED"}

    steps = _steps(drs, arn)
    assert [s["status"] for s in steps] == ["FAILED", "SKIPPED", "SKIPPED"]
    assert ids["db-01"] in steps[0]["errorDetail"]["message"]
    failed = _execution(drs, arn)
    assert failed["status"] == "FAILED" and failed["errorDetail"]["message"]
    sim.advance(3600)
    assert [j["jobID"] for j in drs.describe_jobs()["items"]] == [first_job]
    (db3,) = drs.describe_source_servers(filters={"sourceServerIDs": [ids["db-03"]]})["items"]
    assert db3["lastLaunchResult"] == "NOT_STARTED"


def test_failing_optional_server_does_not_fail_the_execution(sim, estate):
    drs = sim.client("drs")
    ids = {name: s["source_server_id"] for name, s in estate["servers"].items()}
    sim.add_fault(type="launch_failure", source_server_ids=[ids["db-02"]])
    arn = drs.start_recovery_plan_execution(recoveryPlanArn=_plan(drs, estate), mode="RECOVERY")[
        "recoveryPlanExecution"]["recoveryPlanExecutionArn"]
    job = sim.run_job(drs, _step_job(_steps(drs, arn)[0]), step=POLL)
    assert {p["sourceServerID"]: p["launchStatus"] for p in job["participatingServers"]} == {
        ids["db-01"]: "LAUNCHED", ids["db-02"]: "FAILED"}
    assert _statuses(drs, arn) == ["COMPLETED", "WAITING", "NOT_STARTED"]
    assert _execution(drs, arn)["status"] == "IN_PROGRESS"


def test_one_active_execution_per_plan(sim, estate):
    drs = sim.client("drs")
    plan = _plan(drs, estate)
    first = drs.start_recovery_plan_execution(recoveryPlanArn=plan, mode="DRILL")["recoveryPlanExecution"]
    with pytest.raises(drs.exceptions.ConflictException) as caught:
        drs.start_recovery_plan_execution(recoveryPlanArn=plan, mode="DRILL")
    assert caught.value.response["resourceType"] == "RECOVERY_PLAN"
    assert _execution(drs, first["recoveryPlanExecutionArn"])["status"] == "IN_PROGRESS"

    # Another plan is independent.
    other = drs.create_recovery_plan(name="other")["recoveryPlan"]["recoveryPlanArn"]
    drs.create_recovery_plan_step(recoveryPlanArn=other, stepName="pause", configuration=_wait_step(1))
    assert drs.start_recovery_plan_execution(recoveryPlanArn=other, mode="DRILL")[
        "recoveryPlanExecution"]["status"] == "IN_PROGRESS"

    drs.cancel_recovery_plan_execution(recoveryPlanExecutionArn=first["recoveryPlanExecutionArn"])
    again = drs.start_recovery_plan_execution(recoveryPlanArn=plan, mode="DRILL")["recoveryPlanExecution"]
    assert again["recoveryPlanExecutionArn"] != first["recoveryPlanExecutionArn"]
    assert again["status"] == "IN_PROGRESS"


def test_cancel_plan_execution_stops_later_steps(sim, estate):
    drs = sim.client("drs")
    sid = estate["servers"]["db-01"]["source_server_id"]
    plan = drs.create_recovery_plan(name="wait-then-launch")["recoveryPlan"]["recoveryPlanArn"]
    drs.create_recovery_plan_step(recoveryPlanArn=plan, stepName="pause", configuration=_wait_step(10))
    drs.create_recovery_plan_step(recoveryPlanArn=plan, stepName="launch",
                                  configuration=_server_step(estate, **{"db-01": "CRITICAL"}))
    arn = drs.start_recovery_plan_execution(recoveryPlanArn=plan, mode="DRILL")[
        "recoveryPlanExecution"]["recoveryPlanExecutionArn"]
    sim.advance(60)
    assert _statuses(drs, arn) == ["WAITING", "NOT_STARTED"]

    cancelled = drs.cancel_recovery_plan_execution(recoveryPlanExecutionArn=arn)["recoveryPlanExecution"]
    assert cancelled["status"] == "CANCELLED"
    sim.advance(1800)
    assert _execution(drs, arn)["status"] == "CANCELLED"
    assert _statuses(drs, arn) == ["SKIPPED", "SKIPPED"]
    assert drs.describe_jobs()["items"] == []
    (server,) = drs.describe_source_servers(filters={"sourceServerIDs": [sid]})["items"]
    assert server["lastLaunchResult"] == "NOT_STARTED"
    with pytest.raises(drs.exceptions.ConflictException):
        drs.cancel_recovery_plan_execution(recoveryPlanExecutionArn=arn)


def test_cancel_during_a_server_step_lets_its_job_finish_and_records_the_step_result(sim, estate):
    drs = sim.client("drs")
    sid = estate["servers"]["db-01"]["source_server_id"]
    plan = drs.create_recovery_plan(name="launch-then-wait")["recoveryPlan"]["recoveryPlanArn"]
    drs.create_recovery_plan_step(recoveryPlanArn=plan, stepName="launch",
                                  configuration=_server_step(estate, **{"db-01": "CRITICAL"}))
    drs.create_recovery_plan_step(recoveryPlanArn=plan, stepName="pause", configuration=_wait_step(10))
    arn = drs.start_recovery_plan_execution(recoveryPlanArn=plan, mode="DRILL")[
        "recoveryPlanExecution"]["recoveryPlanExecutionArn"]
    assert _statuses(drs, arn) == ["EXECUTING", "NOT_STARTED"]
    job_id = _step_job(_steps(drs, arn)[0])

    assert drs.cancel_recovery_plan_execution(recoveryPlanExecutionArn=arn)["recoveryPlanExecution"][
        "status"] == "CANCELLED"
    # DRS cannot cancel a recovery job: it runs to its end, and the step reports how it ended instead of
    # staying EXECUTING forever; the steps after it never run.
    job = sim.run_job(drs, job_id, step=POLL)
    assert [(p["sourceServerID"], p["launchStatus"]) for p in job["participatingServers"]] == [(sid, "LAUNCHED")]
    sim.advance(1800)
    assert _statuses(drs, arn) == ["COMPLETED", "SKIPPED"]
    assert _execution(drs, arn)["status"] == "CANCELLED"
    assert [j["jobID"] for j in drs.describe_jobs()["items"]] == [job_id]


def test_a_recovery_plan_has_at_most_20_steps(sim, estate):
    drs = sim.client("drs")
    plan = drs.create_recovery_plan(name="long")["recoveryPlan"]["recoveryPlanArn"]
    for index in range(20):
        drs.create_recovery_plan_step(recoveryPlanArn=plan, stepName=f"pause-{index}", configuration=_wait_step(1))
    with pytest.raises(drs.exceptions.ServiceQuotaExceededException) as caught:
        drs.create_recovery_plan_step(recoveryPlanArn=plan, stepName="one-too-many", configuration=_wait_step(1))
    assert caught.value.response["quotaCode"] == "recovery-plan-steps"
    steps = drs.list_recovery_plan_steps(recoveryPlanArn=plan)["recoveryPlanSteps"]
    assert [s["stepOrder"] for s in steps] == list(range(1, 21))
    assert "one-too-many" not in {s["stepName"] for s in steps}
