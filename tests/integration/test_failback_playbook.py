"""playbooks/failback.yml end to end against the simulator, after a real failover.yml run: a multi-wave failback
checked against the resulting AWS state (the originals running again with their own instance IDs and private IPs
and recovered volumes from the FAILBACK servers, the recovery-region targets left alone, the FAILBACK servers
CONTINUOUS, re-protection started), the execution record and the failback-state items in DynamoDB; --check
with no mutating call; a rerun with the same execution id launching nothing twice; an IP mismatch blocking its
wave before anything is stopped or launched; originals that may not be tagged; an agent installation failure
stopping the wave with a remediation, then the same execution resumed.

How an IP mismatch is made: EC2 never changes an instance's primary private IP, so the original instance cannot be
given another address. What the check guards against is an original that is not the instance the failover recorded
(replaced, or a wrong record). The test makes the failover's execution record disagree with the instance (the
recorded source_private_ip of one server is changed in DynamoDB) and fails back from that record
(drs_failover_execution_id), which is exactly the situation the check exists for.

How an agent installation failure is made: moto's SSM answers every SendCommand with an invocation that succeeds
at once, whatever the instance, so an instance without SSM cannot be simulated. The test injects an
AccessDeniedException on SSM SendCommand (sim.add_fault), the refusal a missing ssm:SendCommand permission gives;
failed, timed-out and cancelled invocations and Windows instances are covered by tests/unit/plugins/module_utils/test_agent.py.
"""
import os

import yaml

import principals
from simlib import PRIMARY, RECOVERY, small_estate

from .helpers import (ROOT, attached_volumes, fail_over_directly, instance, launch_config, launch_into_id, mutating, operations, run_tool,
                      source_servers, state_tables, tags_of)
from .test_failover_playbook import assert_nothing_denied

PREFIX = "it-state"
GROUP = "shop"


def _inventory(tmp_path, summary, **extra):
    by_wave = {}
    for name, server in summary["servers"].items():
        by_wave.setdefault(server["wave"], []).append(name)
    inventory = {"all": {
        "vars": dict({"drs_primary_region": PRIMARY, "drs_recovery_region": RECOVERY, "drs_protection_group": GROUP,
                      "drs_state_table_prefix": PREFIX, "drs_poll_interval": 1, "drs_wait_timeout": 600,
                      "drs_replication_timeout": 600}, **extra),
        "children": {f"wave_{w}": {"hosts": {n: {} for n in sorted(names)}, "vars": {"drs_wave": w}}
                     for w, names in sorted(by_wave.items())}}}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inventory))
    return str(path)


def _playbook(name, sim, tmp_path, inventory, *args, env=None):
    return run_tool("ansible-playbook", [os.path.join(ROOT, "playbooks", name), "-i", inventory] + list(args),
                    sim.url, tmp_path, timeout=600, env=env)


def _execution_id(proc, kind):
    for line in proc.stdout.splitlines():
        if f"{kind} execution " in line:
            return line.split(f"{kind} execution ", 1)[1].split()[0]
    raise AssertionError(f"no execution id printed:\n{proc.stdout[-3000:]}")


def _failed_over(sim, tmp_path, servers=4, waves=2, run_as=None, **overrides):
    """An estate, the state tables and a completed failover; returns (summary, store, inventory, failover id).

    run_as: the run's principals (tests/principals.py), whose variables go into the inventory."""
    summary = sim.load_estate(small_estate(servers, waves, **overrides))
    store = state_tables(sim, PREFIX)
    if run_as is True:
        run_as = principals.create(sim.url, table_prefix=PREFIX)
    inventory = _inventory(tmp_path, summary, **(run_as.vars if run_as else {}))
    # The failed-over state is built by the wave engine directly (test_failover_playbook.py runs failover.yml).
    failover_id = fail_over_directly(sim, summary, prefix=PREFIX, group=GROUP, execution_id="shop-failover-setup")
    return summary, store, inventory, failover_id


def _ops(sim, *operations_, region=None):
    """(service, operation) of the logged calls among the given operations (optionally in one region)."""
    return [(c["service"], c["operation"]) for c in sim.requests()
            if c["operation"] in operations_ and (region is None or c["region"] == region)]


LAUNCH_CALLS = ("StopInstances", "StartRecovery", "UpdateLaunchConfiguration", "StartInstances")
NEVER = ("TerminateRecoveryInstances", "TerminateInstances")


