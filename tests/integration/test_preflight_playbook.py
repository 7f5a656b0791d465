"""playbooks/preflight.yml (and drs_preflight) against the simulator: a ready estate passes and shows its launch
configuration drift without failing; each not-ready cause (no target, untagged target, replication not CONTINUOUS,
lag over the threshold, a wave over the per-job quota and the other quotas, a held lock, missing state tables)
fails the run with the server (or wave) named; every run makes zero mutating calls."""
import json
import os

from simlib import PRIMARY, RECOVERY, small_estate

from .helpers import (ACCESS_KEY, EXTERNAL_ID, ROLE_222, SECRET_KEY, ROOT, assert_no_mutation, cross_account_estate,
                      drs, launch_config, launch_into_id, run_tool)
from .test_drs_execution import _tables
from .test_failover_playbook import PREFIX, _inventory

GROUP = "group/elasticdr.orchestration.drs"


def _preflight(sim, tmp_path, inventory, *args):
    sim.clear_requests()
    proc = run_tool("ansible-playbook", [os.path.join(ROOT, "playbooks", "preflight.yml"), "-i", inventory] + list(args),
                    sim.url, tmp_path, env={"ANSIBLE_SHOW_CUSTOM_STATS": "true"}, timeout=300)
    assert_no_mutation(sim, "preflight " + " ".join(args))
    return proc


def _rows(stdout):
    """{server: (result, [reasons and warnings that follow its row])} from the tables printed."""
    rows, current = {}, None
    for raw in stdout.splitlines():
        line = raw.strip().strip('",').strip()
        parts = line.split()
        if len(parts) >= 2 and parts[1] in ("ready", "NOT") and not line.startswith(("wave ", "Wave ")):
            current = parts[0]
            rows[current] = ("ready" if parts[1] == "ready" else "NOT READY", [])
        elif current and line.startswith(("x ", "! ")):
            rows[current][1].append(line)
        elif line.startswith(("Wave ", "wave ", "Group:", "READY", "NOT READY")):
            current = None
    return rows


def _stats(stdout):
    """The set_stats data printed at the end of the run (ANSIBLE_SHOW_CUSTOM_STATS)."""
    text = stdout.split("CUSTOM STATS:", 1)[1]
    start = text.index("{")
    return json.JSONDecoder().raw_decode(text[start:])[0]


def test_ready_estate_passes_and_drift_is_reported_not_failed(sim, tmp_path, play):
    summary = sim.load_estate(small_estate(4, 2))
    _tables(sim)
    inventory = _inventory(tmp_path, summary)

    proc = _preflight(sim, tmp_path, inventory)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "Wave 1: READY (2 servers, 1 job(s); 0 not ready)" in proc.stdout
    assert "Wave 2: READY (2 servers, 1 job(s); 0 not ready)" in proc.stdout
    assert "READY: every wave can fail over" in proc.stdout
    rows = _rows(proc.stdout)
    assert set(rows) == set(summary["servers"])
    for name, server in summary["servers"].items():
        result, notes = rows[name]
        assert result == "ready"
        # a fresh launch configuration: the failover would set launch-into and right-sizing NONE first
        assert any(f"launchIntoEC2InstanceID (none) -> {server['target_instance_id']}" in n for n in notes), proc.stdout
    assert "Group: ok lock" in proc.stdout and "Group: ok state_tables" in proc.stdout
    stats = _stats(proc.stdout)["drs_preflight"]
    assert stats["ready"] is True and stats["not_ready_servers"] == [] and set(stats["waves"]) == {"1", "2"}

    checked = _preflight(sim, tmp_path, inventory, "--check")
    assert checked.returncode == 0 and "READY: every wave can fail over" in checked.stdout

    strict = _preflight(sim, tmp_path, inventory, "-e", "drs_preflight_fail_on_drift=true")
    assert strict.returncode != 0
    assert all(_rows(strict.stdout)[n][0] == "NOT READY" for n in summary["servers"])
    assert "Not ready for failover: wave(s) 1, 2; server(s) db-01, db-02, app-01, app-02" in strict.stdout
    stats = _stats(strict.stdout)["drs_preflight"]
    assert stats["ready"] is False and stats["not_ready_waves"] == [1, 2]

    # What the failover does first per wave (drs_launch_config) removes the drift: strict now passes.
    configured = play.run([
        drs("drs_instance_match", "match", register="match", names=sorted(summary["servers"])),
        drs("drs_launch_config", "configure", servers="{{ match.pairs }}"),
    ])
    assert configured.ok("configure")["changed_count"] == 4
    for server in summary["servers"].values():
        assert launch_into_id(launch_config(sim, server["source_server_id"])) == server["target_instance_id"]
    again = _preflight(sim, tmp_path, inventory, "-e", "drs_preflight_fail_on_drift=true")
    assert again.returncode == 0, again.stdout[-3000:]
    assert "to change" not in again.stdout and "launch configuration drift" not in again.stdout
    # ... but a different launch disposition than the configured one is drift again
    stopped = _preflight(sim, tmp_path, inventory, "-e", "drs_preflight_fail_on_drift=true",
                         "-e", "drs_launch_disposition=STOPPED")
    assert stopped.returncode != 0 and "launchDisposition STARTED -> STOPPED" in stopped.stdout


