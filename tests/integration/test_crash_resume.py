"""Crash-and-resume trials of playbooks/failover.yml and playbooks/failback.yml, killed at chosen points.

Each trial starts the playbook with a fixed execution id and kills its whole process group with SIGKILL the moment
a chosen event is seen: a line of the run's output (a task starting, a progress line, a wave's summary) or a
request the simulator receives (the n-th StopInstances, StartRecovery, ReverseReplication, StopReplication). It
then checks that the kill hit the phase it was meant to (what the execution record and the request log say at
that moment), and reruns the playbook with the same execution id (the killed run holds the lock in its own name,
so the rerun resumes it). The launch phase of DRS jobs is slowed down for the killed run (sim.set_config) so that
a kill on a job's start lands while the job runs. A trial whose event never comes (the run ends first) still
counts: its rerun must change nothing.

After the rerun, whatever the kill point, from the simulator's request log, its DRS jobs and the execution record:
- every server was launched exactly once by the execution (participatingServers over the START_RECOVERY jobs:
  in the recovery region for a failover, in the primary region for a failback);
- the AWS state is the end state (failover: every target running with its private IP; failback: every original
  running with its own private IP);
- the execution record agrees: COMPLETED, every wave COMPLETED, every server LAUNCHED, the lock released.

Sizes: failover trials of 4 servers in 2 waves, failback trials of 2 servers in 2 waves (after a failover of both
in one wave, built by the wave engine directly).
"""
import os
import signal
import subprocess
import sys
import time

import pytest

from simlib import PRIMARY, RECOVERY, small_estate

from .helpers import BIN, ROOT, base_env, fail_over_directly, instance, jobs, state_tables
from .test_failback_playbook import _inventory as _failback_inventory
from .test_failover_playbook import PREFIX, _inventory

GROUP = "shop"
# At 5000x, 5000 simulated seconds of launch phase are one real second: a kill on a job's start lands inside it.
SLOW = {"launch": 5000, "replication_initiating": 2500}
NORMAL = {"launch": 240, "replication_initiating": 120}
SETTLE_SECONDS = 1.0
TASK = "TASK [elasticdr.orchestration.drs : "
# Kill points: (name, event). An event is ("output", text) or ("request", operation, n): the n-th such request
# the simulator received. None: no kill, the run ends on its own.
FAILOVER_KILLS = [
    ("before-the-first-launch", ("output", TASK + "Match and configure every wave before the first launch]")),
    ("wave-1-targets-stopping", ("request", "StopInstances", 1)),
    ("wave-1-job-started", ("request", "StartRecovery", 1)),
    ("wave-1-job-running", ("output", "drs_wave wave 1: 0/2 launched")),
    ("wave-1-recorded", ("output", "Wave 1: COMPLETED")),
    ("wave-2-job-started", ("request", "StartRecovery", 2)),
    ("wave-2-recorded", ("output", "Wave 2: COMPLETED")),
    ("after-the-end", None),
]
FAILBACK_KILLS = [
    ("wave-1-started", ("output", TASK + "Wave 1]")),
    ("wave-1-reverse-replication", ("request", "ReverseReplication", 1)),
    ("wave-1-launch-into-original", ("request", "StartRecovery", 1)),
    ("wave-1-recorded", ("output", "Wave 1: COMPLETED")),
    # The third: wave 1's failback, then wave 1's re-protection of its original, then wave 2's failback.
    ("wave-2-reverse-replication", ("request", "ReverseReplication", 3)),
    ("wave-2-launch-into-original", ("request", "StartRecovery", 2)),
    ("after-the-end", None),
]
CHANGES = ("StartRecovery", "StopInstances", "StartInstances", "UpdateLaunchConfiguration", "ReverseReplication",
           "CreateTags", "StopReplication")


