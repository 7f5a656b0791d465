"""drs_recovery against the simulator: a recovery into the launch-into targets end to end (targets keep their
instance IDs and private IPs, volumes swapped, DRS records), check mode, adoption on rerun, stopping running
targets, launch failures and retries, timeouts, drills without waiting, job splitting, and refusals."""
import time

from simlib import small_estate

from .helpers import (assert_names_and_remediation, assert_no_mutation, attached_volumes, drs, instance, jobs,
                      launch_into_id, launch_config, mutating, operations, pairs_of, recovery_instances,
                      source_servers, state_tables, tags_of)

UNKNOWN_SERVER = "s-0000000000000000a"
MISSING_INSTANCE = "i-0123456789abcdef0"


def _by_name(result):
    return {s["name"]: s for s in result["servers"]}


def test_recovery_end_to_end_check_mode_and_adoption(sim, play):
    summary = sim.load_estate(small_estate(3, 1))
    servers = summary["servers"]
    targets = {n: s["target_instance_id"] for n, s in servers.items()}
    before = {n: instance(sim, t) for n, t in targets.items()}
    tasks = [
        drs("drs_instance_match", "match", register="match"),
        drs("drs_launch_config", "configure", servers="{{ match.pairs }}"),
        drs("drs_recovery", "recover", servers="{{ match.pairs }}", execution_id="exec-e2e", wave="1",
            poll_interval=0.2),
    ]

    sim.clear_requests()
    check = play.run(tasks, check=True)
    predicted = check.ok("recover")
    assert predicted["changed"] is True
    assert {s["name"]: s["launch_status"] for s in predicted["servers"]} == {n: "WOULD_LAUNCH" for n in servers}
    assert predicted["started_jobs"] == [] and predicted["adopted_jobs"] == [] and predicted["stopped_targets"] == []
    assert_no_mutation(sim, "drs_recovery --check")
    assert jobs(sim) == []

    run = play.run(tasks + [
        drs("drs_ip_validate", "ips", servers="{{ match.pairs }}", expect="both"),
        drs("drs_recovery", "rerun", servers="{{ match.pairs }}", execution_id="exec-e2e", wave="1", poll_interval=0.2),
    ])
    result = run.ok("recover")
    assert result["changed"] is True and result["timed_out"] is False and result["in_flight"] == []
    assert result["counts"] == {"launched": 3, "failed": 0, "in_progress": 0, "pending": 0, "terminated": 0}
    assert len(result["started_jobs"]) == 1 and result["adopted_jobs"] == []
    assert result["polls"] >= 1 and result["progress"][-1]["progress"] == 100.0
    job_id = result["started_jobs"][0]
    for name, entry in _by_name(result).items():
        assert entry["launch_status"] == "LAUNCHED" and entry["error"] is None and entry["adopted"] is False
        assert entry["recovery_instance_id"] == targets[name] == entry["target_instance_id"]
        assert entry["job_id"] == job_id and entry["replication_state"] == "CONTINUOUS"

    # AWS state: the targets themselves are the recovered servers
    for name, target_id in targets.items():
        now = instance(sim, target_id)
        assert now["State"]["Name"] == "running"
        assert now["PrivateIpAddress"] == before[name]["PrivateIpAddress"] == servers[name]["source_private_ip"]
        assert [n["NetworkInterfaceId"] for n in now["NetworkInterfaces"]] == [
            n["NetworkInterfaceId"] for n in before[name]["NetworkInterfaces"]]
        volumes = attached_volumes(sim, target_id)
        assert volumes and all(tags_of(v).get("drs:recovered-from") == servers[name]["source_server_id"] for v in volumes)
        assert all(tags_of(v).get("drs:job-id") == job_id for v in volumes)
    records = {r["sourceServerID"]: r for r in recovery_instances(sim)}
    for name, server in servers.items():
        record = records[server["source_server_id"]]
        assert record["ec2InstanceID"] == targets[name] and record["isDrill"] is False
        assert record["jobID"] == job_id
    assert all(s["lastLaunchResult"] == "SUCCEEDED" for s in source_servers(sim))
    job = jobs(sim, job_ids=[job_id])[0]
    assert job["initiatedBy"] == "START_RECOVERY" and job["status"] == "COMPLETED"
    assert job["tags"] == {"elasticdr:execution-id": "exec-e2e", "elasticdr:wave": "1", "elasticdr:mode": "recovery"}

    ips = run.ok("ips")
    assert ips["preservation_rate"] == 100.0 and ips["mismatches"] == []

    rerun = run.ok("rerun")
    assert rerun["changed"] is False and rerun["started_jobs"] == [] and rerun["adopted_jobs"] == [job_id]
    assert all(s["adopted"] and s["launch_status"] == "LAUNCHED" for s in rerun["servers"])
    assert len(operations(sim, "StartRecovery")) == 1  # the rerun launched nothing
    assert sorted(c["operation"] for c in mutating(sim)) == ["StartRecovery"] + ["UpdateLaunchConfiguration"] * 3


