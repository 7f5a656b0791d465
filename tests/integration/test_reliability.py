"""Reliability of failover.yml under the simulator's faults, under concurrency, and of every playbook's --check.

Each fault test runs a 2-wave failover of 4 servers with one fault in force and asserts the outcome
docs/RELIABILITY.md documents: transient faults (throttling with Retry-After, 5xx bursts, DynamoDB throttling) are
absorbed and the run completes; permanent ones (AccessDenied, a server whose launch or conversion fails, a job that
never ends) stop the run with a clear error and leave a record that says which server is in which state, the
others correct.
"""
import os
import subprocess
import sys

import pytest

from simlib import small_estate

from .helpers import (BIN, ROOT, base_env, fail_over_directly, instance, jobs, mutating, operations, recovery_instances,
                      state_tables)
from .test_failover_playbook import PREFIX, _execution_id, _failover, _inventory

GROUP = "shop"


def _estate(sim, tmp_path, **extra):
    summary = sim.load_estate(small_estate(4, 2))
    store = state_tables(sim, PREFIX)
    return summary, store, _inventory(tmp_path, summary, **extra)


def _all_launched(sim, summary):
    for server in summary["servers"].values():
        target = instance(sim, server["target_instance_id"])
        assert target["State"]["Name"] == "running" and target["PrivateIpAddress"] == server["target_private_ip"]
    assert len(recovery_instances(sim)) == len(summary["servers"])


TRANSIENT = [
    pytest.param({"type": "throttle", "service": "drs", "operation": "DescribeJobs", "count": 3, "retry_after": 1},
                 id="drs-throttling-retry-after"),
    pytest.param({"type": "throttle", "service": "drs", "operation": "StartRecovery", "count": 1, "retry_after": 1},
                 id="drs-throttling-on-a-mutating-call"),
    pytest.param({"type": "server_error", "service": "ec2", "status": 503, "count": 2}, id="ec2-5xx-burst"),
    pytest.param({"type": "server_error", "service": "drs", "status": 500, "count": 2}, id="drs-5xx-burst"),
    pytest.param({"type": "throttle", "service": "dynamodb", "count": 3, "retry_after": 1}, id="dynamodb-throttling"),
]


