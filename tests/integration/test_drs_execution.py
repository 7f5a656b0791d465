"""drs_execution against the simulator's DynamoDB: start under the lock, record waves and servers, finish,
resume with the same id, refusal of a second execution naming the holder, stale-lease take-over only on
request, check mode with zero writes, and errors before any write."""
import time

from simlib import RECOVERY

from .helpers import assert_names_and_remediation, assert_no_mutation, drs, mutating, state_tables

PREFIX = "it-state"
COMMON = {"region": RECOVERY, "protection_group": "shop", "table_prefix": PREFIX}


def _tables(sim):
    """The state tables in the simulator; returns a raw DynamoDB client on them."""
    state_tables(sim, PREFIX)
    return sim.client("dynamodb", region=RECOVERY)


def _items(client, execution_id):
    items = client.query(TableName=f"{PREFIX}-executions", KeyConditionExpression="execution_id = :e",
                         ExpressionAttributeValues={":e": {"S": execution_id}})["Items"]
    return {i["record_key"]["S"]: i for i in items}


def _lock(client):
    item = client.get_item(TableName=f"{PREFIX}-instance-pairs",
                           Key={"protection_group": {"S": "shop"}, "source_server_id": {"S": "#LOCK"}}).get("Item")
    return item["holder"]["S"] if item else None


def test_execution_lifecycle_resume_and_lock(sim, play):
    client = _tables(sim)
    servers = [{"name": "db-01", "source_server_id": "s-0123456789abcdef0", "target_instance_id": "i-0123456789abcdef0",
                "target_private_ip": "10.10.0.11", "launch_status": "LAUNCHED", "job_id": "drsjob-0123456789abcdef0",
                "checks": [{"name": "ignored"}]},
               {"name": "db-02", "launch_status": "FAILED", "error": {"message": "LAUNCH_FAILED: boom"}}]
    run = play.run([
        drs("drs_execution", "start", **COMMON, execution_id="exec-1", state="started", execution_type="FAILOVER",
            waves=[1, 2], primary_region="us-east-1", operator="tester"),
        drs("drs_execution", "wave1", **COMMON, execution_id="exec-1", state="wave", wave=1, wave_status="PARTIAL",
            servers=servers, job_ids=["drsjob-0123456789abcdef0"], counts={"launched": 1, "failed": 1}),
        drs("drs_execution", "second", **COMMON, execution_id="exec-2", state="started", execution_type="FAILOVER",
            ignore_errors=True),
        drs("drs_execution", "resume", **COMMON, execution_id="exec-1", state="started", execution_type="FAILOVER"),
        drs("drs_execution", "wrong_type", **COMMON, execution_id="exec-1", state="started", execution_type="DRILL",
            ignore_errors=True),
        drs("drs_execution", "finish", **COMMON, execution_id="exec-1", state="finished", status="PARTIAL",
            error={"message": "1 server failed"}),
    ], module_defaults={})
    start = run.ok("start")
    assert start["changed"] is True and start["resumed"] is False
    refused = run.failed("second")
    assert_names_and_remediation(refused, "exec-1")
    assert refused["error"]["details"]["holder"] == "exec-1"
    resumed = run.ok("resume")
    assert resumed["resumed"] is True and resumed["wave_statuses"] == {"1": "PARTIAL"}
    assert resumed["completed_waves"] == []
    assert_names_and_remediation(run.failed("wrong_type"), "exec-1", "FAILOVER")
    assert run.ok("finish")["lock_released"] is True

    items = _items(client, "exec-1")
    header = items["EXECUTION"]
    assert header["execution_status"]["S"] == "PARTIAL" and header["operator"]["S"] == "tester"
    assert header["execution_type"]["S"] == "FAILOVER" and header["resume_count"]["N"] == "1"
    assert int(header["ttl"]["N"]) > time.time() + 89 * 86400
    wave = items["WAVE#0001"]
    assert wave["status"]["S"] == "PARTIAL" and [j["S"] for j in wave["job_ids"]["L"]] == ["drsjob-0123456789abcdef0"]
    db1 = items["SERVER#0001#db-01"]
    assert db1["target_private_ip"]["S"] == "10.10.0.11" and "checks" not in db1
    assert items["SERVER#0001#db-02"]["error"]["M"]["message"]["S"] == "LAUNCH_FAILED: boom"
    assert _lock(client) is None
    assert "exec-2" not in {k for k in _items(client, "exec-2")}  # the refused run wrote no record