def test_multi_wave_failback_end_to_end_check_and_resume(sim, tmp_path):
    run_as = principals.create(sim.url, table_prefix=PREFIX)
    summary, store, inventory, _failover_id = _failed_over(sim, tmp_path, 4, 2, run_as,
                                                           **{"db-01": {"staging_account": "222222222222"}})
    servers = summary["servers"]
    assert servers["db-01"]["staging_account"] == "222222222222"

    # --check: what would happen, and not one mutating call of any service (DynamoDB included)
    sim.clear_requests()
    checked = _playbook("failback.yml", sim, tmp_path, inventory, "--check", env=run_as.env)
    assert checked.returncode == 0, checked.stdout[-4000:] + checked.stderr[-2000:]
    assert mutating(sim) == [], [(c["service"], c["operation"]) for c in mutating(sim)]
    assert "Wave 1: COMPLETED (check mode, nothing changed) - 2 would fail back" in checked.stdout
    assert "4 original(s) to tag" not in checked.stdout and "2 original(s) to tag" in checked.stdout

    sim.clear_requests()
    proc = _playbook("failback.yml", sim, tmp_path, inventory, env=run_as.env)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    execution_id = _execution_id(proc, "FAILBACK")
    assert "Wave 1: COMPLETED - 2/2 failed back" in proc.stdout and "Wave 2: COMPLETED - 2/2 failed back" in proc.stdout
    assert_nothing_denied(sim)  # IAM enforced throughout, DRS's launches into the originals as the caller included
    for wave in (1, 2):  # progress of the failback launch, a line per poll
        assert f"drs_wave wave {wave}: 2/2 launched, 0 in progress, 0 failed (100%)" in proc.stdout
    assert _ops(sim, *NEVER) == []

    # AWS state, primary region: each original is running again, same instance ID and private IP, with the
    # volumes recovered from its FAILBACK server; the FAILBACK servers are CONTINUOUS.
    failback_servers = {s["sourceProperties"]["identificationHints"]["awsInstanceID"]: s
                        for s in source_servers(sim, region=PRIMARY) if s["replicationDirection"] == "FAILBACK"}
    assert sorted(failback_servers) == sorted(s["target_instance_id"] for s in servers.values())
    for name, server in servers.items():
        original = instance(sim, server["source_instance_id"], region=PRIMARY)
        assert original["State"]["Name"] == "running", name
        assert original["PrivateIpAddress"] == server["source_private_ip"], name
        assert tags_of(original)["AWSDRS"] == "AllowLaunchingIntoThisInstance"  # tagged by the playbook
        reversed_server = failback_servers[server["target_instance_id"]]
        # standby after failback: the FAILBACK server no longer replicates the recovery instance
        assert reversed_server["dataReplicationInfo"]["dataReplicationState"] == "STOPPED"
        volumes = attached_volumes(sim, server["source_instance_id"], region=PRIMARY)
        assert volumes and all(tags_of(v).get("drs:recovered-from") == reversed_server["sourceServerID"]
                               for v in volumes), name
        # the recovery-region target (the recovery instance) is stopped, never terminated, ready for the next failover
        target = instance(sim, server["target_instance_id"], region=RECOVERY)
        assert target["State"]["Name"] == "stopped", name
        assert target["PrivateIpAddress"] == server["target_private_ip"], name
    # The primary region's launch configuration template lets the FAILBACK servers it creates launch into their
    # originals: not one launch configuration read or write per server in the primary region.
    templates = sim.client("drs", region=PRIMARY).describe_launch_configuration_templates()["items"]
    assert len(templates) == 1 and templates[0]["launchIntoSourceInstance"] is True
    assert templates[0]["copyPrivateIp"] is False and templates[0]["copyTags"] is False
    assert templates[0]["targetInstanceTypeRightSizingMethod"] == "NONE"
    assert _ops(sim, "GetLaunchConfiguration", "UpdateLaunchConfiguration", region=PRIMARY) == []
    assert len(_ops(sim, "UpdateLaunchConfigurationTemplate")) == 1  # the second wave found it right
    for server in servers.values():
        config = launch_config(sim, failback_servers[server["target_instance_id"]]["sourceServerID"], region=PRIMARY)
        assert launch_into_id(config) == server["source_instance_id"]
        assert config["copyPrivateIp"] is False and config["copyTags"] is False
    # one failback job per wave, in the primary region, each launching into the originals
    starts = operations(sim, "StartRecovery")
    assert len(starts) == 2 and {c["region"] for c in starts} == {PRIMARY}
    # re-protect: ReverseReplication on each failed-back original resumes its original source server
    reprotects = [c for c in operations(sim, "ReverseReplication") if c["region"] == PRIMARY]
    assert len(reprotects) == 4
    originals = {s["sourceServerID"]: s for s in source_servers(sim, region=RECOVERY)}
    for server in servers.values():
        resumed = originals[server["source_server_id"]]
        assert resumed["dataReplicationInfo"]["dataReplicationState"] in ("INITIATING", "INITIAL_SYNC", "CONTINUOUS")
        assert resumed["reversedDirectionSourceServerArn"] == failback_servers[server["target_instance_id"]]["arn"]

    # The execution record and the failback-state items.
    record = store.get_execution(execution_id)
    assert record["execution"]["execution_type"] == "FAILBACK" and record["execution"]["status"] == "COMPLETED"
    assert {w: i["status"] for w, i in record["waves"].items()} == {1: "COMPLETED", 2: "COMPLETED"}
    assert record["waves"][1]["counts"]["reprotect_started"] == 2 and record["waves"][1]["counts"]["standby"] == 2
    assert "recovery region on standby for 2" in proc.stdout
    items = {name: item for wave in record["servers"].values() for name, item in wave.items()}
    assert sorted(items) == sorted(servers)
    for name, item in items.items():
        server = servers[name]
        reversed_server = failback_servers[server["target_instance_id"]]
        assert item["launch_status"] == "LAUNCHED" and item["ip_preserved"] is True
        assert item["source_server_id"] == server["source_server_id"]
        assert item["target_instance_id"] == item["recovery_instance_id"] == server["source_instance_id"]
        assert item["recovery_private_ip"] == item["target_private_ip"] == server["source_private_ip"]
        assert item["source_instance_id"] == server["target_instance_id"]
        assert item["reversed_source_server_id"] == reversed_server["sourceServerID"]
        assert item["job_id"].startswith("drsjob-")
    assert items["db-01"]["staging_account_id"] == "222222222222"
    states = {s["name"]: s for s in store.get_failback_states(GROUP)}
    assert sorted(states) == sorted(servers)
    for name, state in states.items():
        server = servers[name]
        assert state["status"] == "COMPLETED" and state["private_ip_validated"] is True
        assert state["execution_id"] == execution_id and state["source_server_id"] == server["source_server_id"]
        assert state["original_instance_id"] == server["source_instance_id"]
        assert state["original_instance_private_ip"] == server["source_private_ip"]
        assert state["recovery_instance_id"] == server["target_instance_id"]
        assert state["recovery_instance_private_ip"] == server["target_private_ip"]
        assert state["reversed_source_server_id"] == failback_servers[server["target_instance_id"]]["sourceServerID"]
        assert state["replication_state"] == "CONTINUOUS" and state["lag_seconds"] < 60
    assert states["db-01"]["staging_account_id"] == "222222222222"
    assert "staging_account_id" not in states["db-02"]

    # A rerun with the same id skips both waves: nothing launched, replicated, tagged or stopped again.
    sim.clear_requests()
    again = _playbook("failback.yml", sim, tmp_path, inventory, "-e", f"drs_execution_id={execution_id}", env=run_as.env)
    assert again.returncode == 0, again.stdout[-3000:]
    for wave in (1, 2):
        assert f"Wave {wave} already completed in {execution_id}; skipped" in again.stdout
    assert _ops(sim, "StartRecovery", "ReverseReplication", "CreateTags", "StopInstances", "SendCommand") == []


