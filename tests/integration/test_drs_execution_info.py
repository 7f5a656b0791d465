"""drs_execution_info against the simulator's DynamoDB, on records written with StateStore: a multi-wave execution
read back in order with its servers as recorded and counted, executions listed by status (newest first, by
protection group), a missing execution with and without fail_if_missing, option refusals, read-only (check mode
too), and the standard connection options from the action group (for drs_instance_pair as well)."""
import datetime

from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import iso

from .helpers import ACCESS_KEY, SECRET_KEY, assert_names_and_remediation, assert_no_mutation, drs, state_tables

GROUP = "shop"
JOB_1 = "drsjob-0000000000000000a"
JOB_2 = "drsjob-0000000000000000b"


def _header(execution_id, status, started_at, group=GROUP, **extra):
    return dict({"execution_id": execution_id, "protection_group": group, "execution_type": "FAILOVER",
                 "status": status, "started_at": started_at, "primary_region": "us-east-1",
                 "recovery_region": "us-west-2", "is_drill": False}, **extra)


def _server(name, n, status, **extra):
    data = {"name": name, "source_server_id": f"s-{n:017x}", "target_instance_id": f"i-{0x100 + n:017x}",
            "target_private_ip": f"10.0.1.{n}", "launch_status": status}
    if status == "LAUNCHED":
        data.update({"recovery_instance_id": data["target_instance_id"], "recovery_private_ip": data["target_private_ip"],
                     "ip_preserved": True})
    data.update(extra)
    return data


def _write_estate_of_records(store):
    """exec-1: RUNNING, started an hour ago; wave 1 PARTIAL (3 servers, one failed), wave 2 RUNNING (2 servers).
    Other executions to list: exec-0 RUNNING (older), exec-2 COMPLETED, exec-9 RUNNING of another group."""
    started = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    store.put_execution(_header("exec-1", "RUNNING", iso(started), planned_waves=[1, 2], operator="tester"))
    store.put_wave("exec-1", {"wave": 2, "status": "RUNNING", "job_ids": [JOB_2], "started_at": iso(started)})
    store.put_wave("exec-1", {"wave": 1, "status": "PARTIAL", "job_ids": [JOB_1],
                              "started_at": "2026-06-15T15:00:00.000Z", "ended_at": "2026-06-15T15:09:30.500Z",
                              "counts": {"launched": 2, "failed": 1}})
    wave_1 = [_server("web-02", 2, "LAUNCHED", job_id=JOB_1), _server("app-01", 1, "LAUNCHED", job_id=JOB_1),
              _server("web-01", 3, "FAILED", job_id=JOB_1,
                      error={"error": "RecoveryError", "message": "LAUNCH_FAILED: target is running"})]
    wave_2 = [_server("db-02", 5, "IN_PROGRESS", job_id=JOB_2), _server("db-01", 4, "LAUNCHED", job_id=JOB_2)]
    store.put_servers("exec-1", 1, wave_1)
    store.put_servers("exec-1", 2, wave_2)
    store.put_execution(_header("exec-0", "RUNNING", "2026-06-01T10:00:00.000Z"))
    store.put_execution(_header("exec-2", "COMPLETED", "2026-06-10T10:00:00.000Z", ended_at="2026-06-10T11:00:00.000Z",
                                duration_seconds=3600))
    store.put_execution(_header("exec-9", "RUNNING", "2026-06-12T10:00:00.000Z", group="other"))
    return wave_1, wave_2


