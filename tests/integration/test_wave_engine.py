"""The wave engine (module_utils/wave_engine) run directly against the simulator, without Ansible: a failover of
two waves prepared together, the record as the run's state (a completed wave skipped, the next one RUNNING),
a blocked wave recorded with the servers at fault and nothing changed, check mode, and a drill."""
import pytest

from ansible_collections.elasticdr.orchestration.plugins.module_utils import wave_engine
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.executions import ExecutionRecorder
from simlib import PRIMARY, RECOVERY, small_estate

from .helpers import (assert_no_mutation, engine_connections, fail_over_directly, instance, jobs, launch_config,
                      launch_into_id, mutating, state_tables, waves_of)

GROUP = "shop"


def started(store, execution_id, execution_type="FAILOVER", waves=(1, 2), first_running=True):
    """The execution as the role's start tasks leave it: lock taken, record created, first wave RUNNING."""
    recorder = ExecutionRecorder(store, GROUP, execution_id)
    recorder.start(execution_type, waves=list(waves), primary_region=PRIMARY, recovery_region=RECOVERY)
    if first_running:
        recorder.record_wave(waves[0], "RUNNING")
    return recorder


def params(execution_id, waves, **extra):
    return dict({"protection_group": GROUP, "execution_id": execution_id, "waves": waves, "poll_interval": 0.2,
                 "wait_timeout": 120}, **extra)


def test_failover_of_two_waves_prepared_together_and_recorded(sim):
    summary = sim.load_estate(small_estate(4, 2))
    waves = waves_of(summary)
    store = state_tables(sim)
    started(store, "ex-engine-1")
    before = {n: instance(sim, s["target_instance_id"]) for n, s in summary["servers"].items()}
    lines = []
    conn = engine_connections(sim)

    prepared = wave_engine.run(conn, params("ex-engine-1", waves), show=lines.append)
    assert sorted(prepared["waves"]) == ["1", "2"] and prepared["blocked"] == {}
    assert prepared["configured"] == 4 and prepared["changed"] is True
    for name, server in summary["servers"].items():
        assert launch_into_id(launch_config(sim, server["source_server_id"])) == server["target_instance_id"], name

    sim.clear_requests()
    first = wave_engine.run(conn, params("ex-engine-1", waves, wave=1, prepared=prepared), show=lines.append)
    assert first["wave_status"] == "COMPLETED" and first["failed"] is False and first["changed"] is True
    # The prepared match and configuration serve the wave: no second read of the estate, no launch configuration.
    called = {c["operation"] for c in sim.requests(service="drs")}
    assert not called & {"GetLaunchConfiguration", "UpdateLaunchConfiguration"}, called
    # Polled at poll_interval (0.2 s), not the default 30 s.
    assert first["recovery"]["polls"] >= 1 and first["recovery"]["wait_seconds"] < 10
    assert first["counts"]["launched"] == len(waves[1]) and first["next_wave_running"] == 2
    assert first["summary"][0].startswith("Wave 1: COMPLETED")
    assert any(line.startswith("wave 1: ") and "launched" in line for line in lines)
    record = store.get_execution("ex-engine-1")
    assert record["waves"][1]["status"] == "COMPLETED" and record["waves"][2]["status"] == "RUNNING"
    assert len(record["waves"][1]["job_ids"]) == 1

    second = wave_engine.run(conn, params("ex-engine-1", waves, wave=2, prepared=prepared))
    assert second["wave_status"] == "COMPLETED" and second["next_wave_running"] is None

    # AWS state: every target kept its instance ID and private IP and is the server's recovery instance.
    for name, server in summary["servers"].items():
        target = instance(sim, server["target_instance_id"])
        assert target["PrivateIpAddress"] == before[name]["PrivateIpAddress"], name
        assert target["State"]["Name"] == "running", name
    all_jobs = jobs(sim)
    assert len(all_jobs) == 2 and all(j["initiatedBy"] == "START_RECOVERY" for j in all_jobs)
    assert {j["tags"]["elasticdr:wave"] for j in all_jobs} == {"1", "2"}
    recorded = {n: s for w in (1, 2) for n, s in store.get_execution("ex-engine-1")["servers"][w].items()}
    assert {n: s["launch_status"] for n, s in recorded.items()} == {n: "LAUNCHED" for n in summary["servers"]}
    assert all(s["ip_preserved"] is True for s in recorded.values())

    # The record is the run's state: a completed wave is skipped without any change.
    sim.clear_requests()
    again = wave_engine.run(conn, params("ex-engine-1", waves, wave=1))
    assert again["skipped"] is True and again["changed"] is False and again["wave_status"] == "COMPLETED"
    assert_no_mutation(sim, "a completed wave run again")
    assert len(jobs(sim)) == 2


