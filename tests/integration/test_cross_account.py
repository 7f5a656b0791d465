"""Cross-account options against the simulator: DRS source servers and launch-into targets in account
222222222222 reached through target_role_arn + external_id (the simulator maps real STS AssumeRole credentials
to the role's account), require_external_id, and source_role_arn / source_external_id for the primary-region
reads."""
from simlib import PRIMARY

from .helpers import (EXTERNAL_ID, ROLE_222, assert_names_and_remediation, attached_volumes, cross_account_estate, drs,
                      instance, launch_config, launch_into_id, recovery_instances, source_servers, state_tables, tags_of)

TARGET = "222222222222"
SOURCE = "333333333333"
ROLE_333 = f"arn:aws:iam::{SOURCE}:role/DRSSourceRead"
SOURCE_EXTERNAL_ID = "drs-src-4be21d"
ROLE = {"target_role_arn": ROLE_222, "external_id": EXTERNAL_ID}


def test_recovery_in_another_account(sim, play):
    summary = sim.load_estate(cross_account_estate(TARGET))
    servers = summary["servers"]
    assert all(s["drs_account"] == TARGET and s["target_account"] == TARGET for s in servers.values())
    run = play.run([
        drs("drs_instance_match", "own_account", ignore_errors=True),
        drs("drs_instance_match", "match", register="match", **ROLE),
        drs("drs_launch_config", "configure", servers="{{ match.pairs }}", **ROLE),
        drs("drs_recovery", "recover", servers="{{ match.pairs }}", execution_id="exec-xa", poll_interval=0.2,
            register="recover", **ROLE),
        drs("drs_ip_validate", "ips", servers="{{ match.pairs }}", expect="both", **ROLE),
        drs("drs_source_server_info", "info", **ROLE),
        drs("drs_job_info", "jobs", execution_id="exec-xa", **ROLE),
        drs("drs_reverse_replication", "reverse", poll_interval=0.2,
            recovery_instance_ids="{{ recover.servers | map(attribute='recovery_instance_id') | list }}", **ROLE),
    ])
    # without the role the module acts in the orchestrator's own account, where DRS is not even initialised
    own = run.failed("own_account")
    assert "UninitializedAccountException" in own["msg"] and "123456789012" in own["msg"]
    match = run.ok("match")
    assert sorted(p["name"] for p in match["pairs"]) == sorted(servers)
    assert all(p["name_from"] == "source_instance" for p in match["pairs"])  # sources read in the own account
    assert run.ok("configure")["changed_count"] == 2
    recovered = run.ok("recover")
    assert recovered["counts"]["launched"] == 2
    assert run.ok("ips")["preservation_rate"] == 100.0
    assert len(run.ok("info")["source_servers"]) == 2
    assert len(run.ok("jobs")["jobs"]) == 1
    assert run.ok("reverse")["all_ready"] is True

    for name, server in servers.items():
        config = launch_config(sim, server["source_server_id"], account=TARGET)
        assert launch_into_id(config) == server["target_instance_id"]
        target = instance(sim, server["target_instance_id"], account=TARGET)
        assert target["State"]["Name"] == "running" and target["PrivateIpAddress"] == server["source_private_ip"]
        volumes = attached_volumes(sim, server["target_instance_id"], account=TARGET)
        assert all(tags_of(v).get("drs:recovered-from") == server["source_server_id"] for v in volumes)
    assert {r["ec2InstanceID"] for r in recovery_instances(sim, account=TARGET)} == {
        s["target_instance_id"] for s in servers.values()}
    # failback servers appear in the origin account and region
    failback = [s for s in source_servers(sim, region=PRIMARY) if s.get("replicationDirection") == "FAILBACK"]
    assert len(failback) == 2

    drs_calls = sim.requests(service="drs")
    mutating_drs = [c for c in drs_calls if c["mutating"]]
    assert mutating_drs and all(c["account"] == TARGET for c in mutating_drs if c["region"] == "us-west-2")
    assert {c["operation"] for c in mutating_drs} >= {"UpdateLaunchConfiguration", "StartRecovery", "ReverseReplication"}
    assert any(c["operation"] == "AssumeRole" for c in sim.requests(service="sts"))


