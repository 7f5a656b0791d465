"""The failback modules on their own, after a real failover.yml run: drs_failback_info (from DRS, and from the
failover's record, refusing a record of another protection group or missing tables), drs_failback_targets (tag or
refuse untagged originals; pairing required or not) and drs_agent_install (check mode sends nothing; the timeout
reaches SSM; bad timings are refused before any command). Each assertion reads the simulator's state or request log.
"""
from simlib import PRIMARY, RECOVERY

from .helpers import drs, instance, mutating, tags_of
from .test_failback_playbook import GROUP, PREFIX, _failed_over, _playbook


def _sent(sim):
    return sim.requests(service="ssm", operation="SendCommand")


def test_failback_info_from_drs_and_from_the_record(sim, play, tmp_path):
    summary, _store, _inventory, failover_id = _failed_over(sim, tmp_path, 2, 1)
    servers = summary["servers"]
    names = sorted(servers)
    run = play.run([
        drs("drs_failback_info", "from_drs", names=names),
        drs("drs_failback_info", "from_record", names=names, failover_execution_id=failover_id,
            protection_group=GROUP, table_prefix=PREFIX),
        drs("drs_failback_info", "other_group", names=names, failover_execution_id=failover_id,
            protection_group="payments", table_prefix=PREFIX, ignore_errors=True),
        drs("drs_failback_info", "no_tables", names=names, failover_execution_id=failover_id,
            protection_group=GROUP, table_prefix="nowhere", ignore_errors=True),
        drs("drs_failback_info", "unknown", names=names + ["ghost-01"], ignore_errors=True),
    ])
    for task in ("from_drs", "from_record"):
        found = {s["name"]: s for s in run.ok(task)["servers"]}
        assert sorted(found) == names, task
        for name in names:
            assert found[name]["original_instance_id"] == servers[name]["source_instance_id"], (task, name)
            assert found[name]["original_private_ip"] == servers[name]["source_private_ip"], (task, name)
            assert found[name]["recovery_instance_id"] == servers[name]["target_instance_id"], (task, name)
        assert run.ok(task)["changed"] is False
    assert sorted(run.ok("from_drs")["recovery_instance_ids"]) == sorted(s["target_instance_id"]
                                                                          for s in servers.values())
    other = run.failed("other_group")["msg"]
    assert failover_id in other and "payments" in other and GROUP in other, other
    missing = run.failed("no_tables")["msg"]
    assert "nowhere-executions" in missing, missing
    unknown = run.failed("unknown")["msg"]
    assert "ghost-01" in unknown and "cannot fail back" in unknown, unknown


def test_failback_targets_tag_or_refuse_and_pairing(sim, play, tmp_path):
    summary, _store, _inventory, _failover_id = _failed_over(sim, tmp_path, 2, 1)
    servers = summary["servers"]
    originals = sorted(s["source_instance_id"] for s in servers.values())
    found = play.run([drs("drs_failback_info", "found", names=sorted(servers))]).ok("found")

    sim.clear_requests()
    run = play.run([
        drs("drs_failback_targets", "untagged", region=PRIMARY, servers=found["servers"], tag=False,
            require_failback_servers=False, ignore_errors=True),
        drs("drs_failback_targets", "unpaired", region=PRIMARY, servers=found["servers"], ignore_errors=True),
    ])
    untagged = run.failed("untagged")["msg"]
    for original in originals:
        assert f"original instance {original} is not tagged AWSDRS=AllowLaunchingIntoThisInstance" in untagged
    # tag=true but no FAILBACK server yet (no reverse replication): checked before anything is tagged
    unpaired = run.failed("unpaired")["msg"]
    assert all(name in unpaired for name in servers), unpaired
    assert sim.requests(operation="CreateTags") == []

    run = play.run([drs("drs_failback_targets", "tag_only", region=PRIMARY, servers=found["servers"],
                        require_failback_servers=False)])
    tagged = run.ok("tag_only")
    assert sorted(tagged["tagged"]) == originals and tagged["pairs"] == [] and tagged["changed"] is True
    for original in originals:
        assert tags_of(instance(sim, original, region=PRIMARY))["AWSDRS"] == "AllowLaunchingIntoThisInstance"
    again = play.run([drs("drs_failback_targets", "again", region=PRIMARY, servers=found["servers"],
                          require_failback_servers=False)]).ok("again")
    assert again["changed"] is False and again["tagged"] == []


