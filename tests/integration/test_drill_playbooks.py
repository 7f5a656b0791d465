"""playbooks/drill.yml and playbooks/drill_cleanup.yml end to end against the simulator, and the
drs_drill_cleanup module on its own.

A drill of every wave leaves the targets running on recovered volumes with isDrill recovery instances; the clean-up
of chosen waves stops the targets and disconnects and deletes the recovery instances, never terminating anything
(every EC2 instance still exists, no TerminateRecoveryInstances/TerminateInstances in the request log); a second
clean-up changes nothing; both executions are recorded in DynamoDB; --check makes no mutating call. A real recovery
is refused (or skipped) by the clean-up, and a drill launched as a new instance is refused, before any change."""
import json
import os

import principals
from simlib import RECOVERY, small_estate

from .helpers import (EXTERNAL_ID, ROLE_222, ROOT, assert_names_and_remediation, attached_volumes, cross_account_estate,
                      drs, instance, mutating, operations, pairs_of, recovery_instances, run_tool, tags_of)
from .test_drs_execution import _items, _lock, _tables
from .test_failover_playbook import _inventory

NEVER = ("TerminateRecoveryInstances", "TerminateInstances")


def _playbook(sim, tmp_path, name, inventory, *args, env=None):
    return run_tool("ansible-playbook", [os.path.join(ROOT, "playbooks", name), "-i", inventory] + list(args),
                    sim.url, tmp_path, timeout=600, env=env)


def _execution_id(proc, kind):
    marker = f"{kind} execution "
    for line in proc.stdout.splitlines():
        if marker in line:
            return line.split(marker, 1)[1].split()[0]
    raise AssertionError(f"no {kind} execution id printed:\n{proc.stdout}")


def _out(proc):
    return proc.stdout[-5000:] + proc.stderr[-2000:]


def _all_instances(sim):
    ec2 = sim.client("ec2", region=RECOVERY)
    return {i["InstanceId"]: i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]}


def _states(sim, ids):
    found = _all_instances(sim)
    return {i: found[i]["State"]["Name"] for i in ids}


def _drs_ec2_mutations(sim):
    return [(c["service"], c["operation"]) for c in mutating(sim) if c["service"] in ("drs", "ec2")]


def _never_terminated(sim, instances_before):
    for operation in NEVER:
        assert sim.requests(operation=operation) == [], f"{operation} was called"
    after = _all_instances(sim)
    assert set(instances_before) <= set(after), "an EC2 instance disappeared"
    assert all(after[i]["State"]["Name"] not in ("shutting-down", "terminated") for i in instances_before)


def _servers(items):
    return {k.split("#", 2)[2]: v for k, v in items.items() if k.startswith("SERVER#")}