def _start(sim, tmp_path, playbook, inventory, execution_id, log_name):
    cmd = [sys.executable, os.path.join(BIN, "ansible-playbook"), os.path.join(ROOT, "playbooks", playbook),
           "-i", inventory, "-e", f"drs_execution_id={execution_id}"]
    log = open(tmp_path / log_name, "w", encoding="utf-8")
    proc = subprocess.Popen(cmd, env=base_env(sim.url, tmp_path), stdout=log, stderr=subprocess.STDOUT,
                            cwd=str(tmp_path), start_new_session=True)
    return proc, log


def _seen(sim, log_path, event):
    if event[0] == "output":
        return event[1] in log_path.read_text(encoding="utf-8")
    return len(sim.requests(operation=event[1])) >= event[2]


def _run_and_kill(sim, tmp_path, playbook, inventory, execution_id, event, timeout=300):
    """Run the playbook and SIGKILL its process group as soon as event is seen (never, when event is None).

    Returns (killed, elapsed, log text): killed is False when the run ended on its own first."""
    begin = time.monotonic()
    proc, log = _start(sim, tmp_path, playbook, inventory, execution_id, "killed.log")
    log_path = tmp_path / "killed.log"
    try:
        while proc.poll() is None and not (event and _seen(sim, log_path, event)):
            assert time.monotonic() - begin < timeout, "the run neither ended nor reached its kill point"
            time.sleep(0.02)
        killed = proc.poll() is None
        if killed:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        # Nothing of the run may survive it (a module still polling would be a second writer).
        deadline = time.monotonic() + 10
        while True:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break
            assert time.monotonic() < deadline, "processes of the killed run survived SIGKILL"
            time.sleep(0.05)
    finally:
        log.close()
    elapsed = time.monotonic() - begin
    if killed:
        # A request the killed run had already sent may still be completing in the simulator: let it land before
        # the test reads what the run left.
        time.sleep(SETTLE_SECONDS)
    text = log_path.read_text(encoding="utf-8")
    if not killed:
        assert proc.returncode == 0, text[-4000:]
    return killed, elapsed, text


def _rerun(sim, tmp_path, playbook, inventory, execution_id):
    proc, log = _start(sim, tmp_path, playbook, inventory, execution_id, "rerun.log")
    try:
        proc.wait(timeout=300)
    finally:
        log.close()
    return proc.returncode, (tmp_path / "rerun.log").read_text(encoding="utf-8")


def _launches(sim, region, execution_id=None):
    """How many START_RECOVERY jobs (of this execution, when given) each source server took part in."""
    counts = {}
    for job in jobs(sim, region=region):
        if job.get("initiatedBy") != "START_RECOVERY":
            continue
        if execution_id and (job.get("tags") or {}).get("elasticdr:execution-id") != execution_id:
            continue
        for server in job["participatingServers"]:
            counts[server["sourceServerID"]] = counts.get(server["sourceServerID"], 0) + 1
    return counts


def _changes(sim):
    return [(c["service"], c["operation"], c["region"]) for c in sim.requests() if c["operation"] in CHANGES]


def _check_record(store, execution_id, names, waves):
    record = store.get_execution(execution_id)
    assert record["execution"]["status"] == "COMPLETED", record["execution"]
    assert {w: i["status"] for w, i in record["waves"].items()} == {w: "COMPLETED" for w in waves}
    items = {name: item for wave in record["servers"].values() for name, item in wave.items()}
    assert sorted(items) == sorted(names)
    assert {n: i["launch_status"] for n, i in items.items()} == {n: "LAUNCHED" for n in names}
    assert store.get_lock(GROUP) is None
    return record, items


def _last_task(log):
    tasks = [line for line in log.splitlines() if line.startswith("TASK [")]
    return tasks[-1].split("]", 1)[0][len("TASK ["):] if tasks else "(before the first task)"


def _describe(point, killed, elapsed, killed_log, rerun_log):
    where = f"killed in {_last_task(killed_log)!r}" if killed else "ended before the kill"
    return (f"kill point {point}: {where} after {elapsed:.2f}s\n"
            f"--- killed run (tail)\n{killed_log[-2500:]}\n--- rerun (tail)\n{rerun_log[-4000:]}")