def test_agent_install_check_mode_timeout_and_refusals(sim, play, tmp_path):
    summary, _store, _inventory, _failover_id = _failed_over(sim, tmp_path, 2, 1)
    found = play.run([drs("drs_failback_info", "found", names=sorted(summary["servers"]))]).ok("found")
    agent_servers = found["agent_servers"]
    assert len(agent_servers) == 2

    sim.clear_requests()
    checked = play.run([drs("drs_agent_install", "would", servers=agent_servers)], check=True).ok("would")
    assert checked["changed"] is True and {s["status"] for s in checked["servers"]} == {"WOULD_INSTALL"}
    assert _sent(sim) == []

    run = play.run([
        drs("drs_agent_install", "bad_poll", servers=agent_servers, poll_interval=0, ignore_errors=True),
        drs("drs_agent_install", "bad_timeout", servers=agent_servers, wait_timeout=0, ignore_errors=True),
    ])
    assert "poll_interval" in run.failed("bad_poll")["msg"] and "wait_timeout" in run.failed("bad_timeout")["msg"]
    assert _sent(sim) == []

    run = play.run([drs("drs_agent_install", "install", servers=agent_servers, wait_timeout=240, poll_interval=0.5)])
    installed = run.ok("install")
    assert sorted(installed["installed"]) == sorted(s["target_instance_id"] for s in summary["servers"].values())
    assert len(_sent(sim)) == 2
    commands = sim.client("ssm", region=RECOVERY).list_commands()["Commands"]
    assert {tuple(c["Parameters"]["executionTimeout"]) for c in commands} == {("240",)}


def test_failback_standby_check_mode_halves_refusal_and_idempotence(sim, play, tmp_path):
    summary, _store, inventory, _failover_id = _failed_over(sim, tmp_path, 2, 1)
    servers = summary["servers"]
    back = _playbook("failback.yml", sim, tmp_path, inventory, "-e", "drs_standby_after_failback=false")
    assert back.returncode == 0, back.stdout[-4000:]
    targets = sorted(s["target_instance_id"] for s in servers.values())
    assert {instance(sim, t)["State"]["Name"] for t in targets} == {"running"}  # left as they were
    found = play.run([drs("drs_failback_targets", "paired", region=PRIMARY, servers=play.run(
        [drs("drs_failback_info", "found", names=sorted(servers))]).ok("found")["servers"])]).ok("paired")
    entries = found["servers"]
    assert all(e.get("failback_source_server_id") for e in entries)
    failback_ids = sorted(e["failback_source_server_id"] for e in entries)

    sim.clear_requests()
    run = play.run([drs("drs_failback_standby", "would", servers=entries)], check=True)
    would = run.ok("would")
    assert would["changed"] is True and sorted(would["instances_stopped"]) == targets
    assert sorted(would["replication_stopped"]) == failback_ids
    assert mutating(sim) == []

    run = play.run([
        drs("drs_failback_standby", "replication_only", servers=entries, stop_instances=False),
        drs("drs_failback_standby", "instances_only", servers=entries, stop_replication=False),
        drs("drs_failback_standby", "again", servers=entries),
    ])
    assert sorted(run.ok("replication_only")["replication_stopped"]) == failback_ids
    assert run.ok("replication_only")["instances_stopped"] == []
    assert {instance(sim, t)["State"]["Name"] for t in targets} == {"stopped"}
    assert sorted(run.ok("instances_only")["instances_stopped"]) == targets
    assert run.ok("instances_only")["replication_stopped"] == []
    assert run.ok("again")["changed"] is False
    assert sim.requests(operation="TerminateInstances") == [] and sim.requests(operation="TerminateRecoveryInstances") == []

    sim.client("ec2", region=RECOVERY).delete_tags(Resources=[targets[0]], Tags=[{"Key": "AWSDRS"}])
    refused = play.run([drs("drs_failback_standby", "untagged", servers=entries, ignore_errors=True)])
    assert f"recovery instance {targets[0]} is not tagged" in refused.failed("untagged")["msg"]