def test_check_mode_makes_no_write_and_errors_come_before_writes(sim, play):
    client = _tables(sim)
    sim.clear_requests()
    run = play.run([
        drs("drs_execution", "start", **COMMON, execution_id="exec-9", state="started", execution_type="DRILL"),
    ], module_defaults={}, check=True)
    assert run.ok("start")["changed"] is True
    assert_no_mutation(sim, "check mode")
    assert _items(client, "exec-9") == {} and _lock(client) is None

    sim.clear_requests()
    run = play.run([
        drs("drs_execution", "no_type", **COMMON, execution_id="exec-9", state="started", ignore_errors=True),
        drs("drs_execution", "no_wave", **COMMON, execution_id="exec-9", state="wave", ignore_errors=True),
        drs("drs_execution", "not_started", **COMMON, execution_id="exec-9", state="wave", wave=1,
            wave_status="COMPLETED", ignore_errors=True),
        drs("drs_execution", "bad_ip", **COMMON, execution_id="exec-9", state="wave", wave=1, wave_status="RUNNING",
            servers=[{"name": "db-01", "target_private_ip": "999.1.1.1"}], ignore_errors=True),
        drs("drs_execution", "no_status", **COMMON, execution_id="exec-9", state="finished", ignore_errors=True),
        drs("drs_execution", "no_tables", region=RECOVERY, protection_group="shop", table_prefix="absent",
            execution_id="exec-9", state="started", execution_type="FAILOVER", ignore_errors=True),
    ], module_defaults={})
    assert "execution_type" in run.failed("no_type")["msg"]
    assert "wave" in run.failed("no_wave")["msg"]
    assert_names_and_remediation(run.failed("not_started"), "exec-9")
    assert "target_private_ip" in run.failed("bad_ip")["msg"]
    assert "status" in run.failed("no_status")["msg"]
    assert_names_and_remediation(run.failed("no_tables"), "absent-executions")
    assert mutating(sim, "dynamodb") == []


def test_stale_lock_is_taken_over_only_with_break_lock(sim, play):
    client = _tables(sim)
    run = play.run([
        drs("drs_execution", "crashed", **COMMON, execution_id="exec-1", state="started", execution_type="FAILOVER",
            lease_seconds=1),
    ], module_defaults={})
    assert run.ok("crashed")["changed"] is True
    time.sleep(2)  # the lease (real time: the lock uses the caller's clock) expires
    run = play.run([
        drs("drs_execution", "without", **COMMON, execution_id="exec-2", state="started", execution_type="FAILOVER",
            ignore_errors=True),
        drs("drs_execution", "with", **COMMON, execution_id="exec-2", state="started", execution_type="FAILOVER",
            break_lock=True),
        drs("drs_execution", "done", **COMMON, execution_id="exec-2", state="finished", status="COMPLETED",
            release_lock=False),
    ], module_defaults={})
    refused = run.failed("without")
    assert refused["error"]["details"]["stale"] is True and "drs_break_lock" in refused["error"]["remediation"]
    assert run.ok("with")["resumed"] is False
    assert run.ok("done")["lock_released"] is False
    assert _lock(client) == "exec-2"


def test_records_go_to_the_recovery_account_through_its_role(sim, play):
    from .helpers import EXTERNAL_ID, ROLE_222

    other = state_tables(sim, PREFIX, account="222222222222")
    own = _tables(sim)
    run = play.run([
        drs("drs_execution", "start", **COMMON, execution_id="exec-x", state="started", execution_type="FAILOVER",
            target_role_arn=ROLE_222, external_id=EXTERNAL_ID),
        drs("drs_execution", "no_external_id", **COMMON, execution_id="exec-y", state="started",
            execution_type="FAILOVER", target_role_arn=ROLE_222, ignore_errors=True),
        drs("drs_execution", "allowed_without", **COMMON, execution_id="exec-x", state="finished", status="COMPLETED",
            target_role_arn=ROLE_222, require_external_id=False),
    ], module_defaults={})
    assert run.ok("start")["changed"] is True
    assert "external_id" in run.failed("no_external_id")["msg"]
    assert run.ok("allowed_without")["lock_released"] is True
    assert other.get_execution("exec-x")["execution"]["status"] == "COMPLETED"
    assert _items(own, "exec-x") == {}


def test_first_and_next_wave_recorded_running_in_the_same_run(sim, play):
    client = _tables(sim)
    done = [{"name": "db-01", "source_server_id": "s-0123456789abcdef0", "launch_status": "LAUNCHED"}]
    run = play.run([
        drs("drs_execution", "start", **COMMON, execution_id="exec-run", state="started", execution_type="FAILOVER",
            waves=[1, 2, 3], first_wave_running=True),
        drs("drs_execution", "wave1", **COMMON, execution_id="exec-run", state="wave", wave=1, servers=done,
            wave_status="COMPLETED", next_wave=2),
        drs("drs_execution", "wave2", **COMMON, execution_id="exec-run", state="wave", wave=2, servers=done,
            wave_status="FAILED", next_wave=3),
        drs("drs_execution", "misused", **COMMON, execution_id="exec-run", state="started", execution_type="FAILOVER",
            next_wave=1, ignore_errors=True),
    ], module_defaults={})
    assert run.ok("start")["running_wave"] == 1
    assert run.ok("wave1")["next_wave_running"] == 2 and run.ok("wave1")["wave_status"] == "COMPLETED"
    assert run.ok("wave2")["next_wave_running"] is None  # a wave that did not complete starts no other
    assert_names_and_remediation(run.failed("misused"), "next_wave", "first_wave_running")
    items = _items(client, "exec-run")
    assert items["WAVE#0001"]["status"]["S"] == "COMPLETED"
    assert items["WAVE#0002"]["status"]["S"] == "FAILED" and "WAVE#0003" not in items

    # A resumed run marks the first wave it has not completed.
    run = play.run([drs("drs_execution", "resume", **COMMON, execution_id="exec-run", state="started",
                        execution_type="FAILOVER", waves=[1, 2, 3], first_wave_running=True)], module_defaults={})
    assert run.ok("resume")["running_wave"] == 2
    assert _items(client, "exec-run")["WAVE#0002"]["status"]["S"] == "RUNNING"