CAUSES = {
    "no_target": ({"target": None}, "no instance with Name=db-02 in the recovery account/region"),
    "untagged_target": ({"target": {"tag": False}}, "lacks the tag AWSDRS=AllowLaunchingIntoThisInstance"),
    "not_continuous": ({"replication": {"state": "INITIAL_SYNC"}}, "replication is INITIAL_SYNC, not CONTINUOUS"),
    "lag": ({"replication": {"lag_seconds": 600}}, "replication lag 600 s is not under 60 s"),
}


def test_each_not_ready_cause_fails_naming_the_server(sim, tmp_path):
    for cause, (override, reason) in CAUSES.items():
        summary = sim.load_estate(small_estate(3, 1, **{"db-02": override}))
        _tables(sim)
        inventory = _inventory(tmp_path, summary)
        proc = _preflight(sim, tmp_path, inventory)
        assert proc.returncode != 0, (cause, proc.stdout[-3000:])
        rows = _rows(proc.stdout)
        assert rows["db-02"][0] == "NOT READY", (cause, rows)
        assert any(reason in n for n in rows["db-02"][1]), (cause, rows["db-02"])
        assert rows["db-01"][0] == rows["db-03"][0] == "ready", (cause, rows)
        assert "Wave 1: NOT READY (3 servers, 1 job(s); 1 not ready)" in proc.stdout
        assert "Not ready for failover: wave(s) 1; server(s) db-02" in proc.stdout, cause
        if cause == "lag":  # the threshold is configurable
            relaxed = _preflight(sim, tmp_path, inventory, "-e", "drs_lag_threshold=900")
            assert relaxed.returncode == 0, relaxed.stdout[-3000:]
            assert _rows(relaxed.stdout)["db-02"][0] == "ready"
        sim.reset()


def test_waves_over_the_quotas_fail(sim, tmp_path):
    summary = sim.load_estate(small_estate(4, 2))  # waves of 2 servers
    _tables(sim)
    inventory = _inventory(tmp_path, summary)
    wave_1 = sorted(n for n, s in summary["servers"].items() if s["wave"] == 1)

    over = _preflight(sim, tmp_path, inventory, "-e", "drs_quota_servers_per_job=1")
    assert over.returncode != 0
    assert "Wave 1: NOT READY (2 servers, 2 job(s); 0 not ready)" in over.stdout
    assert "wave x 2 servers, over the quota of 1 servers per job: the wave would be started as 2 jobs" in over.stdout
    block = over.stdout.split("Wave 1: NOT READY", 1)[1].split("Wave 2:", 1)[0]
    assert all(name in block for name in wave_1)
    assert "Not ready for failover: wave(s) 1, 2; server(s) none" in over.stdout

    allowed = _preflight(sim, tmp_path, inventory, "-e", "drs_quota_servers_per_job=1",
                         "-e", "drs_preflight_allow_multi_job_waves=true")
    assert allowed.returncode == 0, allowed.stdout[-3000:]
    assert "wave ! 2 servers, over the quota of 1 servers per job: the wave would be started as 2 jobs" in allowed.stdout

    jobs = _preflight(sim, tmp_path, inventory, "-e", "drs_quota_servers_per_job=1",
                      "-e", "drs_preflight_allow_multi_job_waves=true", "-e", "drs_quota_concurrent_jobs=1")
    assert jobs.returncode != 0 and "wave x 2 job(s) at once, quota 1 concurrent jobs" in jobs.stdout

    active = _preflight(sim, tmp_path, inventory, "-e", "drs_quota_servers_in_active_jobs=1")
    assert active.returncode != 0 and "wave x 2 servers in active jobs at once, quota 1" in active.stdout

    replicating = _preflight(sim, tmp_path, inventory, "-e", "drs_quota_replicating_servers=3",
                             "-e", '{"drs_waves": [2]}')
    assert replicating.returncode != 0
    assert "Wave 1:" not in replicating.stdout and "Wave 2: READY" in replicating.stdout  # drs_waves limits the check
    assert ("Group: NOT READY replicating_servers: 4 source servers replicating in the recovery account and region, "
            "quota 3") in replicating.stdout


