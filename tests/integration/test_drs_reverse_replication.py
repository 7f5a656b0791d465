"""drs_reverse_replication against the simulator: after a recovery into the targets, replicate them back to the
primary region until failback is ready; check mode; adoption on rerun; wait=false; timeout; refusals."""
from simlib import PRIMARY, small_estate

from .helpers import (assert_names_and_remediation, assert_no_mutation, drs, mutating, operations, pairs_of,
                      recovery_instances, source_servers)

MISSING_INSTANCE = "i-0123456789abcdef0"


def _recover(play, summary):
    pairs = pairs_of(summary)
    run = play.run([
        drs("drs_launch_config", "configure", servers=pairs),
        drs("drs_recovery", "recover", servers=pairs, poll_interval=0.2),
    ])
    assert run.ok("recover")["counts"]["launched"] == len(pairs)
    return pairs


def test_reverse_replication_until_ready(sim, play):
    summary = sim.load_estate(small_estate(2, 1))
    pairs = _recover(play, summary)
    targets = [p["target_instance_id"] for p in pairs]

    sim.clear_requests()
    check = play.run([drs("drs_reverse_replication", "reverse", recovery_instance_ids=targets, poll_interval=0.2)],
                     check=True)
    predicted = check.ok("reverse")
    assert predicted["changed"] is True and sorted(predicted["started"]) == sorted(targets)
    assert all(e["reversed_source_server_id"] is None and not e["ready"] for e in predicted["servers"])
    assert_no_mutation(sim, "drs_reverse_replication --check")
    assert [s for s in source_servers(sim, region=PRIMARY) if s.get("replicationDirection") == "FAILBACK"] == []

    run = play.run([
        drs("drs_reverse_replication", "reverse", recovery_instance_ids=targets, lag_threshold=30, poll_interval=0.2),
        drs("drs_reverse_replication", "again", recovery_instance_ids=targets, lag_threshold=30, poll_interval=0.2),
        drs("drs_source_server_info", "failback_servers", region=PRIMARY, replication_direction="FAILBACK"),
        drs("drs_source_server_info", "no_failback_in_recovery_region", replication_direction="FAILBACK"),
        drs("drs_source_server_info", "failover_in_recovery_region", replication_direction="FAILOVER"),
    ])
    result = run.ok("reverse")
    assert result["changed"] is True and sorted(result["started"]) == sorted(targets)
    assert result["all_ready"] is True and result["timed_out"] is False
    entries = {e["recovery_instance_id"]: e for e in result["servers"]}
    failback = {s["sourceServerID"]: s for s in source_servers(sim, region=PRIMARY)
                if s.get("replicationDirection") == "FAILBACK"}
    assert len(failback) == 2
    for pair in pairs:
        entry = entries[pair["target_instance_id"]]
        original = summary["servers"][pair["name"]]
        assert entry["original_source_server_id"] == pair["source_server_id"]
        assert entry["original_instance_id"] == original["source_instance_id"]
        assert entry["staging_account_id"] is None
        assert entry["replication_state"] == "CONTINUOUS" and entry["lag_seconds"] < 30 and entry["ready"] is True
        reversed_server = failback[entry["reversed_source_server_id"]]
        assert reversed_server["arn"] == entry["reversed_source_server_arn"]
        # found by the protected instance, which here is the launch-into target
        hints = reversed_server["sourceProperties"]["identificationHints"]
        assert hints["awsInstanceID"] == pair["target_instance_id"]
        assert reversed_server["dataReplicationInfo"]["dataReplicationState"] == "CONTINUOUS"
    records = {r["recoveryInstanceID"]: r for r in recovery_instances(sim)}
    assert all(records[t]["failback"]["state"] == "FAILBACK_READY_FOR_LAUNCH" for t in targets)

    again = run.ok("again")
    assert again["changed"] is False and again["started"] == [] and again["all_ready"] is True
    assert sorted(e["reversed_source_server_id"] for e in again["servers"]) == sorted(failback)
    assert len(operations(sim, "ReverseReplication")) == 2  # the rerun adopted
    assert [c["operation"] for c in mutating(sim)] == ["ReverseReplication"] * 2

    listed = run.ok("failback_servers")["source_servers"]
    assert sorted(s["source_server_id"] for s in listed) == sorted(failback)
    assert all(s["replication_direction"] == "FAILBACK" for s in listed)
    assert run.ok("no_failback_in_recovery_region")["source_servers"] == []
    assert len(run.ok("failover_in_recovery_region")["source_servers"]) == 2


def test_reverse_replication_no_wait_timeout_and_refusals(sim, play):
    summary = sim.load_estate(small_estate(2, 1))
    # a long initial sync, so nothing is ready within the test
    sim.set_config(durations={"initial_sync_per_gib": 100000})
    pairs = _recover(play, summary)
    targets = [p["target_instance_id"] for p in pairs]

    sim.clear_requests()
    refused = play.run([
        drs("drs_reverse_replication", "unknown", recovery_instance_ids=[targets[0], MISSING_INSTANCE],
            ignore_errors=True),
        drs("drs_reverse_replication", "no_source_region", recovery_instance_ids=targets, source_region=None,
            ignore_errors=True),
    ])
    assert_names_and_remediation(refused.failed("unknown"), MISSING_INSTANCE, "run the failover first")
    assert_names_and_remediation(refused.failed("no_source_region"), "source_region")
    assert_no_mutation(sim, "refused drs_reverse_replication")

    run = play.run([
        drs("drs_reverse_replication", "no_wait", recovery_instance_ids=targets, wait=False),
        drs("drs_reverse_replication", "timeout", recovery_instance_ids=targets, wait_timeout=1, poll_interval=0.2,
            ignore_errors=True),
    ])
    no_wait = run.ok("no_wait")
    assert no_wait["changed"] is True and sorted(no_wait["started"]) == sorted(targets)
    assert no_wait["all_ready"] is False and no_wait["timed_out"] is False
    for entry in no_wait["servers"]:
        assert entry["reversed_source_server_id"] and entry["ready"] is False
        assert entry["replication_state"] in ("INITIATING", "INITIAL_SYNC")

    timeout = run.failed("timeout")
    assert timeout["timed_out"] is True and timeout["started"] == [] and timeout["all_ready"] is False
    assert_names_and_remediation(timeout, "2 failback server(s) not ready after 1 s", targets[0], targets[1],
                                 "raise wait_timeout")
    assert len(operations(sim, "ReverseReplication")) == 2