def test_drill_then_cleanup_by_wave_idempotent_and_recorded(sim, tmp_path):
    summary = sim.load_estate(small_estate(4, 2))
    client = _tables(sim)
    run_as = principals.create(sim.url, table_prefix="it-state")  # IAM enforced, as the shipped policies' roles
    inventory = _inventory(tmp_path, summary, **run_as.vars)
    servers = summary["servers"]
    targets = {name: s["target_instance_id"] for name, s in servers.items()}
    by_wave = {w: sorted(targets[n] for n, s in servers.items() if s["wave"] == w) for w in (1, 2)}
    instances_before = _all_instances(sim)

    # --check: what would be drilled, and no change anywhere.
    sim.clear_requests()
    checked = _playbook(sim, tmp_path, "drill.yml", inventory, "--check", env=run_as.env)
    assert checked.returncode == 0, _out(checked)
    assert mutating(sim) == [], "drill --check must make no mutating AWS call"
    assert "WOULD_LAUNCH" in checked.stdout and "Wave 2: COMPLETED" in checked.stdout

    drill = _playbook(sim, tmp_path, "drill.yml", inventory, env=run_as.env)
    assert drill.returncode == 0, _out(drill)
    drill_id = _execution_id(drill, "DRILL")
    assert "-drill-" in drill_id
    for wave in (1, 2):
        assert f"drs_wave wave {wave}: 2/2 launched, 0 in progress, 0 failed (100%)" in drill.stdout
    # After the drill: every target runs, with its own ID and IP, on volumes recovered from its source server.
    for name, target_id in targets.items():
        target = instance(sim, target_id)
        assert target["State"]["Name"] == "running", name
        assert target["PrivateIpAddress"] == servers[name]["target_private_ip"]
        assert all(tags_of(v).get("drs:recovered-from") == servers[name]["source_server_id"]
                   for v in attached_volumes(sim, target_id))
    records = {r["recoveryInstanceID"]: r for r in recovery_instances(sim)}
    assert set(records) == set(targets.values())
    assert all(r["isDrill"] is True for r in records.values())
    starts = operations(sim, "StartRecovery")
    assert len(starts) == 2
    drs_client = sim.client("drs", region=RECOVERY)
    assert {j["initiatedBy"] for j in drs_client.describe_jobs(filters={})["items"]} == {"START_DRILL"}
    items = _items(client, drill_id)
    assert items["EXECUTION"]["execution_type"]["S"] == "DRILL" and items["EXECUTION"]["is_drill"]["BOOL"] is True
    assert items["EXECUTION"]["execution_status"]["S"] == "COMPLETED"
    assert {n: v["launch_status"]["S"] for n, v in _servers(items).items()} == {n: "LAUNCHED" for n in targets}
    _never_terminated(sim, instances_before)

    # --check of the clean-up: says what it would do, changes nothing.
    sim.clear_requests()
    checked = _playbook(sim, tmp_path, "drill_cleanup.yml", inventory, "--check", env=run_as.env)
    assert checked.returncode == 0, _out(checked)
    assert mutating(sim) == [], "drill_cleanup --check must make no mutating AWS call"
    assert checked.stdout.count("would stop 2 target(s), would disconnect 2 and would delete 2") == 2
    assert checked.stdout.count("WOULD_CLEAN") >= 4
    assert len(recovery_instances(sim)) == 4 and set(_states(sim, targets.values()).values()) == {"running"}

    # Clean up wave 2 only: its targets stop and its drill records go; wave 1 is untouched.
    sim.clear_requests()
    first = _playbook(sim, tmp_path, "drill_cleanup.yml", inventory, "-e", json.dumps({"drs_waves": [2]}), env=run_as.env)
    assert first.returncode == 0, _out(first)
    first_id = _execution_id(first, "DRILL_CLEANUP")
    assert set(_states(sim, by_wave[2]).values()) == {"stopped"}
    assert set(_states(sim, by_wave[1]).values()) == {"running"}
    assert sorted(r["recoveryInstanceID"] for r in recovery_instances(sim)) == by_wave[1]
    assert sorted(operation for _service, operation in _drs_ec2_mutations(sim)) == sorted(
        ["StopInstances"] + ["DisconnectRecoveryInstance", "DeleteRecoveryInstance"] * 2)
    _never_terminated(sim, instances_before)

    # Clean up every wave: wave 1 now; wave 2 has nothing left.
    sim.clear_requests()
    second = _playbook(sim, tmp_path, "drill_cleanup.yml", inventory, env=run_as.env)
    assert second.returncode == 0, _out(second)
    second_id = _execution_id(second, "DRILL_CLEANUP")
    # Waves go down in descending order.
    assert second.stdout.index("Wave 2: COMPLETED") < second.stdout.index("Wave 1: COMPLETED")
    assert set(_states(sim, targets.values()).values()) == {"stopped"}
    assert recovery_instances(sim) == []
    assert len(operations(sim, "DisconnectRecoveryInstance")) == 2
    assert len(operations(sim, "DeleteRecoveryInstance")) == 2
    _never_terminated(sim, instances_before)
    # The targets keep the drill's volumes; their earlier volumes are detached, kept and tagged.
    for name, target_id in targets.items():
        assert all(tags_of(v).get("drs:recovered-from") == servers[name]["source_server_id"]
                   for v in attached_volumes(sim, target_id))
        kept = sim.client("ec2", region=RECOVERY).describe_volumes(
            Filters=[{"Name": "tag:drs:replaced-on-instance", "Values": [target_id]}])["Volumes"]
        assert kept and all(v["State"] == "available" for v in kept)

    # The records of both clean-up executions.
    for execution_id, cleaned_waves in ((first_id, {2}), (second_id, {1})):
        items = _items(client, execution_id)
        assert items["EXECUTION"]["execution_type"]["S"] == "DRILL_CLEANUP"
        assert items["EXECUTION"]["execution_status"]["S"] == "COMPLETED"
        for name, item in _servers(items).items():
            expected = "CLEANED" if servers[name]["wave"] in cleaned_waves else "NOTHING_TO_CLEAN"
            assert item["launch_status"]["S"] == expected, (execution_id, name)
            if expected == "CLEANED":
                assert item["recovery_instance_id"]["S"] == targets[name]
                assert item["source_private_ip"]["S"] == servers[name]["source_private_ip"]
                assert item["target_private_ip"]["S"] == servers[name]["target_private_ip"]
    assert len(_servers(_items(client, first_id))) == 2 and len(_servers(_items(client, second_id))) == 4
    assert _lock(client) is None

    # Idempotent: a third clean-up finds nothing to do and changes nothing in DRS or EC2.
    sim.clear_requests()
    third = _playbook(sim, tmp_path, "drill_cleanup.yml", inventory, env=run_as.env)
    assert third.returncode == 0, _out(third)
    assert _drs_ec2_mutations(sim) == []
    assert third.stdout.count("NOTHING_TO_CLEAN") >= 4
    _never_terminated(sim, instances_before)
    iam = sim.control("GET", "iam")  # enforced throughout, and nothing the run did was refused
    assert iam["enforce"] is True and iam["denials"] == []