def _kill_then_rerun(sim, tmp_path, playbook, inventory, store, execution_id, point, event, check_phase):
    """Kill the slowed run at its event, check the phase it hit, rerun it with the same execution id and check the
    rerun resumed it (or, when the run had ended first, changed nothing). Returns the trial's description."""
    sim.clear_requests()
    sim.set_config(durations=SLOW)
    killed, elapsed, killed_log = _run_and_kill(sim, tmp_path, playbook, inventory, execution_id, event)
    sim.set_config(durations=NORMAL)
    assert killed == (event is not None), _describe(point, killed, elapsed, killed_log, "")
    if killed:
        check_phase(point, sim, store, execution_id, _describe(point, killed, elapsed, killed_log, ""))
    started = store.get_execution(execution_id)["execution"] is not None
    sim.clear_requests()
    rc, rerun_log = _rerun(sim, tmp_path, playbook, inventory, execution_id)
    why = _describe(point, killed, elapsed, killed_log, rerun_log)
    assert rc == 0, why
    assert (f"Resuming {execution_id}" in rerun_log) == started, why
    if not killed:  # the run had completed: its rerun changes nothing
        assert _changes(sim) == [], why
        for wave in (1, 2):
            assert f"Wave {wave} already completed in {execution_id}; skipped" in rerun_log, why
    return why


def _wave_statuses(store, execution_id):
    return {w: i["status"] for w, i in store.get_execution(execution_id)["waves"].items()}


def _check_failover_phase(point, sim, store, execution_id, why):
    """What the record and the request log say at the kill: the kill hit the phase it was meant to."""
    waves = _wave_statuses(store, execution_id)
    launches = len(sim.requests(operation="StartRecovery"))
    if point == "before-the-first-launch":
        assert waves.get(1) == "RUNNING" and launches == 0, (waves, launches, why)
    elif point == "wave-1-targets-stopping":
        # The job may start within the moment between the stop and the kill.
        assert waves.get(1) == "RUNNING" and 2 not in waves and launches <= 1, (waves, launches, why)
    elif point in ("wave-1-job-started", "wave-1-job-running"):
        assert waves.get(1) == "RUNNING" and 2 not in waves and launches == 1, (waves, launches, why)
    elif point == "wave-1-recorded":
        # The wave's record marks the next wave RUNNING in the same step.
        assert waves.get(1) == "COMPLETED" and waves.get(2) == "RUNNING", (waves, why)
    elif point == "wave-2-job-started":
        assert waves == {1: "COMPLETED", 2: "RUNNING"} and launches == 2, (waves, launches, why)
    elif point == "wave-2-recorded":
        assert waves == {1: "COMPLETED", 2: "COMPLETED"}, (waves, why)


@pytest.mark.parametrize("point, event", FAILOVER_KILLS, ids=[k[0] for k in FAILOVER_KILLS])
def test_failover_killed_at_a_chosen_point_resumes_launching_each_server_once(sim, tmp_path, point, event):
    # The targets of wave 1 are running, so that the run stops them first (the kill point wave-1-targets-stopping).
    summary = sim.load_estate(small_estate(4, 2, **{n: {"target": {"state": "running"}} for n in ("db-01", "db-02")}))
    servers = summary["servers"]
    store = state_tables(sim, PREFIX)
    inventory = _inventory(tmp_path, summary)
    execution_id = f"crash-failover-{point}"

    why = _kill_then_rerun(sim, tmp_path, "failover.yml", inventory, store, execution_id, point, event,
                           _check_failover_phase)

    # Every server launched exactly once, by this execution, and by nothing else.
    launches = _launches(sim, RECOVERY)
    assert launches == {s["source_server_id"]: 1 for s in servers.values()}, why
    assert _launches(sim, RECOVERY, execution_id) == launches, why
    for name, server in servers.items():
        target = instance(sim, server["target_instance_id"])
        assert target["State"]["Name"] == "running", (name, why)
        assert target["PrivateIpAddress"] == server["target_private_ip"], (name, why)
    _record, items = _check_record(store, execution_id, servers, (1, 2))
    for name, item in items.items():
        assert item["source_server_id"] == servers[name]["source_server_id"], why
        assert item["target_instance_id"] == servers[name]["target_instance_id"], why