def test_stop_targets(sim, play):
    summary = sim.load_estate(small_estate(3, 1, **{"db-01": {"target": {"state": "running"}}}))
    t1 = summary["servers"]["db-01"]["target_instance_id"]
    # without target_instance_id the target is read from each server's launch configuration
    ids_only = [{"source_server_id": p["source_server_id"], "name": p["name"]} for p in pairs_of(summary)]
    configure = play.run([drs("drs_launch_config", "configure", servers=pairs_of(summary))])
    configure.ok("configure")
    assert instance(sim, t1)["State"]["Name"] == "running"

    sim.clear_requests()
    refused = play.run([drs("drs_recovery", "no_stop", servers=ids_only, stop_targets=False, poll_interval=0.2,
                            ignore_errors=True)])
    result = refused.failed("no_stop")
    assert_names_and_remediation(result, summary["servers"]["db-01"]["source_server_id"], t1, "running",
                                 "stop_targets=true")
    assert result["error"]["details"]["problems"][0]["source_server_id"] == summary["servers"]["db-01"]["source_server_id"]
    assert_no_mutation(sim, "refused drs_recovery")

    check = play.run([drs("drs_recovery", "recover", servers=ids_only, poll_interval=0.2)], check=True)
    predicted = check.ok("recover")
    assert predicted["stopped_targets"] == [t1] and predicted["changed"] is True
    assert_no_mutation(sim, "drs_recovery --check")
    assert instance(sim, t1)["State"]["Name"] == "running"

    run = play.run([drs("drs_recovery", "recover", servers=ids_only, poll_interval=0.2)])
    result = run.ok("recover")
    assert result["stopped_targets"] == [t1]
    assert result["counts"]["launched"] == 3
    assert _by_name(result)["db-01"]["target_instance_id"] == t1
    calls = mutating(sim)
    stops = [c for c in calls if c["operation"] == "StopInstances"]
    starts = [c for c in calls if c["operation"] == "StartRecovery"]
    assert len(stops) == 1 and stops[0]["region"] == "us-west-2" and len(starts) == 1
    assert stops[0]["seq"] < starts[0]["seq"]  # stopped before the launch, which then succeeded
    assert instance(sim, t1)["State"]["Name"] == "running"  # launched into and started again


def test_launch_failure_then_retry_failed(sim, play):
    summary = sim.load_estate(small_estate(3, 1))
    s1 = summary["servers"]["db-01"]["source_server_id"]
    t1 = summary["servers"]["db-01"]["target_instance_id"]
    sim.add_fault(type="launch_failure", source_server_ids=[s1], message="Insufficient capacity in us-west-2a")
    pairs = pairs_of(summary)
    first = play.run([
        drs("drs_launch_config", "configure", servers=pairs),
        drs("drs_recovery", "recover", servers=pairs, execution_id="exec-fail", poll_interval=0.2, ignore_errors=True),
        drs("drs_recovery", "keep_failed", servers=pairs, execution_id="exec-fail", poll_interval=0.2,
            retry_failed=False, fail_on_launch_failure=False),
    ])
    failed = first.failed("recover")
    assert_names_and_remediation(failed, "1 of 3 server(s) failed to launch", "db-01", "Insufficient capacity")
    assert failed["error"]["error"] == "RecoveryError"
    servers = _by_name(failed)
    assert servers["db-01"]["launch_status"] == "FAILED"
    error = servers["db-01"]["error"]
    assert error["details"]["raw_error"] and "Insufficient capacity" in error["details"]["raw_error"]
    assert error["details"]["event"] == "LAUNCH_FAILED" and "same execution id" in error["remediation"]
    assert servers["db-02"]["launch_status"] == servers["db-03"]["launch_status"] == "LAUNCHED"
    assert failed["counts"]["failed"] == 1 and failed["counts"]["launched"] == 2
    job_id = failed["started_jobs"][0]

    kept = first.ok("keep_failed")  # succeeds with the failure reported, launching nothing
    assert kept["changed"] is False and kept["started_jobs"] == [] and kept["adopted_jobs"] == [job_id]
    assert _by_name(kept)["db-01"]["launch_status"] == "FAILED"
    assert "Insufficient capacity" in _by_name(kept)["db-01"]["error"]["details"]["raw_error"]
    assert len(operations(sim, "StartRecovery")) == 1
    assert instance(sim, t1)["State"]["Name"] == "stopped"  # the failed launch left the target alone

    sim.control("DELETE", "faults")
    retried = play.run([drs("drs_recovery", "retry", servers=pairs, execution_id="exec-fail", poll_interval=0.2)])
    result = retried.ok("retry")
    assert result["changed"] is True and len(result["started_jobs"]) == 1 and result["adopted_jobs"] == [job_id]
    assert {n: (s["launch_status"], s["adopted"]) for n, s in _by_name(result).items()} == {
        "db-01": ("LAUNCHED", False), "db-02": ("LAUNCHED", True), "db-03": ("LAUNCHED", True)}
    new_job = jobs(sim, job_ids=result["started_jobs"])[0]
    assert [p["sourceServerID"] for p in new_job["participatingServers"]] == [s1]  # only the failed server
    assert len(operations(sim, "StartRecovery")) == 2
    assert instance(sim, t1)["State"]["Name"] == "running"