def _not_dynamodb(sim):
    """Mutating calls other than the state-table writes."""
    return [(c["service"], c["operation"]) for c in mutating(sim) if c["service"] != "dynamodb"]


def test_ip_mismatch_blocks_the_wave_before_any_stop_or_launch(sim, tmp_path):
    summary, store, inventory, failover_id = _failed_over(sim, tmp_path, 3, 2)
    servers = summary["servers"]
    # The failover record says db-01 and db-02 had other IPs than their original instances have (see the docstring).
    record = store.get_execution(failover_id)
    wrong = {"db-01": "10.10.0.99", "db-02": "10.10.0.98"}
    store.put_servers(failover_id, 1, [dict(record["servers"][1][name], source_private_ip=ip) for name, ip in wrong.items()])

    sim.clear_requests()
    proc = _playbook("failback.yml", sim, tmp_path, inventory, "-e", f"drs_failover_execution_id={failover_id}")
    assert proc.returncode != 0
    execution_id = _execution_id(proc, "FAILBACK")
    # each server is named with the recorded and the actual IP, and what to do
    for name, ip in wrong.items():
        line = next(line for line in proc.stdout.splitlines() if line.startswith(f"  {name} "))
        assert "BLOCKED" in line and ip in line and servers[name]["source_private_ip"] in line, line
        assert servers[name]["source_instance_id"] in line and "Remediation:" in line, line
    assert ("Wave 1 ended FAILED at \"Check, before any change, the private IPs of the originals of wave 1\": "
            "2 original instance(s) do not have the private IP recorded at failover") in proc.stdout
    assert f"drs_execution_id={execution_id}" in proc.stdout
    # blocked before anything changed in AWS: no tag, stop, launch configuration, launch or reverse replication
    assert _not_dynamodb(sim) == []
    assert _ops(sim, *LAUNCH_CALLS, "ReverseReplication", "CreateTags", "SendCommand") == []

    failback = store.get_execution(execution_id)
    assert failback["execution"]["status"] == "FAILED" and failback["waves"][1]["status"] == "FAILED"
    assert 2 not in failback["waves"]  # the run stopped at wave 1
    assert failback["waves"][1]["error"]["error"] == "PrivateIPMismatchError"
    items = failback["servers"][1]
    for name, ip in wrong.items():
        error = items[name]["error"]
        assert error["error"] == "PrivateIPMismatchError" and error["details"]["expected_ip"] == ip
        assert error["details"]["actual_ip"] == servers[name]["source_private_ip"]
        assert items[name]["launch_status"] == "BLOCKED" and items[name]["ip_preserved"] is False
    states = {s["name"]: s for s in store.get_failback_states(GROUP)}
    assert {n: (s["status"], s["private_ip_validated"]) for n, s in states.items()} == {
        "db-01": ("BLOCKED", False), "db-02": ("BLOCKED", False)}
    assert failback["execution"].get("holder") is None
    assert store.get_lock(GROUP) is None  # released


