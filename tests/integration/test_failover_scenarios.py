"""playbooks/failover.yml in the situations around the happy path, each checked against the simulator's AWS state,
its request log and the execution record in DynamoDB:

- a server whose launch fails: only that server fails (with a remediation), the run stops after its wave, and the
  same execution resumed after the cause is gone launches that server again and no other twice;
- pairs that fail validation (an untagged target, an architecture mismatch): the wave stops before any change,
  naming each server, unless drs_allow_partial_wave lets the others go;
- IP validation against the source's IP (drs_expect_source_ip) with a target on another IP: recorded as a mismatch;
- a run interrupted while a wave's job is running (the process killed), then resumed with the same execution id:
  the running job is adopted and no server is launched twice;
- a failover into another account through a role with an ExternalId, records included.
"""
import os
import signal
import subprocess
import sys
import time

from simlib import RECOVERY, small_estate

from .helpers import (BIN, EXTERNAL_ID, ROLE_222, ROOT, attached_volumes, base_env, cross_account_estate, instance,
                      jobs, mutating, operations, recovery_instances, state_tables, tags_of)
from .test_failover_playbook import PREFIX, _execution_id, _failover, _inventory

GROUP = "shop"
ACCOUNT_222 = "222222222222"
LAUNCHING = ("UpdateLaunchConfiguration", "StartRecovery", "StopInstances", "StartInstances")


def _launches_per_server(sim, account="123456789012"):
    """How many recovery jobs each source server took part in (DescribeJobs: participatingServers)."""
    counts = {}
    for job in jobs(sim, account=account):
        if job.get("initiatedBy") in ("START_RECOVERY", "START_DRILL"):
            for server in job["participatingServers"]:
                counts[server["sourceServerID"]] = counts.get(server["sourceServerID"], 0) + 1
    return counts


def _drs_ec2_changes(sim):
    return [(c["service"], c["operation"]) for c in mutating(sim) if c["service"] in ("drs", "ec2")]


def test_launch_failure_fails_that_server_only_and_the_resumed_run_relaunches_it(sim, tmp_path):
    summary = sim.load_estate(small_estate(4, 2))
    store = state_tables(sim, PREFIX)
    servers = summary["servers"]
    inventory = _inventory(tmp_path, summary)
    failing = servers["db-02"]["source_server_id"]
    fault = sim.add_fault(type="launch_failure", source_server_ids=[failing], message="insufficient capacity")

    first = _failover(sim, tmp_path, inventory)
    assert first.returncode != 0
    execution_id = _execution_id(first)
    assert "Wave 1 ended PARTIAL" in first.stdout and f"drs_execution_id={execution_id}" in first.stdout
    record = store.get_execution(execution_id)
    assert record["execution"]["status"] == "FAILED" and record["waves"][1]["status"] == "PARTIAL"
    assert 2 not in record["waves"]  # the run stopped after wave 1
    wave1 = record["servers"][1]
    assert wave1["db-01"]["launch_status"] == "LAUNCHED" and wave1["db-01"]["ip_preserved"] is True
    assert wave1["db-02"]["launch_status"] == "FAILED"
    error = wave1["db-02"]["error"]
    assert "insufficient capacity" in error["message"] and error["remediation"]
    assert instance(sim, servers["db-01"]["target_instance_id"])["State"]["Name"] == "running"
    assert _launches_per_server(sim) == {servers["db-01"]["source_server_id"]: 1, failing: 1}

    sim.control("DELETE", "faults", params={"id": fault["id"]})
    sim.clear_requests()
    resumed = _failover(sim, tmp_path, inventory, "-e", f"drs_execution_id={execution_id}")
    assert resumed.returncode == 0, resumed.stdout[-4000:]
    assert f"Resuming {execution_id}" in resumed.stdout
    # db-02 launched a second time (its first launch failed); every other server exactly once
    launches = _launches_per_server(sim)
    assert launches.pop(failing) == 2 and set(launches.values()) == {1} and len(launches) == 3
    for server in servers.values():
        target = instance(sim, server["target_instance_id"])
        assert target["State"]["Name"] == "running" and target["PrivateIpAddress"] == server["target_private_ip"]
        assert all(tags_of(v).get("drs:recovered-from") == server["source_server_id"]
                   for v in attached_volumes(sim, server["target_instance_id"]))
    record = store.get_execution(execution_id)
    assert record["execution"]["status"] == "COMPLETED" and record["execution"]["resume_count"] == 1
    assert {w: i["status"] for w, i in record["waves"].items()} == {1: "COMPLETED", 2: "COMPLETED"}
    assert record["servers"][1]["db-02"]["launch_status"] == "LAUNCHED"


