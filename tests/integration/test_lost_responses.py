"""Lost responses end to end: the simulator does the work of a call and closes the connection without answering
(fault type response_lost); the playbooks look for what the call did instead of sending it again.

A blind retry of a lost StartRecovery meets ConflictException (the servers are already in the job the first call
started) and loses that job; of a lost ReverseReplication, may create a second reversed server; of a lost
SendCommand, runs the installer twice. Each test asserts that each call was made once, that its effect is the one
the run recorded, and that the run completed.
"""
from simlib import PRIMARY, RECOVERY

from .helpers import jobs, operations, source_servers
from .test_failback_playbook import GROUP, _execution_id, _failed_over, _ops, _playbook
from .test_reliability import _all_launched, _estate
from .test_failover_playbook import _execution_id as _failover_execution_id
from .test_failover_playbook import _failover


def _fired(sim, fault):
    return next(f for f in sim.control("GET", "faults")["faults"] if f["id"] == fault["id"])["fired"]


def test_a_lost_start_recovery_response_adopts_the_job_it_started(sim, tmp_path):
    summary, store, inventory = _estate(sim, tmp_path)
    fault = sim.add_fault(type="response_lost", service="drs", operation="StartRecovery", count=1)
    proc = _failover(sim, tmp_path, inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert _fired(sim, fault) == 1
    # One StartRecovery per wave: the lost one was not sent again.
    starts = operations(sim, "StartRecovery")
    assert len(starts) == 2 and [s["fault"] for s in starts].count(fault["id"]) == 1
    assert "ConflictException" not in proc.stdout
    # Exactly one launch job per server, and that job is the one in the execution record.
    execution_id = _failover_execution_id(proc)
    launches = [j for j in jobs(sim) if j["type"] == "LAUNCH"
                and (j.get("tags") or {}).get("elasticdr:execution-id") == execution_id]
    job_of = {}
    for job in launches:
        for item in job["participatingServers"]:
            assert item["sourceServerID"] not in job_of, f"{item['sourceServerID']} launched twice"
            job_of[item["sourceServerID"]] = job["jobID"]
    assert sorted(job_of) == sorted(s["source_server_id"] for s in summary["servers"].values())
    record = store.get_execution(execution_id)
    assert record["execution"]["status"] == "COMPLETED"
    assert {w: i["status"] for w, i in record["waves"].items()} == {1: "COMPLETED", 2: "COMPLETED"}
    items = {name: item for wave in record["servers"].values() for name, item in wave.items()}
    assert sorted(items) == sorted(summary["servers"])
    for name, item in items.items():
        server_id = summary["servers"][name]["source_server_id"]
        assert item["job_id"] == job_of[server_id], (name, item)
        assert item["launch_status"] == "LAUNCHED"
    _all_launched(sim, summary)


def test_lost_reverse_replication_and_send_command_responses_are_not_sent_again(sim, tmp_path):
    summary, store, inventory, _failover_id = _failed_over(sim, tmp_path, 3, 2)
    servers = summary["servers"]
    lost_reverse = sim.add_fault(type="response_lost", service="drs", operation="ReverseReplication",
                                 region=RECOVERY, count=1)
    lost_command = sim.add_fault(type="response_lost", service="ssm", operation="SendCommand", count=1)
    sim.clear_requests()
    proc = _playbook("failback.yml", sim, tmp_path, inventory, "-e", "drs_install_agent=true")
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert _fired(sim, lost_reverse) == 1 and _fired(sim, lost_command) == 1
    # One ReverseReplication per recovery instance (the failback direction, in the recovery region) and one
    # SendCommand per instance: the lost ones were looked for, found and adopted.
    assert len(_ops(sim, "ReverseReplication", region=RECOVERY)) == len(servers)
    assert len(operations(sim, "SendCommand", service="ssm")) == len(servers)
    commands = sim.client("ssm", region=RECOVERY).list_commands()["Commands"]
    comments = [c["Comment"] for c in commands]
    for server in servers.values():
        assert comments.count(f"elasticdr: DRS agent for {server['source_server_id']}") == 1
    # One FAILBACK server per recovered instance in the origin region, the one the record names.
    failback = {}
    for server in source_servers(sim, region=PRIMARY):
        if server.get("replicationDirection") == "FAILBACK":
            instance_id = server["sourceProperties"]["identificationHints"]["awsInstanceID"]
            assert instance_id not in failback, f"two FAILBACK servers for {instance_id}"
            failback[instance_id] = server
    assert sorted(failback) == sorted(s["target_instance_id"] for s in servers.values())
    execution_id = _execution_id(proc, "FAILBACK")
    record = store.get_execution(execution_id)
    assert record["execution"]["status"] == "COMPLETED"
    assert {w: i["status"] for w, i in record["waves"].items()} == {1: "COMPLETED", 2: "COMPLETED"}
    items = {name: item for wave in record["servers"].values() for name, item in wave.items()}
    for name, item in items.items():
        assert item["reversed_source_server_id"] == failback[servers[name]["target_instance_id"]]["sourceServerID"]
        assert item["launch_status"] == "LAUNCHED"
    assert {s["name"]: s["status"] for s in store.get_failback_states(GROUP)} == {n: "COMPLETED" for n in servers}