def test_external_id_is_required_before_any_call(sim, play):
    summary = sim.load_estate(cross_account_estate(TARGET))
    pairs = [{"source_server_id": s["source_server_id"], "target_instance_id": s["target_instance_id"]}
             for s in summary["servers"].values()]
    targets = [p["target_instance_id"] for p in pairs]
    required = {  # each module with its required options
        "drs_instance_match": {}, "drs_source_server_info": {}, "drs_job_info": {},
        "drs_launch_config": {"servers": pairs}, "drs_recovery": {"servers": pairs},
        "drs_reverse_replication": {"recovery_instance_ids": targets},
        "drs_ip_validate": {"servers": [{"instance_id": s["target_instance_id"], "target_private_ip": s["target_private_ip"]}
                                        for s in summary["servers"].values()]},
    }
    sim.clear_requests()
    refused = play.run(
        [drs(module, module, target_role_arn=ROLE_222, ignore_errors=True, **args) for module, args in required.items()]
        + [drs("drs_recovery", "not_a_role", servers=pairs, target_role_arn="DRSOrchestration", external_id=EXTERNAL_ID,
               ignore_errors=True)])
    for module in required:
        assert_names_and_remediation(refused.failed(module), ROLE_222, "ExternalId", "require_external_id=false")
    assert_names_and_remediation(refused.failed("not_a_role"), "'DRSOrchestration' is not an IAM role ARN")
    assert sim.requests() == []  # refused before any call, STS included

    allowed = play.run([drs(module, module, target_role_arn=ROLE_222, require_external_id=False, **required[module])
                        for module in ("drs_instance_match", "drs_source_server_info", "drs_job_info", "drs_ip_validate")])
    assert len(allowed.ok("drs_instance_match")["pairs"]) == 2
    assert len(allowed.ok("drs_source_server_info")["source_servers"]) == 2
    assert allowed.ok("drs_job_info")["jobs"] == []
    assert allowed.ok("drs_ip_validate")["preservation_rate"] == 100.0
    assert {c["account"] for c in sim.requests(service="drs")} == {TARGET}
    assert {c["account"] for c in sim.requests(service="ec2")} == {TARGET, "123456789012"}  # sources: own account


def test_drs_wave_matches_through_the_source_role_and_records_in_the_recovery_account(sim, play):
    # sources in 333333333333 (primary region), DRS, targets and the state tables in 222222222222
    summary = sim.load_estate(cross_account_estate(TARGET, source_account=SOURCE))
    store = state_tables(sim, account=TARGET)
    source_role = {"source_role_arn": ROLE_333, "source_external_id": SOURCE_EXTERNAL_ID}
    waves = {"1": sorted(summary["servers"])}
    sim.clear_requests()
    run = play.run([drs("drs_wave", "prepare", protection_group="shop", execution_id="x-wave-1", waves=waves, **ROLE,
                        **source_role)])
    prepared = run.ok("prepare")
    pairs = prepared["waves"]["1"]["pairs"]
    assert sorted(p["name"] for p in pairs) == sorted(summary["servers"])
    assert all(p["name_from"] == "source_instance" for p in pairs)  # read from the instances, as the source role
    assert {c["account"] for c in sim.requests(service="ec2") if c["region"] == PRIMARY} == {SOURCE}
    assert {c["account"] for c in sim.requests(service="drs")} == {TARGET}
    assert {c["account"] for c in sim.requests(service="dynamodb")} == {TARGET}
    assert store.get_execution("x-wave-1")["execution"] is None  # prepare reads the record, writes none