def test_pairs_failing_validation_stop_the_wave_before_any_change(sim, tmp_path):
    summary = sim.load_estate(small_estate(3, 1, **{"db-02": {"target": {"tag": False}},
                                                    "db-03": {"target": {"architecture": "arm64",
                                                                         "instance_type": "t4g.medium",
                                                                         "boot_mode": "uefi"}}}))
    store = state_tables(sim, PREFIX)
    servers = summary["servers"]
    inventory = _inventory(tmp_path, summary)

    sim.clear_requests()
    refused = _failover(sim, tmp_path, inventory)
    assert refused.returncode != 0
    execution_id = _execution_id(refused)
    assert _drs_ec2_changes(sim) == []  # only the record was written
    out = refused.stdout
    assert "it was not started because db-02, db-03 cannot be matched" in out
    assert "drs_allow_partial_wave=true" in out
    summary_lines = [line for line in out.splitlines() if line.startswith(("  db-02", "  db-03"))]
    assert any("AWSDRS" in line for line in summary_lines if "db-02" in line), summary_lines
    assert any("arm64" in line or "architecture" in line for line in summary_lines if "db-03" in line), summary_lines
    record = store.get_execution(execution_id)
    assert record["waves"][1]["status"] == "FAILED"
    assert record["waves"][1]["error"]["server"] == "db-02, db-03"
    assert record["servers"][1]["db-02"]["error"] and record["servers"][1]["db-03"]["error"]
    assert all(instance(sim, s["target_instance_id"])["State"]["Name"] == "stopped" for s in servers.values())

    # Allowed to go partial: db-01 is recovered, the others are left untouched.
    sim.clear_requests()
    partial = _failover(sim, tmp_path, inventory, "-e", "drs_allow_partial_wave=true")
    assert partial.returncode != 0 and "Wave 1 ended PARTIAL" in partial.stdout
    assert instance(sim, servers["db-01"]["target_instance_id"])["State"]["Name"] == "running"
    for name in ("db-02", "db-03"):
        assert instance(sim, servers[name]["target_instance_id"])["State"]["Name"] == "stopped"
    assert [r["sourceServerID"] for r in recovery_instances(sim)] == [servers["db-01"]["source_server_id"]]


def test_ip_validation_against_the_source_ip_records_a_mismatch(sim, tmp_path):
    summary = sim.load_estate(small_estate(2, 1, **{"db-02": {"target": {"private_ip": "10.10.63.200"}}}))
    store = state_tables(sim, PREFIX)
    servers = summary["servers"]
    assert servers["db-02"]["target_private_ip"] != servers["db-02"]["source_private_ip"]

    # Without drs_expect_source_ip, the target's own IP is what must be kept: the wave completes.
    inventory = _inventory(tmp_path, summary)
    kept = _failover(sim, tmp_path, inventory)
    assert kept.returncode == 0, kept.stdout[-4000:]
    record = store.get_execution(_execution_id(kept))
    assert record["servers"][1]["db-02"]["ip_preserved"] is True

    inventory = _inventory(tmp_path, summary, drs_expect_source_ip=True)
    strict = _failover(sim, tmp_path, inventory)
    assert strict.returncode != 0
    assert "Wave 1 ended PARTIAL" in strict.stdout and "IP CHANGED" in strict.stdout
    record = store.get_execution(_execution_id(strict))
    assert record["waves"][1]["status"] == "PARTIAL" and record["waves"][1]["counts"]["ip_mismatches"] == 1
    db02 = record["servers"][1]["db-02"]
    assert db02["ip_preserved"] is False and db02["recovery_private_ip"] == "10.10.63.200"
    assert servers["db-02"]["source_private_ip"] in db02["error"]["message"]
    assert record["servers"][1]["db-01"]["ip_preserved"] is True
    assert instance(sim, servers["db-02"]["target_instance_id"])["PrivateIpAddress"] == "10.10.63.200"


