"""drs_source_server_info and drs_job_info against the simulator (every filter, the extras they can include),
and the read-only modules in check mode."""
import datetime

from simlib import small_estate

from .helpers import assert_names_and_remediation, assert_no_mutation, drs, jobs, launch_config, pairs_of

STAGING = "444444444444"


def _sim_now(sim):
    now = datetime.datetime.fromisoformat(sim.control("GET", "clock")["simulated_time"]).astimezone(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def test_source_server_info_filters(sim, play):
    # db-01, db-02 in wave 1; app-01, app-02 in wave 2; app-02 replicates through a staging account
    summary = sim.load_estate(small_estate(4, 2, **{"app-02": {"staging_account": STAGING}}))
    servers = summary["servers"]
    db1 = servers["db-01"]
    run = play.run([
        drs("drs_launch_config", "configure", servers=pairs_of(summary, ["db-01"])),
        drs("drs_source_server_info", "all"),
        drs("drs_source_server_info", "by_id", source_server_ids=[db1["source_server_id"]],
            include_launch_configuration=True, include_raw=True),
        drs("drs_source_server_info", "staged", staging_account_ids=[STAGING]),
        drs("drs_source_server_info", "failover", replication_direction="FAILOVER"),
        drs("drs_source_server_info", "failback", replication_direction="FAILBACK"),
        drs("drs_source_server_info", "wave_2", tags={"drs:wave": 2}),
        drs("drs_source_server_info", "wave_2_app_01", tags={"drs:wave": "2", "Name": "app-01"}),
    ])
    listed = run.ok("all")["source_servers"]
    assert [s["name"] for s in listed] == ["app-01", "app-02", "db-01", "db-02"]  # sorted by name
    for item in listed:
        expected = servers[item["name"]]
        assert item["source_server_id"] == expected["source_server_id"]
        assert item["arn"] == expected["source_server_arn"]
        assert item["source_instance_id"] == expected["source_instance_id"]
        assert item["source_private_ip"] == expected["source_private_ip"]
        assert item["replication_direction"] == "FAILOVER"
        assert item["replication_state"] == "CONTINUOUS" and item["lag_seconds"] == 5.0
        assert item["origin_region"] == "us-east-1" and item["origin_account_id"] == "123456789012"
        assert item["tags"] == {"Name": item["name"], "drs:wave": str(expected["wave"])}
        assert item["last_launch_result"] == "NOT_STARTED" and item["recovery_instance_id"] is None
        assert "launch_configuration" not in item and "raw" not in item
        assert item["staging_account_id"] == (STAGING if item["name"] == "app-02" else None)

    by_id = run.ok("by_id")["source_servers"]
    assert len(by_id) == 1 and by_id[0]["source_server_id"] == db1["source_server_id"]
    expected_config = launch_config(sim, db1["source_server_id"])
    got = by_id[0]["launch_configuration"]
    assert got["launchIntoInstanceProperties"] == {"launchIntoEC2InstanceID": db1["target_instance_id"]}
    assert {k: got[k] for k in expected_config} == expected_config
    raw = by_id[0]["raw"]
    assert raw["sourceServerID"] == db1["source_server_id"] and raw["dataReplicationInfo"]["dataReplicationState"] == "CONTINUOUS"

    assert [s["name"] for s in run.ok("staged")["source_servers"]] == ["app-02"]
    assert len(run.ok("failover")["source_servers"]) == 4
    assert run.ok("failback")["source_servers"] == []
    assert [s["name"] for s in run.ok("wave_2")["source_servers"]] == ["app-01", "app-02"]
    assert [s["name"] for s in run.ok("wave_2_app_01")["source_servers"]] == ["app-01"]
    assert all(r["operation"] == "UpdateLaunchConfiguration" for r in sim.requests(mutating="true"))


def test_job_info(sim, play):
    summary = sim.load_estate(small_estate(3, 1))
    pairs = pairs_of(summary)
    first = play.run([
        drs("drs_launch_config", "configure", servers=pairs),
        drs("drs_recovery", "wave1", servers=pairs[:2], execution_id="exec-A", wave="1", poll_interval=0.2),
    ])
    job_a = first.ok("wave1")["started_jobs"][0]
    middle = _sim_now(sim)
    sim.advance(120)
    sim.add_fault(type="launch_failure", source_server_ids=[pairs[2]["source_server_id"]], message="no capacity left")
    run = play.run([
        drs("drs_recovery", "wave2", servers=pairs[2:], execution_id="exec-B", wave="2", poll_interval=0.2,
            register="wave2", ignore_errors=True),
        drs("drs_job_info", "by_id", job_ids=[job_a]),
        drs("drs_job_info", "exec_a", execution_id="exec-A"),
        drs("drs_job_info", "exec_b", execution_id="exec-B"),
        drs("drs_job_info", "exec_a_wave_2", execution_id="exec-A", wave="2"),
        drs("drs_job_info", "exec_b_wave_2", execution_id="exec-B", wave="2"),
        drs("drs_job_info", "exec_a_other_job", execution_id="exec-A", job_ids="{{ wave2.started_jobs }}"),
        drs("drs_job_info", "since_middle", from_date=middle),
        drs("drs_job_info", "since_2000", from_date="2000-01-01T00:00:00Z"),
        drs("drs_job_info", "with_log", job_ids=[job_a], include_log=True),
        drs("drs_job_info", "wave_alone", wave="1", ignore_errors=True),
    ])
    job_b = run.failed("wave2")["started_jobs"][0]

    by_id = run.ok("by_id")["jobs"]
    assert [j["job_id"] for j in by_id] == [job_a]
    job = by_id[0]
    assert job["status"] == "COMPLETED" and job["type"] == "LAUNCH" and job["initiated_by"] == "START_RECOVERY"
    assert job["tags"] == {"elasticdr:execution-id": "exec-A", "elasticdr:wave": "1", "elasticdr:mode": "recovery"}
    assert job["counts"]["launched"] == 2 and job["created"] and job["ended"] and "log" not in job
    assert sorted(s["source_server_id"] for s in job["servers"]) == sorted(p["source_server_id"] for p in pairs[:2])
    assert all(s["launch_status"] == "LAUNCHED" and s["recovery_instance_id"] for s in job["servers"])

    assert [j["job_id"] for j in run.ok("exec_a")["jobs"]] == [job_a]
    exec_b = run.ok("exec_b")["jobs"]
    assert [j["job_id"] for j in exec_b] == [job_b]
    failed_server = exec_b[0]["servers"][0]
    assert failed_server["launch_status"] == "FAILED"  # the reason comes from the log even without include_log
    assert failed_server["error"]["event"] == "LAUNCH_FAILED" and "no capacity left" in failed_server["error"]["raw_error"]
    assert "log" not in exec_b[0]
    assert run.ok("exec_a_wave_2")["jobs"] == []
    assert [j["job_id"] for j in run.ok("exec_b_wave_2")["jobs"]] == [job_b]
    assert run.ok("exec_a_other_job")["jobs"] == []
    assert [j["job_id"] for j in run.ok("since_middle")["jobs"]] == [job_b]
    assert [j["job_id"] for j in run.ok("since_2000")["jobs"]] == [job_a, job_b]  # oldest first

    log = run.ok("with_log")["jobs"][0]["log"]
    events = [item["event"] for item in log]
    assert events[0] == "JOB_START" and events[-1] == "JOB_END"
    assert events.count("LAUNCH_START") == 2
    assert_names_and_remediation(run.failed("wave_alone"), "wave needs execution_id")


def test_from_date_in_whole_seconds_includes_that_second(sim, play):
    """from_date '...T10:00:05Z' must include a job created at 10:00:05.123Z ("at or after")."""
    summary = sim.load_estate(small_estate(1, 1))
    pairs = pairs_of(summary)
    first = play.run([drs("drs_recovery", "recover", servers=pairs, poll_interval=0.2, wait=False,
                          execution_id="exec-sec")])
    job_id = first.ok("recover")["started_jobs"][0]
    created = jobs(sim, job_ids=[job_id])[0]["creationDateTime"]
    whole_second = created[:19] + "Z"
    # the same second written in another time zone
    in_utc = datetime.datetime.strptime(whole_second, "%Y-%m-%dT%H:%M:%SZ")
    offset = (in_utc + datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S") + "+02:00"
    one_second_later = (in_utc + datetime.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    run = play.run([
        drs("drs_job_info", "same_second", from_date=whole_second),
        drs("drs_job_info", "exec_same_second", execution_id="exec-sec", from_date=whole_second),
        drs("drs_job_info", "bad_date", from_date="yesterday", ignore_errors=True),
        drs("drs_job_info", "offset_date", from_date=offset),
        drs("drs_job_info", "one_second_later", from_date=one_second_later),
    ])
    assert [j["job_id"] for j in run.ok("same_second")["jobs"]] == [job_id], created
    assert [j["job_id"] for j in run.ok("exec_same_second")["jobs"]] == [job_id], created
    assert_names_and_remediation(run.failed("bad_date"), "from_date", "yesterday")
    assert [j["job_id"] for j in run.ok("offset_date")["jobs"]] == [job_id], (offset, created)
    assert run.ok("one_second_later")["jobs"] == []


def test_read_only_modules_in_check_mode(sim, play):
    summary = sim.load_estate(small_estate(3, 1))
    pairs = pairs_of(summary)
    done = play.run([
        drs("drs_launch_config", "configure", servers=pairs),
        drs("drs_recovery", "recover", servers=pairs, execution_id="exec-ro", poll_interval=0.2),
    ])
    job_id = done.ok("recover")["started_jobs"][0]
    sim.clear_requests()
    run = play.run([
        drs("drs_instance_match", "match", register="match"),
        drs("drs_ip_validate", "ips", servers="{{ match.pairs }}", expect="both"),
        drs("drs_source_server_info", "servers", include_launch_configuration=True),
        drs("drs_job_info", "jobs", execution_id="exec-ro", include_log=True),
    ], check=True)
    assert len(run.ok("match")["pairs"]) == 3
    assert run.ok("ips")["preservation_rate"] == 100.0
    assert all(s["last_launch_result"] == "SUCCEEDED" for s in run.ok("servers")["source_servers"])
    assert [j["job_id"] for j in run.ok("jobs")["jobs"]] == [job_id]
    assert all(r["changed"] is False for r in (run[n].result for n in ("match", "ips", "servers", "jobs")))
    assert_no_mutation(sim, "read-only modules in --check")
    assert len(sim.requests()) > 0  # they did read