def test_untagged_originals_then_agent_failure_then_the_same_execution_resumes(sim, tmp_path):
    summary, store, inventory, _failover_id = _failed_over(sim, tmp_path, 3, 2)
    servers = summary["servers"]
    wave1 = sorted(n for n, s in servers.items() if s["wave"] == 1)

    # Originals that the operator must tag (drs_tag_originals=false) stop the wave before any change.
    sim.clear_requests()
    refused = _playbook("failback.yml", sim, tmp_path, inventory, "-e", "drs_tag_originals=false")
    assert refused.returncode != 0
    for name in wave1:
        assert f"original instance {servers[name]['source_instance_id']} is not tagged AWSDRS=AllowLaunchingIntoThisInstance" \
            in refused.stdout
    assert "aws ec2 create-tags --resources" in refused.stdout
    assert _not_dynamodb(sim) == []

    # The agent installation (SSM Run Command) is refused for the first instance: the wave stops, with the
    # instance named and a remediation, before reverse replication or any launch.
    sim.add_fault(type="access_denied", service="ssm", operation="SendCommand", count=1)
    sim.clear_requests()
    failed = _playbook("failback.yml", sim, tmp_path, inventory, "-e", "drs_install_agent=true")
    assert failed.returncode != 0
    execution_id = _execution_id(failed, "FAILBACK")
    assert "AgentInstallationError" in failed.stdout or "DRS agent installation failed" in failed.stdout
    assert "SSM refused the command (AccessDeniedException)" in failed.stdout
    assert "allow ssm:SendCommand on the document and the instance" in failed.stdout
    assert len(operations(sim, "SendCommand", service="ssm")) == 2  # both tried, one refused
    assert _ops(sim, "ReverseReplication", *LAUNCH_CALLS) == []
    assert len(_ops(sim, "CreateTags", region=PRIMARY)) == 1  # the originals were tagged (wave 1) before the agent
    record = store.get_execution(execution_id)
    assert record["waves"][1]["status"] == "FAILED" and record["execution"]["status"] == "FAILED"
    agent_errors = {n: i["error"] for n, i in record["servers"][1].items() if i.get("error")}
    assert len(agent_errors) == 1
    (name, error), = agent_errors.items()
    assert error["error"] == "AgentInstallationError" and servers[name]["target_instance_id"] in error["message"]
    states = {s["name"]: s["status"] for s in store.get_failback_states(GROUP)}
    assert states[name] == "FAILED"

    # The same execution resumed: the agent is installed on all three, each wave launched once.
    sim.clear_requests()
    resumed = _playbook("failback.yml", sim, tmp_path, inventory, "-e", f"drs_execution_id={execution_id}",
                        "-e", "drs_install_agent=true")
    assert resumed.returncode == 0, resumed.stdout[-5000:]
    assert f"Resuming {execution_id}" in resumed.stdout
    assert len(operations(sim, "StartRecovery")) == 2
    # moto lists every instance of the region in each command (it treats "no Targets" as "all instances"), so
    # the commands are told apart by their comment, which names the source server.
    commands = sim.client("ssm", region=RECOVERY).list_commands()["Commands"]
    sent = {c["Comment"]: c for c in commands}
    for server in servers.values():
        command = sent[f"elasticdr: DRS agent for {server['source_server_id']}"]
        assert command["DocumentName"] == "AWS-RunShellScript"
        script = " ".join(command["Parameters"]["commands"])
        assert f"--region {RECOVERY} --install-as-recovery-instance {server['source_server_id']}" in script
        assert f"https://aws-elastic-disaster-recovery-{RECOVERY}.s3.{RECOVERY}.amazonaws.com/latest/linux/" in script
    assert _ops(sim, *NEVER) == []
    record = store.get_execution(execution_id)
    assert record["execution"]["status"] == "COMPLETED" and record["execution"]["resume_count"] == 1
    assert {s["name"]: s["status"] for s in store.get_failback_states(GROUP)} == {n: "COMPLETED" for n in servers}