def test_cleanup_refuses_a_real_recovery_before_any_change(sim, tmp_path):
    summary = sim.load_estate(small_estate(2, 1))
    client = _tables(sim)
    inventory = _inventory(tmp_path, summary)
    targets = sorted(s["target_instance_id"] for s in summary["servers"].values())
    failover = _playbook(sim, tmp_path, "failover.yml", inventory)
    assert failover.returncode == 0, _out(failover)
    assert all(r["isDrill"] is False for r in recovery_instances(sim))

    sim.clear_requests()
    refused = _playbook(sim, tmp_path, "drill_cleanup.yml", inventory)
    assert refused.returncode != 0
    for name, server in summary["servers"].items():
        assert name in refused.stdout and server["target_instance_id"] in refused.stdout
    assert "is not a drill" in refused.stdout and "non_drill_instances=skip" in refused.stdout
    assert _drs_ec2_mutations(sim) == [], "the refusal must come before any change"
    assert set(_states(sim, targets).values()) == {"running"} and len(recovery_instances(sim)) == 2
    refused_id = _execution_id(refused, "DRILL_CLEANUP")
    items = _items(client, refused_id)
    assert items["EXECUTION"]["execution_status"]["S"] == "FAILED"
    assert items["WAVE#0001"]["status"]["S"] == "FAILED" and "not a drill" in items["WAVE#0001"]["error"]["M"][
        "message"]["S"]
    assert _lock(client) is None

    sim.clear_requests()
    skipped = _playbook(sim, tmp_path, "drill_cleanup.yml", inventory, "-e", "drs_cleanup_non_drill=skip")
    assert skipped.returncode == 0, _out(skipped)
    assert skipped.stdout.count("SKIPPED") >= 2
    assert _drs_ec2_mutations(sim) == []
    assert set(_states(sim, targets).values()) == {"running"} and len(recovery_instances(sim)) == 2