def test_a_wave_with_an_unmatched_server_is_recorded_failed_and_changes_nothing(sim):
    summary = sim.load_estate(small_estate(3, 1))
    waves = waves_of(summary)
    waves[1] = waves[1] + ["ghost-01"]
    store = state_tables(sim)
    started(store, "ex-engine-2", waves=(1,))
    sim.clear_requests()
    outcome = wave_engine.run(engine_connections(sim), params("ex-engine-2", waves, wave=1))
    assert outcome["failed"] is True and outcome["blocked"] is True and outcome["wave_status"] == "FAILED"
    assert "ghost-01" in outcome["msg"] and "drs_allow_partial_wave" in outcome["msg"]
    assert "-e drs_execution_id=ex-engine-2" in outcome["msg"]
    wave = store.get_execution("ex-engine-2")["waves"][1]
    assert wave["status"] == "FAILED" and wave["error"]["error"] == "ValidationError"
    assert "ghost-01" in wave["error"]["server"] and wave["error"]["remediation"]
    assert [c for c in mutating(sim) if c["service"] != "dynamodb"] == []
    assert jobs(sim) == []

    # Allowed to go ahead partially, the others are recovered and the wave is PARTIAL.
    partial = wave_engine.run(engine_connections(sim), params("ex-engine-2", waves, wave=1, allow_partial_wave=True))
    assert partial["wave_status"] == "PARTIAL" and partial["counts"]["launched"] == 3
    assert partial["counts"]["not_matched"] == 1


def test_check_mode_predicts_the_wave_and_makes_no_mutating_call(sim):
    summary = sim.load_estate(small_estate(3, 1))
    waves = waves_of(summary)
    store = state_tables(sim)
    started(store, "ex-engine-3", waves=(1,))
    sim.clear_requests()
    conn = engine_connections(sim)
    prepared = wave_engine.run(conn, params("ex-engine-3", waves), check_mode=True)
    assert prepared["changed"] is True and prepared["configured"] == 3
    outcome = wave_engine.run(conn, params("ex-engine-3", waves, wave=1, prepared=prepared), check_mode=True)
    assert outcome["wave_status"] == "COMPLETED" and outcome["changed"] is True
    assert outcome["counts"]["would_launch"] == 3 and outcome["counts"]["launched"] == 0
    assert_no_mutation(sim, "drs_wave --check")
    assert store.get_execution("ex-engine-3")["waves"][1]["status"] == "RUNNING"
    for server in summary["servers"].values():
        assert instance(sim, server["target_instance_id"])["State"]["Name"] == "stopped"


def test_a_drill_wave_launches_drill_jobs(sim):
    summary = sim.load_estate(small_estate(2, 1))
    waves = waves_of(summary)
    store = state_tables(sim)
    started(store, "ex-engine-4", execution_type="DRILL", waves=(1,))
    outcome = wave_engine.run(engine_connections(sim), params("ex-engine-4", waves, wave=1, mode="drill"))
    assert outcome["wave_status"] == "COMPLETED"
    (job,) = jobs(sim)
    assert job["initiatedBy"] == "START_DRILL" and job["tags"]["elasticdr:mode"] == "drill"


@pytest.mark.parametrize("bad, fragment", [
    ({"wave": 7}, "Wave 7 is not one of the run's waves (1)"),
    ({"waves": {"one": ["db-01"]}}, "waves: wave 'one'"),
    ({"poll_interval": 0}, "poll_interval must be greater than 0"),
    ({"mode": "rollback"}, "mode must be one of failover, drill, failback, drill_cleanup"),
])
def test_bad_input_is_refused_before_any_call(sim, bad, fragment):
    sim.clear_requests()
    with pytest.raises(ConfigurationError) as caught:
        wave_engine.run(engine_connections(sim), dict(params("ex-engine-5", {1: ["db-01"]}), **bad))
    assert fragment in str(caught.value)
    assert sim.requests() == []


def test_every_documented_mode_has_an_execution_type():
    assert set(wave_engine.EXECUTION_TYPES) == set(wave_engine.ARGUMENT_SPEC["mode"]["choices"])


def test_options_of_a_failover_wave_reach_aws(sim):
    summary = sim.load_estate(small_estate(2, 1))
    waves = waves_of(summary)
    store = state_tables(sim)
    started(store, "ex-engine-6", waves=(1,))
    conn = engine_connections(sim)
    prepared = wave_engine.run(conn, params("ex-engine-6", waves, launch_disposition="STOPPED"))
    for server in summary["servers"].values():
        assert launch_config(sim, server["source_server_id"])["launchDisposition"] == "STOPPED"
    outcome = wave_engine.run(conn, params("ex-engine-6", waves, wave=1, prepared=prepared, servers_per_job=1,
                                           lease_seconds=12345, publish_metrics=True, metrics_namespace="Test/Engine",
                                           approve_each_wave=True))
    assert outcome["wave_status"] == "COMPLETED"
    assert len(jobs(sim)) == 2  # one server per job
    lock = store.get_lock(GROUP)
    assert 12345 - 120 < lock["lease_expires"] - lock["acquired_at"] <= 12345
    metrics = sim.client("cloudwatch").list_metrics(Namespace="Test/Engine")["Metrics"]
    assert metrics and all(m["Namespace"] == "Test/Engine" for m in metrics)
    assert outcome["next_wave_running"] is None