@pytest.mark.parametrize("fault", TRANSIENT)
def test_transient_faults_are_absorbed(sim, tmp_path, fault):
    summary, store, inventory = _estate(sim, tmp_path)
    added = sim.add_fault(**fault)
    proc = _failover(sim, tmp_path, inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    fired = [f for f in sim.control("GET", "faults")["faults"] if f["id"] == added["id"]]
    assert fired and fired[0]["fired"] >= 1, fired
    _all_launched(sim, summary)
    record = store.get_execution(_execution_id(proc))
    assert record["execution"]["status"] == "COMPLETED"
    # Every server launched exactly once, whatever was retried: a StartRecovery sent twice for the same servers
    # (a retry after a throttled call that had in fact started its job) would show as a second job for them.
    assert _launches_per_server(sim) == {s["source_server_id"]: 1 for s in summary["servers"].values()}


def _launches_per_server(sim):
    counts = {}
    for job in jobs(sim):
        if job.get("type") == "LAUNCH":
            for server in job.get("participatingServers") or []:
                counts[server["sourceServerID"]] = counts.get(server["sourceServerID"], 0) + 1
    return counts


def test_access_denied_stops_before_any_launch_with_a_clear_error(sim, tmp_path):
    summary, store, inventory = _estate(sim, tmp_path)
    sim.add_fault(type="access_denied", service="drs", operation="StartRecovery")
    proc = _failover(sim, tmp_path, inventory)
    assert proc.returncode != 0
    assert "AccessDenied" in proc.stdout and "StartRecovery" in proc.stdout
    assert recovery_instances(sim) == []
    record = store.get_execution(_execution_id(proc))
    assert record["execution"]["status"] == "FAILED"
    assert store.get_lock(GROUP) is None  # released, so a rerun can go on once the permission is granted


@pytest.mark.parametrize("phase", ["launch_failure", "conversion_failure", "snapshot_failure"])
def test_a_server_failing_in_a_job_phase_fails_alone_with_a_remediation(sim, tmp_path, phase):
    summary, store, inventory = _estate(sim, tmp_path)
    failing = summary["servers"]["db-02"]["source_server_id"]
    sim.add_fault(type=phase, source_server_ids=[failing], message=f"simulated {phase}")
    proc = _failover(sim, tmp_path, inventory)
    assert proc.returncode != 0 and "Wave 1 ended PARTIAL" in proc.stdout
    record = store.get_execution(_execution_id(proc))
    servers = record["servers"][1]
    assert servers["db-02"]["launch_status"] == "FAILED"
    assert servers["db-02"]["error"]["remediation"] and "db-02" in proc.stdout
    assert servers["db-01"]["launch_status"] == "LAUNCHED"
    assert instance(sim, summary["servers"]["db-01"]["target_instance_id"])["State"]["Name"] == "running"
    assert 2 not in record["waves"]  # the next wave did not start


def test_a_job_that_never_ends_times_the_wave_out(sim, tmp_path):
    summary, store, inventory = _estate(sim, tmp_path, drs_wait_timeout=8)
    sim.add_fault(type="job_never_ends", source_server_ids=[summary["servers"]["db-01"]["source_server_id"]])
    proc = _failover(sim, tmp_path, inventory)
    assert proc.returncode != 0
    record = store.get_execution(_execution_id(proc))
    assert record["waves"][1]["status"] == "TIMED_OUT" and record["execution"]["status"] == "TIMED_OUT"
    assert 2 not in record["waves"]


def test_two_failovers_started_together_one_proceeds_the_other_is_refused(sim, tmp_path):
    summary, store, inventory = _estate(sim, tmp_path)
    sim.set_config(durations={"launch": 20000})  # about 4 s per wave here: both runs overlap
    procs = []
    for run in ("a", "b"):
        cmd = [sys.executable, os.path.join(BIN, "ansible-playbook"), os.path.join(ROOT, "playbooks", "failover.yml"),
               "-i", inventory, "-e", f"drs_execution_id=shop-concurrent-{run}"]
        procs.append(subprocess.Popen(cmd, env=base_env(sim.url, tmp_path), stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True, cwd=str(tmp_path)))
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    codes = [p.returncode for p in procs]
    assert sorted(codes)[0] == 0 and sorted(codes)[1] != 0, codes
    winner, loser = ("a", "b") if codes[0] == 0 else ("b", "a")
    refused = outputs[("a", "b").index(loser)]
    assert f"locked by execution shop-concurrent-{winner}" in refused
    # every server launched exactly once, by the winner
    assert len(operations(sim, "StartRecovery")) == 2
    assert _launches_per_server(sim) == {s["source_server_id"]: 1 for s in summary["servers"].values()}
    _all_launched(sim, summary)
    assert store.get_execution(f"shop-concurrent-{winner}")["execution"]["status"] == "COMPLETED"
    assert store.get_execution(f"shop-concurrent-{loser}")["execution"] is None


def test_every_playbook_makes_no_mutating_call_in_check_mode(sim, tmp_path):
    summary, store, inventory = _estate(sim, tmp_path)
    execution_id = fail_over_directly(sim, summary, prefix=PREFIX, group=GROUP, execution_id="shop-failover-done")
    playbooks = [("state_tables.yml",), ("preflight.yml",), ("failover.yml",), ("failback.yml",), ("drill.yml",),
                 ("drill_cleanup.yml",), ("report.yml", "-e", f"drs_execution_id={execution_id}")]
    outputs = {}
    for name, *args in playbooks:
        sim.clear_requests()
        proc = subprocess.run([sys.executable, os.path.join(BIN, "ansible-playbook"),
                               os.path.join(ROOT, "playbooks", name), "-i", inventory, "--check"] + args,
                              env=base_env(sim.url, tmp_path), capture_output=True, text=True, timeout=600,
                              cwd=str(tmp_path), check=False)
        assert mutating(sim) == [], (name, [(c["service"], c["operation"]) for c in mutating(sim)])
        assert sim.requests(), name  # it did read AWS
        assert "Traceback" not in proc.stdout + proc.stderr, (name, proc.stdout[-3000:])
        outputs[name] = (proc.returncode, proc.stdout)
    # What each run predicts, given a completed failover (and state tables made without their stack).
    rc, out = outputs["state_tables.yml"]
    assert rc != 0 and "exist in us-west-2 but stack it-state-state-tables does not" in out, out[-3000:]
    rc, out = outputs["preflight.yml"]
    assert rc == 0 and "READY: every wave can fail over" in out, out[-3000:]
    for name in ("failover.yml", "drill.yml"):
        rc, out = outputs[name]
        assert rc == 0, (name, out[-3000:])
        for wave in (1, 2):
            assert f"Wave {wave}: COMPLETED (check mode, nothing changed) - 2 would launch" in out, (name, out[-3000:])
        for server in summary["servers"]:
            assert any(line.startswith(f"  {server} ") and "WOULD_LAUNCH" in line for line in out.splitlines()), server
    rc, out = outputs["failback.yml"]
    assert rc == 0, out[-3000:]
    for wave in (1, 2):
        assert f"Wave {wave}: COMPLETED (check mode, nothing changed) - 2 would fail back" in out, out[-3000:]
    rc, out = outputs["drill_cleanup.yml"]  # the recovery instances are a failover's, not a drill's: refused
    assert rc != 0 and "is not a drill" in out and "nothing was changed" in out, out[-3000:]
    rc, out = outputs["report.yml"]
    assert rc == 0 and f"FAILOVER execution {execution_id}: COMPLETED" in out, out[-3000:]
    assert store.get_execution(execution_id)["execution"]["status"] == "COMPLETED"