def test_interrupted_run_resumes_adopting_the_running_job(sim, tmp_path):
    summary = sim.load_estate(small_estate(4, 2))
    store = state_tables(sim, PREFIX)
    servers = summary["servers"]
    inventory = _inventory(tmp_path, summary)
    # Launches take long enough (about 20 s here) to kill the run while wave 2's job runs.
    sim.set_config(durations={"launch": 100000})

    cmd = [sys.executable, os.path.join(BIN, "ansible-playbook"), os.path.join(ROOT, "playbooks", "failover.yml"),
           "-i", inventory, "-e", "drs_execution_id=shop-interrupted-1"]
    out = open(tmp_path / "killed.log", "w", encoding="utf-8")
    proc = subprocess.Popen(cmd, env=base_env(sim.url, tmp_path), stdout=out, stderr=subprocess.STDOUT,
                            cwd=str(tmp_path), start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while len(operations(sim, "StartRecovery")) < 2:
            assert proc.poll() is None, open(tmp_path / "killed.log", encoding="utf-8").read()[-4000:]
            assert time.monotonic() < deadline, "wave 2 never started"
            time.sleep(0.5)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        out.close()
    record = store.get_execution("shop-interrupted-1")
    assert record["execution"]["status"] == "RUNNING"  # nobody recorded the end
    assert record["waves"][1]["status"] == "COMPLETED" and record["waves"][2]["status"] == "RUNNING"
    assert store.get_lock(GROUP)["holder"] == "shop-interrupted-1"

    sim.set_config(durations={"launch": 240})
    sim.clear_requests()
    resumed = _failover(sim, tmp_path, inventory, "-e", "drs_execution_id=shop-interrupted-1")
    assert resumed.returncode == 0, resumed.stdout[-4000:]
    assert "Wave 1 already completed in shop-interrupted-1; skipped" in resumed.stdout
    assert operations(sim, "StartRecovery") == []  # wave 2's running job was adopted, not started again
    assert set(_launches_per_server(sim).values()) == {1} and len(_launches_per_server(sim)) == 4
    for server in servers.values():
        target = instance(sim, server["target_instance_id"])
        assert target["State"]["Name"] == "running" and target["PrivateIpAddress"] == server["target_private_ip"]
    record = store.get_execution("shop-interrupted-1")
    assert record["execution"]["status"] == "COMPLETED" and record["execution"]["resume_count"] == 1
    assert all(s["launch_status"] == "LAUNCHED" for s in record["servers"][2].values())
    assert store.get_lock(GROUP) is None


def test_failover_into_another_account_through_a_role_with_an_external_id(sim, tmp_path):
    summary = sim.load_estate(cross_account_estate(ACCOUNT_222))
    store = state_tables(sim, PREFIX, account=ACCOUNT_222)
    servers = summary["servers"]

    sim.clear_requests()
    no_id = _failover(sim, tmp_path, _inventory(tmp_path, summary, drs_target_role_arn=ROLE_222))
    assert no_id.returncode != 0 and "external_id" in no_id.stdout
    assert mutating(sim) == []

    inventory = _inventory(tmp_path, summary, drs_target_role_arn=ROLE_222, drs_external_id=EXTERNAL_ID)
    proc = _failover(sim, tmp_path, inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    execution_id = _execution_id(proc)
    # Every change was made in the recovery account, through the role.
    assert {c["account"] for c in mutating(sim)} == {ACCOUNT_222}
    assert sim.requests(service="sts", operation="AssumeRole")
    for server in servers.values():
        target = instance(sim, server["target_instance_id"], account=ACCOUNT_222)
        assert target["State"]["Name"] == "running" and target["PrivateIpAddress"] == server["source_private_ip"]
    assert {r["ec2InstanceID"] for r in recovery_instances(sim, account=ACCOUNT_222)} == {
        s["target_instance_id"] for s in servers.values()}
    record = store.get_execution(execution_id)
    assert record["execution"]["status"] == "COMPLETED"
    assert {i["launch_status"] for i in record["servers"][1].values()} == {"LAUNCHED"}
    assert sim.client("dynamodb", region=RECOVERY).list_tables()["TableNames"] == []  # nothing in the own account