def _check_failback_phase(point, sim, store, execution_id, why):
    waves = _wave_statuses(store, execution_id)
    launches = len(sim.requests(operation="StartRecovery"))
    if point == "wave-1-started":
        assert waves.get(1) in (None, "RUNNING") and launches == 0, (waves, launches, why)
    elif point == "wave-1-reverse-replication":
        assert waves.get(1) == "RUNNING" and launches == 0, (waves, launches, why)
    elif point == "wave-1-launch-into-original":
        assert waves.get(1) == "RUNNING" and launches == 1, (waves, launches, why)
    elif point == "wave-1-recorded":
        assert waves.get(1) == "COMPLETED" and waves.get(2) in (None, "RUNNING"), (waves, why)
    elif point == "wave-2-launch-into-original":
        assert waves.get(1) == "COMPLETED" and waves.get(2) == "RUNNING" and launches == 2, (waves, launches, why)
    elif point == "wave-2-reverse-replication":
        assert waves.get(1) == "COMPLETED" and waves.get(2) == "RUNNING" and launches == 1, (waves, launches, why)


@pytest.mark.parametrize("point, event", FAILBACK_KILLS, ids=[k[0] for k in FAILBACK_KILLS])
def test_failback_killed_at_a_chosen_point_resumes_launching_each_original_once(sim, tmp_path, point, event):
    summary = sim.load_estate(small_estate(2, 2))
    servers = summary["servers"]
    store = state_tables(sim, PREFIX)
    # The failover, built directly by the engine, recovers both servers in one wave (it is only the starting
    # point); the failback goes wave by wave.
    one_wave = {"servers": {name: dict(server, wave=1) for name, server in servers.items()}}
    fail_over_directly(sim, one_wave, prefix=PREFIX, group=GROUP, execution_id=f"crash-setup-{point}")
    inventory = _failback_inventory(tmp_path, summary)
    execution_id = f"crash-failback-{point}"

    why = _kill_then_rerun(sim, tmp_path, "failback.yml", inventory, store, execution_id, point, event,
                           _check_failback_phase)
    # Each original was launched into exactly once by the failback (its FAILBACK server's job in the primary
    # region), and the failover's launches in the recovery region are still one per server.
    failback_servers = {s["sourceProperties"]["identificationHints"]["awsInstanceID"]: s["sourceServerID"]
                        for s in sim.client("drs", region=PRIMARY).describe_source_servers(filters={})["items"]
                        if s["replicationDirection"] == "FAILBACK"}
    assert sorted(failback_servers) == sorted(s["target_instance_id"] for s in servers.values()), why
    launches = _launches(sim, PRIMARY)
    assert launches == {sid: 1 for sid in failback_servers.values()}, why
    assert _launches(sim, PRIMARY, execution_id) == launches, why
    assert _launches(sim, RECOVERY) == {s["source_server_id"]: 1 for s in servers.values()}, why
    for name, server in servers.items():
        original = instance(sim, server["source_instance_id"], region=PRIMARY)
        assert original["State"]["Name"] == "running", (name, why)
        assert original["PrivateIpAddress"] == server["source_private_ip"], (name, why)
    _record, items = _check_record(store, execution_id, servers, (1, 2))
    for name, item in items.items():
        assert item["target_instance_id"] == servers[name]["source_instance_id"], why
        assert item["recovery_private_ip"] == servers[name]["source_private_ip"], why
    states = {s["name"]: s["status"] for s in store.get_failback_states(GROUP)}
    assert states == {name: "COMPLETED" for name in servers}, why