def test_approval_keeps_the_next_wave_from_being_recorded_running(sim):
    summary = sim.load_estate(small_estate(2, 2))
    waves = waves_of(summary)
    store = state_tables(sim)
    started(store, "ex-engine-7", waves=(1, 2))
    outcome = wave_engine.run(engine_connections(sim), params("ex-engine-7", waves, wave=1, approve_each_wave=True))
    assert outcome["wave_status"] == "COMPLETED" and outcome["next_wave_running"] is None
    assert 2 not in store.get_execution("ex-engine-7")["waves"]


def _failed_over(sim, servers=2):
    summary = sim.load_estate(small_estate(servers, 1))
    store = state_tables(sim)
    failover_id = fail_over_directly(sim, summary, group=GROUP, execution_id="ex-engine-failover")
    return summary, store, failover_id


def test_a_failback_wave_through_the_engine(sim):
    summary, store, failover_id = _failed_over(sim)
    waves = waves_of(summary)
    started(store, "ex-engine-fb", execution_type="FAILBACK", waves=(1,), first_running=False)
    lines = []
    outcome = wave_engine.run(engine_connections(sim), params("ex-engine-fb", waves, wave=1, mode="failback",
                                                       failover_execution_id=failover_id), show=lines.append)
    assert outcome["wave_status"] == "COMPLETED", outcome["summary"]
    assert outcome["summary"][0].startswith("Wave 1: COMPLETED - 2/2 failed back")
    assert any("reverse replication of 2 recovery instance(s)" in line for line in lines)
    for name, server in summary["servers"].items():
        original = instance(sim, server["source_instance_id"], region=PRIMARY)
        assert original["State"]["Name"] == "running" and original["PrivateIpAddress"] == server["source_private_ip"]
        # standby after failback: the recovery instance (the launch-into target) is stopped, never terminated
        assert instance(sim, server["target_instance_id"])["State"]["Name"] == "stopped", name
    record = store.get_execution("ex-engine-fb")
    assert record["waves"][1]["status"] == "COMPLETED"
    assert {s["name"]: s["status"] for s in store.get_failback_states(GROUP)} == {n: "COMPLETED" for n in summary["servers"]}


def test_failback_options_reach_their_steps(sim):
    summary, store, failover_id = _failed_over(sim)
    waves = waves_of(summary)
    started(store, "ex-engine-fb2", execution_type="FAILBACK", waves=(1,), first_running=False)
    conn = engine_connections(sim)
    # agent_timeout reaches the agent installation, which refuses 0 before sending anything.
    refused = wave_engine.run(conn, params("ex-engine-fb2", waves, wave=1, mode="failback", install_agent=True,
                                           agent_timeout=0))
    assert refused["failed"] and 'at "Install the DRS agent on the recovery instances of wave 1"' in refused["msg"]
    assert sim.requests(operation="SendCommand") == []
    for server in summary["servers"].values():  # untagged originals, which tag_originals=false leaves alone
        sim.client("ec2", region=PRIMARY).delete_tags(Resources=[server["source_instance_id"]], Tags=[{"Key": "AWSDRS"}])
    sim.clear_requests()
    untagged = wave_engine.run(conn, params("ex-engine-fb2", waves, wave=1, mode="failback", tag_originals=False))
    assert untagged["failed"] and "is not tagged AWSDRS=AllowLaunchingIntoThisInstance" in untagged["msg"]
    assert 'at "Check the original instances and tag them as launch-into targets, wave 1"' in untagged["msg"]
    assert sim.requests(operation="CreateTags") == []
    # lag_threshold and replication_timeout reach the wait for reverse replication: a lag no server can be under
    # is not reached within 2 s. failback_launch_template=false leaves the primary region's template alone.
    sim.clear_requests()
    late = wave_engine.run(conn, params("ex-engine-fb2", waves, wave=1, mode="failback", lag_threshold=0.0001,
                                        replication_timeout=2, failback_launch_template=False))
    assert late["failed"] and 'at "Replicate back until it can fail back, wave 1"' in late["msg"], late["msg"]
    assert sim.requests(operation="CreateTags")  # tagged now (tag_originals defaults to true)
    assert sim.requests(operation="UpdateLaunchConfigurationTemplate") == []
    # standby_after_failback=false leaves the recovery instances running; wait_reprotect waits for the originals.
    done = wave_engine.run(conn, params("ex-engine-fb2", waves, wave=1, mode="failback", standby_after_failback=False,
                                        wait_reprotect=True, failover_execution_id=failover_id))
    assert done["wave_status"] == "COMPLETED", done["summary"]
    for server in summary["servers"].values():
        assert instance(sim, server["target_instance_id"])["State"]["Name"] == "running"
    reprotect = done["steps"]["reprotect"]
    assert reprotect["all_ready"] is True and reprotect["timed_out"] is False