def test_lock_and_state_tables_are_checked(sim, tmp_path):
    summary = sim.load_estate(small_estate(2, 1))
    inventory = _inventory(tmp_path, summary)
    missing = _preflight(sim, tmp_path, inventory)
    assert missing.returncode != 0
    assert f"Group: NOT READY state_tables: State tables not ready: {PREFIX}-instance-pairs does not exist" in missing.stdout
    assert "Wave 1: READY" in missing.stdout  # the servers are still evaluated

    client = _tables(sim)
    client.put_item(TableName=f"{PREFIX}-instance-pairs", Item={
        "protection_group": {"S": "shop"}, "source_server_id": {"S": "#LOCK"}, "holder": {"S": "other-run"},
        "acquired_at": {"N": "1"}, "lease_expires": {"N": "99999999999"}})
    locked = _preflight(sim, tmp_path, inventory)
    assert locked.returncode != 0
    assert "Group: NOT READY lock: execution other-run holds the protection group's lock" in locked.stdout
    client.delete_item(TableName=f"{PREFIX}-instance-pairs",
                       Key={"protection_group": {"S": "shop"}, "source_server_id": {"S": "#LOCK"}})
    assert _preflight(sim, tmp_path, inventory).returncode == 0


TARGET = "222222222222"
SOURCE = "333333333333"
ROLE_333 = f"arn:aws:iam::{SOURCE}:role/DRSSourceRead"
SOURCE_EXTERNAL_ID = "drs-src-4be21d"


