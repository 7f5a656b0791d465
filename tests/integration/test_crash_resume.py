"""Seeded crash-and-resume trials of playbooks/failover.yml and playbooks/failback.yml.

Each trial starts the playbook with a fixed execution id, kills its whole process group with SIGKILL at a moment
drawn from random.Random(seed) within the run's expected duration, and reruns it with the same execution id
(the killed run, if it took the lock, holds it in its own name, so the rerun resumes it). The launch phase of
DRS jobs is slowed down for the killed run (sim.set_config) so that most kills land inside a wave: while
targets are stopped, while a job runs, between a job's end and the wave's record, between waves, or (failback)
while reverse replication catches up. Normal durations are restored before the rerun; jobs already scheduled
keep their times. A run that ended before its kill still counts: its rerun must change nothing.

After the rerun, whatever the kill point, from the simulator's request log, its DRS jobs and the execution record:
- every server was launched exactly once by the execution (participatingServers over the START_RECOVERY jobs:
  in the recovery region for a failover, in the primary region for a failback);
- the AWS state is the end state (failover: every target running with its private IP; failback: every original
  running with its own private IP);
- the execution record agrees: COMPLETED, every wave COMPLETED, every server LAUNCHED, the lock released.

Sizes: 12 failover trials of 4 servers in 2 waves, 8 failback trials of 2 servers in 2 waves (after an untimed,
unkilled failover of both in one wave). Each module call of a playbook costs about a second of real time on a
shared 2-core machine, so waves, not servers, set a trial's duration; two waves keep the file within a few
minutes with -n 2 while still giving kills inside each wave (its job, reverse replication, its records), between
waves and after the end.
Kill delays are measured from the start of ansible-playbook; the windows below are the measured durations of the
slowed runs (failover about 15 s, failback about 24 s); a loaded machine only moves kills earlier in the run.
Each trial's seed, kill delay and the task the kill landed in are printed on failure.
"""
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from simlib import PRIMARY, RECOVERY, small_estate

from .helpers import BIN, ROOT, base_env, instance, jobs, state_tables
from .test_failback_playbook import _inventory as _failback_inventory
from .test_failback_playbook import _playbook
from .test_failover_playbook import PREFIX, _inventory

GROUP = "shop"
# At 5000x, 5000 simulated seconds of launch phase are one real second: long enough for kills to land inside
# each wave's job, short enough for the whole file to run in a few minutes.
SLOW = {"launch": 5000, "replication_initiating": 2500}
NORMAL = {"launch": 240, "replication_initiating": 120}
FAILOVER_SEEDS = list(range(1, 13))
SETTLE_SECONDS = 1.0
FAILBACK_SEEDS = list(range(101, 109))
# (earliest, latest) kill delay in seconds after ansible-playbook starts.
FAILOVER_WINDOW = (1.5, 16.0)
FAILBACK_WINDOW = (1.5, 25.0)
CHANGES = ("StartRecovery", "StopInstances", "StartInstances", "UpdateLaunchConfiguration", "ReverseReplication",
           "CreateTags", "StopReplication")


def _start(sim, tmp_path, playbook, inventory, execution_id, log_name):
    cmd = [sys.executable, os.path.join(BIN, "ansible-playbook"), os.path.join(ROOT, "playbooks", playbook),
           "-i", inventory, "-e", f"drs_execution_id={execution_id}"]
    log = open(tmp_path / log_name, "w", encoding="utf-8")
    proc = subprocess.Popen(cmd, env=base_env(sim.url, tmp_path), stdout=log, stderr=subprocess.STDOUT,
                            cwd=str(tmp_path), start_new_session=True)
    return proc, log


def _run_and_kill(sim, tmp_path, playbook, inventory, execution_id, delay):
    """Run the playbook and SIGKILL its process group `delay` seconds after it starts.

    Returns (killed, elapsed, log text): killed is False when the run ended on its own first."""
    begin = time.monotonic()
    proc, log = _start(sim, tmp_path, playbook, inventory, execution_id, "killed.log")
    try:
        while proc.poll() is None and time.monotonic() - begin < delay:
            time.sleep(0.05)
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
    text = (tmp_path / "killed.log").read_text(encoding="utf-8")
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


def _describe(seed, delay, killed, elapsed, killed_log, rerun_log):
    where = f"killed in {_last_task(killed_log)!r}" if killed else "ended before the kill"
    return (f"seed={seed} kill delay={delay:.2f}s, {where} after {elapsed:.2f}s\n"
            f"--- killed run (tail)\n{killed_log[-2500:]}\n--- rerun (tail)\n{rerun_log[-4000:]}")


@pytest.mark.parametrize("seed", FAILOVER_SEEDS)
def test_failover_killed_at_a_seeded_moment_resumes_launching_each_server_once(sim, tmp_path, seed):
    delay = random.Random(seed).uniform(*FAILOVER_WINDOW)
    summary = sim.load_estate(small_estate(4, 2))
    servers = summary["servers"]
    store = state_tables(sim, PREFIX)
    inventory = _inventory(tmp_path, summary)
    execution_id = f"crash-failover-{seed}"

    sim.set_config(durations=SLOW)
    killed, elapsed, killed_log = _run_and_kill(sim, tmp_path, "failover.yml", inventory, execution_id, delay)
    sim.set_config(durations=NORMAL)
    started = store.get_execution(execution_id)["execution"] is not None
    sim.clear_requests()
    rc, rerun_log = _rerun(sim, tmp_path, "failover.yml", inventory, execution_id)
    why = _describe(seed, delay, killed, elapsed, killed_log, rerun_log)
    assert rc == 0, why
    assert (f"Resuming {execution_id}" in rerun_log) == started, why
    if not killed:  # the run had completed: its rerun changes nothing
        assert _changes(sim) == [], why
        for wave in (1, 2):
            assert f"Wave {wave} already completed in {execution_id}; skipped" in rerun_log, why

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


@pytest.mark.parametrize("seed", FAILBACK_SEEDS)
def test_failback_killed_at_a_seeded_moment_resumes_launching_each_original_once(sim, tmp_path, seed):
    delay = random.Random(seed).uniform(*FAILBACK_WINDOW)
    summary = sim.load_estate(small_estate(2, 2))
    servers = summary["servers"]
    store = state_tables(sim, PREFIX)
    # The failover, untimed and not killed, recovers both servers in one wave (it is only the starting point);
    # the failback goes wave by wave.
    setup = tmp_path / "failover"
    setup.mkdir()
    one_wave = {"servers": {name: dict(server, wave=1) for name, server in servers.items()}}
    failover = _playbook("failover.yml", sim, setup, _failback_inventory(setup, one_wave))
    assert failover.returncode == 0, failover.stdout[-4000:]
    inventory = _failback_inventory(tmp_path, summary)
    execution_id = f"crash-failback-{seed}"

    sim.set_config(durations=SLOW)
    killed, elapsed, killed_log = _run_and_kill(sim, tmp_path, "failback.yml", inventory, execution_id, delay)
    sim.set_config(durations=NORMAL)
    started = store.get_execution(execution_id)["execution"] is not None
    sim.clear_requests()
    rc, rerun_log = _rerun(sim, tmp_path, "failback.yml", inventory, execution_id)
    why = _describe(seed, delay, killed, elapsed, killed_log, rerun_log)
    assert rc == 0, why
    assert (f"Resuming {execution_id}" in rerun_log) == started, why
    if not killed:
        assert _changes(sim) == [], why
        for wave in (1, 2):
            assert f"Wave {wave} already completed in {execution_id}; skipped" in rerun_log, why

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