def test_drill_cleanup_module_choices_refusals_and_check_mode(sim, play):
    # db-01: drill into its target; db-02: a real recovery into its target; db-03: drill launched as a new instance.
    summary = sim.load_estate(small_estate(3, 1))
    pairs = {p["name"]: p for p in pairs_of(summary)}
    ids = {n: p["source_server_id"] for n, p in pairs.items()}
    setup = play.run([
        drs("drs_launch_config", "configure", servers=[pairs["db-01"], pairs["db-02"]]),
        drs("drs_recovery", "drill", servers=[{"source_server_id": ids["db-01"]}, {"source_server_id": ids["db-03"]}],
            mode="drill", poll_interval=0.2),
        drs("drs_recovery", "recover", servers=[{"source_server_id": ids["db-02"]}], poll_interval=0.2),
    ])
    assert setup.ok("drill")["counts"]["launched"] == 2 and setup.ok("recover")["counts"]["launched"] == 1
    by_server = {r["sourceServerID"]: r for r in recovery_instances(sim)}
    new_instance = by_server[ids["db-03"]]["ec2InstanceID"]
    assert new_instance != pairs["db-03"]["target_instance_id"]
    instances_before = _all_instances(sim)

    everything = [dict(pairs[n], name=n) for n in ("db-01", "db-02", "db-03")]
    sim.clear_requests()
    refused = play.run([drs("drs_drill_cleanup", "refused", servers=everything, ignore_errors=True)])
    msg = assert_names_and_remediation(refused.failed("refused"), "db-02", "is not a drill", "db-03", new_instance,
                                       "not tagged AWSDRS=AllowLaunchingIntoThisInstance")
    assert "db-01:" not in msg
    assert _drs_ec2_mutations(sim) == []

    two = [dict(pairs["db-01"], name="db-01"), dict(pairs["db-02"], name="db-02")]
    run = play.run([
        drs("drs_drill_cleanup", "would_clean", servers=two, non_drill_instances="clean"),
    ], check=True)
    predicted = run.ok("would_clean")
    assert predicted["changed"] is True
    assert {s["name"]: s["cleanup_status"] for s in predicted["servers"]} == {"db-01": "WOULD_CLEAN",
                                                                               "db-02": "WOULD_CLEAN"}
    assert sorted(predicted["stopped"]) == sorted([pairs["db-01"]["target_instance_id"],
                                                   pairs["db-02"]["target_instance_id"]])
    assert all(s["actions"] == ["stop", "disconnect", "delete"] for s in predicted["servers"])
    assert _drs_ec2_mutations(sim) == []

    run = play.run([
        drs("drs_drill_cleanup", "skip", servers=two + [{"name": "ghost-01", "source_server_id": None,
                                                         "reason": "no DRS source server"}],
            non_drill_instances="skip"),
        drs("drs_drill_cleanup", "clean", servers=two, non_drill_instances="clean"),
        drs("drs_drill_cleanup", "again", servers=two, non_drill_instances="clean"),
    ])
    skip = {s["name"]: s for s in run.ok("skip")["servers"]}
    assert skip["db-01"]["cleanup_status"] == "CLEANED" and skip["db-01"]["instance_state"] == "stopped"
    assert skip["db-02"]["cleanup_status"] == "SKIPPED" and "not a drill" in skip["db-02"]["note"]
    assert skip["ghost-01"]["cleanup_status"] == "NOT_MATCHED"
    assert run.ok("skip")["deleted"] == [pairs["db-01"]["target_instance_id"]]
    clean = {s["name"]: s for s in run.ok("clean")["servers"]}
    assert clean["db-01"]["cleanup_status"] == "NOTHING_TO_CLEAN"
    assert clean["db-02"]["cleanup_status"] == "CLEANED" and clean["db-02"]["is_drill"] is False
    again = run.ok("again")
    assert again["changed"] is False and {s["cleanup_status"] for s in again["servers"]} == {"NOTHING_TO_CLEAN"}
    assert sorted(r["sourceServerID"] for r in recovery_instances(sim)) == [ids["db-03"]]
    assert _states(sim, [pairs["db-01"]["target_instance_id"], pairs["db-02"]["target_instance_id"]]) == {
        pairs["db-01"]["target_instance_id"]: "stopped", pairs["db-02"]["target_instance_id"]: "stopped"}
    assert instance(sim, new_instance)["State"]["Name"] == "running"  # never touched
    _never_terminated(sim, instances_before)


def test_drill_cleanup_in_another_account(sim, play):
    target_account = "222222222222"
    summary = sim.load_estate(cross_account_estate(target_account))
    role = {"target_role_arn": ROLE_222, "external_id": EXTERNAL_ID}
    servers = pairs_of(summary)
    sim.clear_requests()
    refused = play.run([drs("drs_drill_cleanup", "no_external_id", servers=servers, target_role_arn=ROLE_222,
                            ignore_errors=True)])
    assert_names_and_remediation(refused.failed("no_external_id"), ROLE_222, "ExternalId", "require_external_id=false")
    assert sim.requests() == []

    run = play.run([
        drs("drs_launch_config", "configure", servers=servers, **role),
        drs("drs_recovery", "drill", servers=servers, mode="drill", poll_interval=0.2, **role),
        drs("drs_drill_cleanup", "own_account", servers=servers, ignore_errors=True),
        drs("drs_drill_cleanup", "cleanup", servers=servers, **role),
        drs("drs_drill_cleanup", "without_id_check", servers=servers, target_role_arn=ROLE_222,
            require_external_id=False),
    ])
    assert run.ok("drill")["counts"]["launched"] == 2
    # without the role the module reads the orchestrator's own account, where DRS is not even initialised
    assert "UninitializedAccountException" in run.failed("own_account")["msg"]
    cleanup = run.ok("cleanup")
    assert sorted(cleanup["deleted"]) == sorted(s["target_instance_id"] for s in servers)
    assert recovery_instances(sim, account=target_account) == []
    for server in servers:
        assert instance(sim, server["target_instance_id"], account=target_account)["State"]["Name"] == "stopped"
    assert run.ok("without_id_check")["changed"] is False
    calls = [c for c in mutating(sim, "drs") if c["operation"] in ("DisconnectRecoveryInstance", "DeleteRecoveryInstance")]
    assert len(calls) == 4 and {c["account"] for c in calls} == {target_account}
    for operation in NEVER:
        assert sim.requests(operation=operation) == []