def test_drs_preflight_module_options(sim, play, tmp_path):
    # DRS and targets in 222222222222 (recovery region), sources in 333333333333 (primary region)
    summary = sim.load_estate(cross_account_estate(TARGET, source_account=SOURCE))
    names = sorted(summary["servers"])
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[simprofile]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n")
    connection = {"region": RECOVERY, "endpoint_url": sim.url}
    roles = {"target_role_arn": ROLE_222, "external_id": EXTERNAL_ID}
    source_role = {"source_role_arn": ROLE_333, "source_external_id": SOURCE_EXTERNAL_ID}
    waves = {"1": names}
    plays = [
        {"name": "keys from the group", "hosts": "localhost", "gather_facts": False, "connection": "local",
         "module_defaults": {GROUP: dict(connection, access_key=ACCESS_KEY, secret_key=SECRET_KEY)},
         "tasks": [
             drs("drs_preflight", "both_roles", waves=waves, source_region=PRIMARY, **roles, **source_role),
             drs("drs_preflight", "no_source_role", waves=waves, source_region=PRIMARY, **roles),
             drs("drs_preflight", "no_external_id", waves=waves, target_role_arn=ROLE_222, ignore_errors=True),
             drs("drs_preflight", "external_id_not_required", waves=waves, target_role_arn=ROLE_222,
                 require_external_id=False, debug_botocore_endpoint_logs=True),
             drs("drs_preflight", "stopped_strict", waves=waves, launch_disposition="STOPPED", fail_on_drift=True,
                 lag_threshold=4, **roles),
             drs("drs_preflight", "at_the_quotas", waves={"1": names[:1], "2": names[1:]}, servers_per_job=1,
                 max_concurrent_jobs=1, max_servers_in_active_jobs=1, max_replicating_servers=2, **roles),
             drs("drs_preflight", "active_jobs", waves=waves, max_servers_in_active_jobs=1,
                 allow_multi_job_waves=True, **roles),
             drs("drs_preflight", "replicating", waves=waves, max_replicating_servers=1, **roles),
             drs("drs_preflight", "multi_job", waves=waves, servers_per_job=1, allow_multi_job_waves=True,
                 max_concurrent_jobs=1, **roles),
             drs("drs_preflight", "tables", waves=waves, protection_group="shop", table_prefix="nowhere", **roles),
             drs("drs_preflight", "twice", waves={"1": names, "2": names[:1]}, ignore_errors=True, **roles),
         ]},
        {"name": "profile from the group", "hosts": "localhost", "gather_facts": False, "connection": "local",
         "module_defaults": {GROUP: dict(connection, profile="simprofile")},
         "tasks": [drs("drs_preflight", "by_profile", waves=waves, **roles)]},
    ]
    sim.clear_requests()
    run = play.run(plays=plays, credentials=False, endpoint=False, env={"AWS_SHARED_CREDENTIALS_FILE": str(credentials)})
    assert_no_mutation(sim, "drs_preflight")

    both = run.ok("both_roles")
    assert both["ready"] is True and both["changed"] is False
    servers = both["waves"][0]["servers"]
    assert [s["name"] for s in servers] == names
    for server in servers:
        expected = summary["servers"][server["name"]]
        assert server["name_from"] == "source_instance"  # read in the source account through source_role_arn
        assert (server["source_server_id"], server["target_instance_id"]) == (
            expected["source_server_id"], expected["target_instance_id"])
        assert server["replication_state"] == "CONTINUOUS" and server["lag_seconds"] == 5.0
        assert set(server["drift"]) == {"launchIntoInstanceProperties", "targetInstanceTypeRightSizingMethod"}
    assert all(s["name_from"] == "drs_source_server" for s in run.ok("no_source_role")["waves"][0]["servers"])
    assert "ExternalId" in run.failed("no_external_id")["msg"]
    relaxed = run.ok("external_id_not_required")
    assert relaxed["ready"] is True and isinstance(relaxed["resource_actions"], list)

    strict = run.ok("stopped_strict")
    assert strict["ready"] is False and strict["not_ready_servers"] == names and strict["lag_threshold"] == 4.0
    for server in strict["waves"][0]["servers"]:
        assert server["drift"]["launchDisposition"] == {"before": "STARTED", "after": "STOPPED"}
        assert "replication lag 5 s is not under 4 s" in server["reasons"]

    at_the_quotas = run.ok("at_the_quotas")
    assert at_the_quotas["ready"] is True and [w["jobs"] for w in at_the_quotas["waves"]] == [1, 1]
    active = run.ok("active_jobs")
    assert active["ready"] is False and active["waves"][0]["reasons"] == ["2 servers in active jobs at once, quota 1"]
    replicating = run.ok("replicating")
    assert replicating["ready"] is False and replicating["not_ready_waves"] == []
    assert replicating["reasons"] == ["2 source servers replicating in the recovery account and region, quota 1"]
    multi = run.ok("multi_job")
    assert multi["ready"] is False and multi["waves"][0]["jobs"] == 2
    assert multi["waves"][0]["reasons"] == ["2 job(s) at once, quota 1 concurrent jobs"]
    assert multi["waves"][0]["warnings"][0].startswith("2 servers, over the quota of 1 servers per job")

    tables = run.ok("tables")
    assert tables["ready"] is False and "nowhere-instance-pairs does not exist" in tables["reasons"][0]
    assert "is in wave 1 and wave 2" in run.failed("twice")["msg"]
    assert run.ok("by_profile")["ready"] is True

    assert {c["account"] for c in sim.requests(service="drs")} == {TARGET}
    primary_reads = [c for c in sim.requests(service="ec2") if c["region"] == PRIMARY]
    assert {c["account"] for c in primary_reads} == {SOURCE, "123456789012"}  # no_source_role: the own account
    # tables=nowhere: only reads on DynamoDB, in the recovery account through the role
    assert {(c["account"], c["operation"]) for c in sim.requests(service="dynamodb")} == {(TARGET, "DescribeTable")}