def test_timeout_then_rerun_adopts_the_running_job(sim, play):
    summary = sim.load_estate(small_estate(3, 1))
    sim.add_fault(type="job_never_ends")
    pairs = pairs_of(summary)
    run = play.run([
        drs("drs_launch_config", "configure", servers=pairs),
        drs("drs_recovery", "recover", servers=pairs, execution_id="exec-slow", wave="2", wait_timeout=1,
            poll_interval=0.2, ignore_errors=True),
        drs("drs_recovery", "rerun", servers=pairs, execution_id="exec-slow", wave="2", wait_timeout=1,
            poll_interval=0.2, ignore_errors=True),
    ])
    first = run.failed("recover")
    assert first["timed_out"] is True
    ids = sorted(p["source_server_id"] for p in pairs)
    assert first["in_flight"] == ids
    assert_names_and_remediation(first, "still in flight after 1 s", ids[0], "same execution id")
    assert first["error"]["error"] == "JobTimeoutError"
    assert 2 <= first["polls"] <= 8, first["polls"]  # polled every 0.2 s for about 1 s (not once: default 30 s)
    job_id = first["started_jobs"][0]

    rerun = run.failed("rerun")
    assert rerun["timed_out"] is True and rerun["started_jobs"] == [] and rerun["adopted_jobs"] == [job_id]
    assert rerun["in_flight"] == ids
    assert len(operations(sim, "StartRecovery")) == 1  # adopted, not launched again
    assert jobs(sim, job_ids=[job_id])[0]["status"] == "STARTED"


def test_drill_without_waiting_split_into_jobs(sim, play):
    summary = sim.load_estate(small_estate(5, 1))
    pairs = pairs_of(summary)
    run = play.run([
        drs("drs_launch_config", "configure", servers=pairs),
        drs("drs_recovery", "drill", servers=pairs, mode="drill", servers_per_job=2, wait=False,
            execution_id="exec-drill", wave="3"),
    ])
    result = run.ok("drill")
    assert result["changed"] is True and len(result["started_jobs"]) == 3
    assert result["polls"] == 0 and result["progress"] == [] and result["timed_out"] is False
    assert all(s["launch_status"] == "PENDING" for s in result["servers"])
    assert sorted(result["in_flight"]) == sorted(p["source_server_id"] for p in pairs)
    started = jobs(sim, job_ids=result["started_jobs"])
    assert sorted(len(j["participatingServers"]) for j in started) == [1, 2, 2]
    for job in started:
        assert job["initiatedBy"] == "START_DRILL"
        assert job["tags"] == {"elasticdr:execution-id": "exec-drill", "elasticdr:wave": "3", "elasticdr:mode": "drill"}
    assert len(operations(sim, "StartRecovery")) == 3
    deadline = time.time() + 30
    while time.time() < deadline and any(j["status"] != "COMPLETED" for j in jobs(sim, job_ids=result["started_jobs"])):
        time.sleep(0.2)
    records = recovery_instances(sim)
    assert len(records) == 5 and all(r["isDrill"] for r in records)
    assert {r["ec2InstanceID"] for r in records} == {p["target_instance_id"] for p in pairs}