def test_source_role_for_primary_region_reads(sim, play):
    # sources in 333333333333 (primary region), DRS and targets in 222222222222 (recovery region)
    summary = sim.load_estate(cross_account_estate(TARGET, source_account=SOURCE))
    source_role = {"source_role_arn": ROLE_333, "source_external_id": SOURCE_EXTERNAL_ID}
    targets = [s["target_instance_id"] for s in summary["servers"].values()]
    run = play.run([
        drs("drs_instance_match", "without_source_role", **ROLE),
        drs("drs_instance_match", "with_source_role", register="match", **ROLE, **source_role),
        drs("drs_instance_match", "source_role_without_id", source_role_arn=ROLE_333, ignore_errors=True, **ROLE),
        drs("drs_launch_config", "configure", servers="{{ match.pairs }}", **ROLE),
        drs("drs_recovery", "recover", servers="{{ match.pairs }}", poll_interval=0.2, **ROLE),
        # the failback servers are created in the origin account, which only the source role reaches
        drs("drs_reverse_replication", "reverse", recovery_instance_ids=targets, poll_interval=0.2, **ROLE,
            **source_role),
    ])
    without = run.ok("without_source_role")
    # the own account has no such instances: the module can only use what DRS recorded
    assert without["pairs"] and all(p["name_from"] == "drs_source_server" for p in without["pairs"])
    with_role = run.ok("with_source_role")
    assert sorted(p["name"] for p in with_role["pairs"]) == sorted(summary["servers"])
    for pair in with_role["pairs"]:
        assert pair["name_from"] == "source_instance"
        assert pair["source_instance_id"] == summary["servers"][pair["name"]]["source_instance_id"]
        assert any(c["name"] == "security_group_names" for c in pair["checks"])  # only known from the instance
    assert_names_and_remediation(run.failed("source_role_without_id"), ROLE_333, "ExternalId")
    primary_reads = [c for c in sim.requests(service="ec2") if c["region"] == PRIMARY]
    assert {c["account"] for c in primary_reads} == {"123456789012", SOURCE}

    assert run.ok("recover")["counts"]["launched"] == 2
    reverse = run.ok("reverse")
    assert reverse["all_ready"] is True and sorted(reverse["started"]) == sorted(targets)
    failback = [s for s in source_servers(sim, account=SOURCE, region=PRIMARY)
                if s.get("replicationDirection") == "FAILBACK"]
    assert sorted(s["sourceServerID"] for s in failback) == sorted(e["reversed_source_server_id"] for e in reverse["servers"])
    origin_reads = [c for c in sim.requests(service="drs") if c["region"] == PRIMARY]
    assert origin_reads and {c["account"] for c in origin_reads} == {SOURCE}

    # Standby after failback: the FAILBACK servers' replication is stopped in the origin account, through the
    # source role (without it, nothing is changed).
    servers = [{"name": e["recovery_instance_id"], "failback_source_server_id": e["reversed_source_server_id"],
                "recovery_instance_id": e["recovery_instance_id"]} for e in reverse["servers"]]
    sim.clear_requests()
    standby = play.run([
        drs("drs_failback_standby", "no_source_role", source_region=PRIMARY, servers=servers, stop_instances=False,
            ignore_errors=True, **ROLE),
        drs("drs_failback_standby", "standby", source_region=PRIMARY, servers=servers, stop_instances=False, **ROLE,
            **source_role),
    ])
    # the own account's primary region has no DRS at all: named, with the fix
    assert "not initialized for Elastic Disaster Recovery in us-east-1" in standby.failed("no_source_role")["msg"]
    assert sim.requests(operation="StopReplication")[:1] and all(
        c["account"] == SOURCE for c in sim.requests(operation="StopReplication"))
    assert sorted(standby.ok("standby")["replication_stopped"]) == sorted(s["failback_source_server_id"] for s in servers)
    stops = sim.requests(service="drs", operation="StopReplication")
    assert len(stops) == 2 and {(c["account"], c["region"]) for c in stops} == {(SOURCE, PRIMARY)}
    assert {s["dataReplicationInfo"]["dataReplicationState"] for s in source_servers(sim, account=SOURCE, region=PRIMARY)
            if s.get("replicationDirection") == "FAILBACK"} == {"STOPPED"}