def test_multi_wave_record_listing_by_status_and_missing(sim, play):
    store = state_tables(sim)
    wave_1, wave_2 = _write_estate_of_records(store)
    sim.clear_requests()
    run = play.run([
        drs("drs_execution_info", "detail", execution_id="exec-1"),
        dict(drs("drs_execution_info", "detail_check", execution_id="exec-1", protection_group=GROUP), check_mode=True),
        drs("drs_execution_info", "running", status="RUNNING"),
        drs("drs_execution_info", "running_in_group", status="RUNNING", protection_group=GROUP),
        drs("drs_execution_info", "completed", status="COMPLETED"),
        drs("drs_execution_info", "none_cancelled", status="CANCELLED"),
        drs("drs_execution_info", "none_cancelled_strict", status="CANCELLED", protection_group=GROUP,
            fail_if_missing=True, ignore_errors=True),
        drs("drs_execution_info", "missing", execution_id="exec-404"),
        drs("drs_execution_info", "missing_strict", execution_id="exec-404", fail_if_missing=True, ignore_errors=True),
        drs("drs_execution_info", "other_group", execution_id="exec-9", protection_group=GROUP),
        drs("drs_execution_info", "other_group_strict", execution_id="exec-9", protection_group=GROUP,
            fail_if_missing=True, ignore_errors=True),
        drs("drs_execution_info", "both", execution_id="exec-1", status="RUNNING", ignore_errors=True),
        drs("drs_execution_info", "neither", ignore_errors=True),
    ])
    detail = run.ok("detail")
    assert detail["changed"] is False and detail["found"] is True
    execution = detail["execution"]
    assert (execution["execution_id"], execution["status"], execution["protection_group"]) == ("exec-1", "RUNNING", GROUP)
    assert execution["planned_waves"] == [1, 2] and execution["operator"] == "tester"
    assert "record_key" not in execution and "execution_status" not in execution
    assert [w["wave"] for w in detail["waves"]] == [1, 2]
    first, second = detail["waves"]
    assert (first["status"], first["job_ids"], first["counts"]) == ("PARTIAL", [JOB_1], {"launched": 2, "failed": 1})
    # every server as recorded (plus its wave number), sorted by name
    assert first["servers"] == [dict(s, wave=1) for s in sorted(wave_1, key=lambda s: s["name"])]
    assert second["servers"] == [dict(s, wave=2) for s in sorted(wave_2, key=lambda s: s["name"])]
    assert first["servers"][1]["name"] == "web-01" and first["servers"][1]["error"]["message"] == "LAUNCH_FAILED: target is running"

    summary = detail["summary"]
    assert summary["launch_status"] == {"FAILED": 1, "IN_PROGRESS": 1, "LAUNCHED": 3}
    assert (summary["servers"], summary["wave_count"], summary["status"]) == (5, 2, "RUNNING")
    assert summary["waves"][0] == {"wave": 1, "status": "PARTIAL", "servers": 3,
                                   "launch_status": {"FAILED": 1, "LAUNCHED": 2}, "duration_seconds": 570.5,
                                   "in_progress": False}
    assert summary["waves"][1]["launch_status"] == {"IN_PROGRESS": 1, "LAUNCHED": 1}
    assert summary["in_progress"] is True and 3600 <= summary["duration_seconds"] < 3600 + 300  # running: until now
    assert 3600 <= summary["waves"][1]["duration_seconds"] < 3600 + 300

    checked = run.ok("detail_check")
    assert checked["changed"] is False and checked["waves"] == detail["waves"]

    running = run.ok("running")
    assert running["found"] is True and [e["execution_id"] for e in running["executions"]] == ["exec-1", "exec-9", "exec-0"]
    assert all(e["status"] == "RUNNING" and "execution_status" not in e for e in running["executions"])
    assert [e["execution_id"] for e in run.ok("running_in_group")["executions"]] == ["exec-1", "exec-0"]
    completed = run.ok("completed")["executions"]
    assert [(e["execution_id"], e["duration_seconds"]) for e in completed] == [("exec-2", 3600)]
    none = run.ok("none_cancelled")
    assert none["found"] is False and none["executions"] == []
    assert_names_and_remediation(run.failed("none_cancelled_strict"), "No CANCELLED execution of protection group shop",
                                 "drs-orchestration-executions", "fail_if_missing=false")

    missing = run.ok("missing")
    assert missing["changed"] is False and missing["found"] is False
    assert not {"execution", "waves", "summary"} & set(missing)
    strict = run.failed("missing_strict")
    assert_names_and_remediation(strict, "No execution exec-404 in drs-orchestration-executions (us-west-2)",
                                 "drs_execution_id")
    assert strict["error"]["server"] == "exec-404"

    other = run.ok("other_group")
    assert other["found"] is False and any("belongs to protection group other, not shop" in w
                                           for w in run["other_group"]["warnings"])
    assert_names_and_remediation(run.failed("other_group_strict"), "exec-9", "belongs to protection group other")
    assert "mutually exclusive" in run.failed("both")["msg"]
    assert "one of the following is required: execution_id, status" in run.failed("neither")["msg"]
    assert_no_mutation(sim, "drs_execution_info only reads")


def test_connection_options_from_the_action_group(sim, play, tmp_path):
    """region, endpoint_url, access_key/secret_key, profile and debug_botocore_endpoint_logs reach both state-table
    modules from `module_defaults: group/elasticdr.orchestration.drs`, with nothing in the environment."""
    store = state_tables(sim)
    store.put_execution(_header("exec-1", "COMPLETED", "2026-06-15T15:00:00.000Z"))
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[simprofile]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n")
    connection = {"region": "us-west-2", "endpoint_url": sim.url}
    group = "group/elasticdr.orchestration.drs"
    new_pair = {"name": "web-01", "source_server_id": "s-00000000000000001", "target_instance_id": "i-00000000000000101"}
    plays = [
        {"name": "keys", "hosts": "localhost", "gather_facts": False, "connection": "local",
         "module_defaults": {group: dict(connection, access_key=ACCESS_KEY, secret_key=SECRET_KEY)},
         "tasks": [drs("drs_instance_pair", "pair", protection_group=GROUP, pairs=[new_pair],
                       debug_botocore_endpoint_logs=True),
                   drs("drs_execution_info", "info", execution_id="exec-1", debug_botocore_endpoint_logs=True)]},
        {"name": "profile", "hosts": "localhost", "gather_facts": False, "connection": "local",
         "module_defaults": {group: dict(connection, profile="simprofile")},
         "tasks": [drs("drs_instance_pair", "pair_by_profile", protection_group=GROUP, pairs=[new_pair]),
                   drs("drs_execution_info", "info_by_profile", execution_id="exec-1")]},
        {"name": "nothing", "hosts": "localhost", "gather_facts": False, "connection": "local",
         "tasks": [drs("drs_execution_info", "no_defaults", execution_id="exec-1", ignore_errors=True)]},
    ]
    run = play.run(plays=plays, credentials=False, endpoint=False, env={"AWS_SHARED_CREDENTIALS_FILE": str(credentials)})
    paired = run.ok("pair")
    assert paired["added"] == ["s-00000000000000001"] and isinstance(paired["resource_actions"], list)
    assert [p["source_server_id"] for p in store.get_pairs(GROUP)] == ["s-00000000000000001"]
    info = run.ok("info")
    assert info["found"] is True and info["execution"]["status"] == "COMPLETED"
    # amazon.aws fills resource_actions only for https://<service>. endpoints: its presence shows the option got through
    assert isinstance(info["resource_actions"], list) and "resource_actions" not in run.ok("info_by_profile")
    assert run.ok("pair_by_profile")["changed"] is False and "resource_actions" not in run.ok("pair_by_profile")
    assert run.ok("info_by_profile")["found"] is True
    assert "region" in run.failed("no_defaults")["msg"].lower()