def test_refusals_come_before_any_change(sim, play):
    summary = sim.load_estate(small_estate(3, 1, **{"db-03": {"target": {"tag": False}}}))
    db1, db2, db3 = pairs_of(summary)
    sim.clear_requests()
    run = play.run([
        drs("drs_recovery", "unknown", servers=[db1, {"source_server_id": UNKNOWN_SERVER}], ignore_errors=True),
        drs("drs_recovery", "duplicate", servers=[db1, db1], ignore_errors=True),
        drs("drs_recovery", "untagged", servers=[db1, db3], ignore_errors=True),
        drs("drs_recovery", "missing_target", servers=[dict(db2, target_instance_id=MISSING_INSTANCE)],
            ignore_errors=True),
        drs("drs_recovery", "no_id", servers=[{"name": "nameless"}], ignore_errors=True),
        drs("drs_recovery", "per_job", servers=[db1], servers_per_job=0, ignore_errors=True),
        drs("drs_recovery", "poll", servers=[db1], poll_interval=0, ignore_errors=True),
    ])
    assert_names_and_remediation(run.failed("unknown"), UNKNOWN_SERVER, "drs_source_server_info")
    assert_names_and_remediation(run.failed("duplicate"), db1["source_server_id"], "more than once")
    untagged = run.failed("untagged")
    assert_names_and_remediation(untagged, db3["source_server_id"], db3["target_instance_id"],
                                 "not tagged AWSDRS=AllowLaunchingIntoThisInstance")
    assert untagged["error"]["server"] == db3["source_server_id"]
    assert_names_and_remediation(run.failed("missing_target"), db2["source_server_id"], MISSING_INSTANCE,
                                 "does not exist")
    assert_names_and_remediation(run.failed("no_id"), "nameless", "source_server_id")
    assert_names_and_remediation(run.failed("per_job"), "servers_per_job")
    assert_names_and_remediation(run.failed("poll"), "poll_interval")
    assert_no_mutation(sim, "refused drs_recovery")
    assert jobs(sim) == []
    assert all(launch_into_id(launch_config(sim, s["source_server_id"])) is None for s in (db1, db2, db3))


def test_ips_checked_in_the_same_run_and_progress_shown_between_waits(sim, play):
    summary = sim.load_estate(small_estate(3, 1))
    pairs = [dict(p, target_private_ip=summary["servers"][p["name"]]["source_private_ip"]) for p in pairs_of(summary)]
    wrong = dict(pairs[2], target_private_ip="10.99.99.99")  # what the check must catch
    sim.set_config(durations={"launch": 10000})  # a job of about 2 s at the integration time scale
    try:
        run = play.run([
            drs("drs_launch_config", "configure", servers=pairs),
            drs("drs_recovery", "recover", servers=pairs[:2] + [wrong], execution_id="exec-slices", wave="1",
                poll_interval=0.1, return_after=0.4, validate_ips="target"),
        ])
    finally:
        sim.set_config(durations={"launch": 240})
    result = run.ok("recover")
    assert result["counts"]["launched"] == 3 and result["waiting"] is False and result["timed_out"] is False
    # Several module calls waited in turn (a progress line between them); only the first one launched.
    assert len(operations(sim, "StartRecovery")) == 1
    assert len(result["started_jobs"]) == 1 and result["adopted_jobs"] == []
    assert all(s["adopted"] is False for s in result["servers"])
    assert "drs_recovery wave 1: 0/3 launched, 3 in progress, 0 failed (0%)" in run.stdout, run.output
    assert "drs_recovery wave 1: 3/3 launched, 0 in progress, 0 failed (100%)" in run.stdout, run.output
    assert result["polls"] >= 5, result["polls"]  # every 0.1 s for about 2 s, across the calls
    checked = result["ip_validation"]
    assert len(checked["results"]) == 3 and checked["preservation_rate"] == 66.67
    (mismatch,) = checked["mismatches"]
    assert mismatch["name"] == wrong["name"] and mismatch["instance_id"] == wrong["target_instance_id"]
    assert mismatch["error"]["details"]["expected_ip"] == "10.99.99.99"
    assert checked["captured"][wrong["target_instance_id"]] == instance(sim, wrong["target_instance_id"])[
        "PrivateIpAddress"] == pairs[2]["target_private_ip"]