def test_resume_after_a_failure_past_the_launch_launches_nothing_twice(sim, tmp_path):
    summary, store, inventory, _failover_id = _failed_over(sim, tmp_path, 3, 2)
    servers = summary["servers"]
    wave2_originals = sorted(s["source_instance_id"] for s in servers.values() if s["wave"] == 2)
    # Re-protection of wave 1 is refused once: the wave has launched into its originals when it stops.
    sim.add_fault(type="access_denied", service="drs", operation="ReverseReplication", region=PRIMARY, count=1)
    sim.clear_requests()
    first = _playbook("failback.yml", sim, tmp_path, inventory)
    assert first.returncode != 0
    execution_id = _execution_id(first, "FAILBACK")
    assert "Wave 1 ended PARTIAL at \"Re-protect the failed-back originals of wave 1\"" in first.stdout
    assert len(operations(sim, "StartRecovery")) == 1
    record = store.get_execution(execution_id)
    assert record["waves"][1]["status"] == "PARTIAL"
    assert all(i["launch_status"] == "LAUNCHED" for i in record["servers"][1].values())

    # Resumed, waiting for re-protection this time: wave 1's launch is adopted (no stop, no second launch),
    # wave 2 runs once; every original source server replicates again.
    sim.clear_requests()
    resumed = _playbook("failback.yml", sim, tmp_path, inventory, "-e", f"drs_execution_id={execution_id}",
                        "-e", "drs_wait_reprotect=true")
    assert resumed.returncode == 0, resumed.stdout[-5000:]
    starts = operations(sim, "StartRecovery")
    assert len(starts) == 1  # wave 2 only
    stopped = [c for c in sim.requests(service="ec2", operation="StopInstances") if c["region"] == PRIMARY]
    assert len(stopped) == 1  # wave 2's originals only (drs_recovery stops what it launches into)
    for original in wave2_originals:
        assert instance(sim, original, region=PRIMARY)["State"]["Name"] == "running"
    originals = {s["sourceServerID"]: s for s in source_servers(sim, region=RECOVERY)}
    for server in servers.values():
        replication = originals[server["source_server_id"]]["dataReplicationInfo"]
        assert replication["dataReplicationState"] == "CONTINUOUS"  # re-protection waited for
    record = store.get_execution(execution_id)
    assert {w: i["status"] for w, i in record["waves"].items()} == {1: "COMPLETED", 2: "COMPLETED"}
    assert _ops(sim, *NEVER) == []


def test_rerun_after_the_last_change_of_a_wave_before_its_record_finishes_without_waiting(sim, tmp_path):
    """A run that stops after a wave's launch, re-protection and standby but before the wave's record (a kill
    there) leaves FAILBACK servers whose replication the standby stopped. Its rerun must not wait for them to
    replicate again (they never would: their instances are stopped) nor launch anything a second time."""
    summary, store, inventory, _failover_id = _failed_over(sim, tmp_path, 2, 2)
    servers = summary["servers"]
    proc = _playbook("failback.yml", sim, tmp_path, inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    execution_id = _execution_id(proc, "FAILBACK")

    # The record as that run left it: execution and wave 2 RUNNING, the lock held by the execution.
    record = store.get_execution(execution_id)
    header = dict(record["execution"], status="RUNNING")
    for key in ("ended_at", "duration_seconds"):
        header.pop(key, None)
    store.put_execution(header)
    wave = {k: v for k, v in record["waves"][2].items()
            if k not in ("execution_id", "record_key", "ended_at", "duration_seconds", "ttl")}
    store.put_wave(execution_id, dict(wave, status="RUNNING"))
    store.acquire_lock(GROUP, execution_id)

    sim.clear_requests()
    # A short replication timeout: waiting for a stopped FAILBACK server would fail here instead of hanging.
    rerun = _playbook("failback.yml", sim, tmp_path, inventory, "-e", f"drs_execution_id={execution_id}",
                      "-e", "drs_replication_timeout=20")
    assert rerun.returncode == 0, rerun.stdout[-5000:]
    assert f"Resuming {execution_id}" in rerun.stdout
    assert "Wave 1 already completed" in rerun.stdout
    assert operations(sim, "StartRecovery") == []
    assert [c for c in operations(sim, "ReverseReplication") if c["region"] == RECOVERY] == []
    assert _ops(sim, "StopInstances", "StartInstances", "UpdateLaunchConfiguration", *NEVER) == []
    failback_servers = [s for s in source_servers(sim, region=PRIMARY) if s["replicationDirection"] == "FAILBACK"]
    assert len(failback_servers) == 2
    assert all(s["dataReplicationInfo"]["dataReplicationState"] == "STOPPED" for s in failback_servers)
    for name, server in servers.items():
        assert instance(sim, server["source_instance_id"], region=PRIMARY)["State"]["Name"] == "running", name
        assert instance(sim, server["target_instance_id"], region=RECOVERY)["State"]["Name"] == "stopped", name
    record = store.get_execution(execution_id)
    assert record["execution"]["status"] == "COMPLETED"
    assert {w: i["status"] for w, i in record["waves"].items()} == {1: "COMPLETED", 2: "COMPLETED"}
    assert store.get_lock(GROUP) is None


def test_without_the_template_each_failback_server_is_configured_by_its_own_calls(sim, tmp_path):
    """drs_failback_launch_template=false leaves the primary region's template alone: each FAILBACK server's launch
    configuration is read and set, and the originals come back all the same."""
    summary, _store, inventory, _failover_id = _failed_over(sim, tmp_path, 2, 1)
    client = sim.client("drs", region=PRIMARY)
    (template,) = client.describe_launch_configuration_templates()["items"]
    sim.clear_requests()
    proc = _playbook("failback.yml", sim, tmp_path, inventory, "-e", "drs_failback_launch_template=false")
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "Wave 1: COMPLETED - 2/2 failed back" in proc.stdout
    assert client.describe_launch_configuration_templates()["items"] == [template]
    assert _ops(sim, "UpdateLaunchConfigurationTemplate") == []
    assert len(_ops(sim, "GetLaunchConfiguration", region=PRIMARY)) == 2
    assert len(_ops(sim, "UpdateLaunchConfiguration", region=PRIMARY)) == 2
    for name, server in summary["servers"].items():
        original = instance(sim, server["source_instance_id"], region=PRIMARY)
        assert original["State"]["Name"] == "running" and original["PrivateIpAddress"] == server["source_private_ip"]
        assert attached_volumes(sim, server["source_instance_id"], region=PRIMARY), name