def test_return_after_returns_waiting_and_a_missing_expected_ip_is_refused_before_any_change(sim, play):
    summary = sim.load_estate(small_estate(2, 1))
    pairs = pairs_of(summary)
    sim.add_fault(type="job_never_ends")
    sim.clear_requests()
    refused = play.run([drs("drs_recovery", "no_ip", servers=pairs, validate_ips="target", ignore_errors=True)])
    assert_names_and_remediation(refused.failed("no_ip"), "No expected target private IP", pairs[0]["name"])
    assert_no_mutation(sim, "drs_recovery with a missing expected IP")

    # Without an execution id the action plugin runs the module once: it returns after 0.5 s, not failing.
    run = play.run([drs("drs_recovery", "slice", servers=pairs, poll_interval=0.1, return_after=0.5,
                        wait_timeout=60)])
    result = run.ok("slice")
    assert result["waiting"] is True and result["timed_out"] is False and result["changed"] is True
    assert sorted(result["in_flight"]) == sorted(p["source_server_id"] for p in pairs)
    assert "ip_validation" not in result
    assert jobs(sim, job_ids=result["started_jobs"])[0]["status"] == "STARTED"


def test_the_run_that_sees_the_jobs_end_records_the_wave(sim, play):
    """record: the wave is written to the execution record by the module run that sees its jobs end (a later slice
    than the one that launched), with the next wave marked running; check mode plans the same record and writes
    nothing; record without execution_id is refused before any change."""
    summary = sim.load_estate(small_estate(2, 1))
    store = state_tables(sim, "it-rec")
    record = {"protection_group": "shop", "table_prefix": "it-rec", "match": "{{ match }}", "next_wave": 2}
    start = drs("drs_execution", "start", protection_group="shop", table_prefix="it-rec", execution_id="exec-rec",
                state="started", execution_type="FAILOVER", waves=[1, 2], first_wave_running=True)
    tasks = [drs("drs_instance_match", "match", register="match"),
             drs("drs_launch_config", "configure", servers="{{ match.pairs }}"),
             drs("drs_recovery", "recover", servers="{{ match.pairs }}", execution_id="exec-rec", wave="1",
                 poll_interval=0.1, return_after=0.4, validate_ips="target", record=record)]

    sim.clear_requests()
    checked = play.run([start] + tasks, check=True).ok("recover")
    assert checked["record"]["wave_status"] == "COMPLETED" and checked["record"]["next_wave_running"] == 2
    assert sorted(s["name"] for s in checked["record"]["servers"]) == sorted(summary["servers"])
    assert_no_mutation(sim, "drs_recovery --check with record")
    assert store.get_execution("exec-rec")["execution"] is None

    sim.set_config(durations={"launch": 10000})  # a job of about 2 s: later slices adopt it, one sees it end
    try:
        run = play.run([start] + tasks + [
            drs("drs_recovery", "unrecorded", servers="{{ match.pairs }}", record=record, ignore_errors=True)])
    finally:
        sim.set_config(durations={"launch": 240})
    result = run.ok("recover")
    assert result["counts"]["launched"] == 2 and len(operations(sim, "StartRecovery")) == 1
    assert "drs_recovery wave 1: 0/2 launched, 2 in progress, 0 failed (0%)" in run.stdout, run.output
    recorded = result["record"]
    assert recorded["wave_status"] == "COMPLETED" and recorded["next_wave_running"] == 2
    assert recorded["summary"][0].startswith("Wave 1: COMPLETED - 2 launched, 0 failed, 0 not matched, 0 IP mismatches")
    execution = store.get_execution("exec-rec")
    assert execution["waves"][1]["status"] == "COMPLETED" and execution["waves"][2]["status"] == "RUNNING"
    assert execution["waves"][1]["job_ids"] == result["started_jobs"]
    items = execution["servers"][1]
    assert sorted(items) == sorted(summary["servers"])
    for name, item in items.items():
        server = summary["servers"][name]
        assert item["launch_status"] == "LAUNCHED" and item["ip_preserved"] is True
        assert item["recovery_instance_id"] == server["target_instance_id"]
        assert item["recovery_private_ip"] == instance(sim, server["target_instance_id"])["PrivateIpAddress"]
    assert_names_and_remediation(run.failed("unrecorded"), "record needs execution_id and wave")
    assert len(operations(sim, "StartRecovery")) == 1  # the refused call launched nothing
