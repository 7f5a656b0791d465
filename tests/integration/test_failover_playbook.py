"""playbooks/failover.yml end to end against the simulator: a multi-wave failover from an inventory whose groups
are waves, checked against the resulting AWS state (instance IDs, states, IPs, volumes, DRS records) and the
execution record in DynamoDB; a rerun with the same execution id resumes without launching anything again;
a second execution of the same protection group is refused while the first holds the lock; --check makes no
mutating call."""
import os
import re

import yaml

import principals
from simlib import PRIMARY, RECOVERY, small_estate

from .helpers import ROOT, mutating, operations, run_tool
from .test_drs_execution import _items, _lock, _tables

PREFIX = "it-state"


def _inventory(tmp_path, summary, **extra):
    by_wave = {}
    for name, server in summary["servers"].items():
        by_wave.setdefault(server["wave"], []).append(name)
    inventory = {"all": {
        "vars": dict({"drs_primary_region": PRIMARY, "drs_recovery_region": RECOVERY, "drs_protection_group": "shop",
                      "drs_state_table_prefix": PREFIX, "drs_poll_interval": 1, "drs_wait_timeout": 600}, **extra),
        "children": {f"wave_{w}": {"hosts": {n: {} for n in sorted(names)}, "vars": {"drs_wave": w}}
                     for w, names in sorted(by_wave.items())}}}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inventory))
    return str(path)


def _failover(sim, tmp_path, inventory, *args, env=None):
    return run_tool("ansible-playbook", [os.path.join(ROOT, "playbooks", "failover.yml"), "-i", inventory] + list(args),
                    sim.url, tmp_path, timeout=600, env=env)


def assert_nothing_denied(sim):
    """IAM was enforced for the run and refused nothing (what DRS did as the caller included)."""
    iam = sim.control("GET", "iam")
    assert iam["enforce"] is True
    assert iam["denials"] == []


def _execution_id(proc):
    for line in proc.stdout.splitlines():
        if "FAILOVER execution " in line:
            return line.split("FAILOVER execution ", 1)[1].split()[0]
    raise AssertionError(f"no execution id printed:\n{proc.stdout}")


def test_multi_wave_failover_resume_and_lock(sim, tmp_path):
    summary = sim.load_estate(small_estate(6, 3))
    client = _tables(sim)
    run_as = principals.create(sim.url, table_prefix=PREFIX)
    inventory = _inventory(tmp_path, summary, drs_publish_metrics=True, **run_as.vars)
    ec2 = sim.client("ec2", region=RECOVERY)
    before = {s["target_instance_id"]: s for s in summary["servers"].values()}

    sim.clear_requests()
    checked = _failover(sim, tmp_path, inventory, "--check", env=run_as.env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert mutating(sim) == [], "check mode must make no mutating AWS call"

    proc = _failover(sim, tmp_path, inventory, env=run_as.env)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    execution_id = _execution_id(proc)
    assert "Wave 1: COMPLETED" in proc.stdout and "Wave 3: COMPLETED" in proc.stdout
    # Progress while each wave runs: a line per poll from the drs_recovery action plugin, ending at 100%.
    for wave in (1, 2, 3):
        assert f"drs_wave wave {wave}: 2/2 launched, 0 in progress, 0 failed (100%)" in proc.stdout

    # AWS state: every target is the recovery instance, running, with its own ID and IP and recovered volumes.
    reservations = ec2.describe_instances(InstanceIds=list(before))["Reservations"]
    instances = {i["InstanceId"]: i for r in reservations for i in r["Instances"]}
    for target_id, server in before.items():
        instance = instances[target_id]
        assert instance["State"]["Name"] == "running"
        assert instance["PrivateIpAddress"] == server["target_private_ip"] == server["source_private_ip"]
        volumes = ec2.describe_volumes(VolumeIds=[b["Ebs"]["VolumeId"] for b in instance["BlockDeviceMappings"]])
        assert all({t["Key"]: t["Value"] for t in v["Tags"]}.get("drs:recovered-from") == server["source_server_id"]
                   for v in volumes["Volumes"])
    drs = sim.client("drs", region=RECOVERY)
    records = {r["recoveryInstanceID"]: r for r in drs.describe_recovery_instances()["items"]}
    assert set(records) == set(before)
    starts = operations(sim, "StartRecovery")
    assert len(starts) == 3  # one job per wave
    assert_nothing_denied(sim)
    # Each wave is one drs_wave task, which ran its jobs and recorded it: no task of its own records a wave.
    for wave in (1, 2, 3):
        assert len(re.findall(rf"TASK \[elasticdr.orchestration.drs : Wave {wave}\] \*+\n", proc.stdout)) == 1, wave
    assert not re.search(r"TASK \[[^\]]*: Record (as running the )?wave", proc.stdout)

    # The execution record.
    items = _items(client, execution_id)
    assert items["EXECUTION"]["execution_status"]["S"] == "COMPLETED"
    for wave in (1, 2, 3):
        assert items[f"WAVE#{wave:04d}"]["status"]["S"] == "COMPLETED"
    servers = {k: v for k, v in items.items() if k.startswith("SERVER#")}
    assert len(servers) == 6
    for item in servers.values():
        assert item["launch_status"]["S"] == "LAUNCHED" and item["ip_preserved"]["BOOL"] is True
        assert item["recovery_private_ip"]["S"] == item["target_private_ip"]["S"]
    assert _lock(client) is None
    # drs_publish_metrics: each wave's metrics, per wave, in CloudWatch
    metrics = sim.client("cloudwatch", region=RECOVERY).list_metrics(
        Namespace="ElasticDR/Orchestration", MetricName="ServersLaunched")["Metrics"]
    waves = {d["Value"] for m in metrics for d in m["Dimensions"] if d["Name"] == "Wave"}
    assert waves == {"1", "2", "3"}

    # A rerun with the same id skips the completed waves and launches nothing.
    sim.clear_requests()
    again = _failover(sim, tmp_path, inventory, "-e", f"drs_execution_id={execution_id}", env=run_as.env)
    assert again.returncode == 0, again.stdout[-3000:]
    assert "already completed" in again.stdout
    assert operations(sim, "StartRecovery") == []

    # Another execution is refused while one holds the lock (here: a held lock left by a crashed run).
    client.put_item(TableName=f"{PREFIX}-instance-pairs", Item={
        "protection_group": {"S": "shop"}, "source_server_id": {"S": "#LOCK"}, "holder": {"S": "other-run"},
        "acquired_at": {"N": "1"}, "lease_expires": {"N": "99999999999"}})
    sim.clear_requests()
    refused = _failover(sim, tmp_path, inventory, env=run_as.env)
    assert refused.returncode != 0
    assert "other-run" in refused.stdout
    assert operations(sim, "StartRecovery") == [] and operations(sim, "UpdateLaunchConfiguration") == []


def test_bad_inventory_is_refused_before_any_aws_call(sim, tmp_path):
    summary = sim.load_estate(small_estate(2, 1))
    _tables(sim)
    inventory = _inventory(tmp_path, summary)
    data = yaml.safe_load(open(inventory, encoding="utf-8"))
    data["all"]["children"]["wave_2"] = {"hosts": {"db-01": {}}, "vars": {"drs_wave": 2}}  # db-01 in two waves
    with open(inventory, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle)
    sim.clear_requests()
    proc = _failover(sim, tmp_path, inventory)
    assert proc.returncode != 0
    assert "db-01" in proc.stdout and "exactly one wave" in proc.stdout
    assert sim.requests() == []


def test_a_launch_drs_may_not_make_as_the_caller_fails_naming_the_permission_and_the_fix(sim, tmp_path):
    """The target role without the statement that lets DRS swap a launch-into target's volumes as the caller: the
    server's launch fails in DRS (LAUNCH_FAILED naming ec2:DetachVolume), and the run reports it with the fix."""
    summary = sim.load_estate(small_estate(1, 1))
    _tables(sim)
    target_policy = principals.without_statement(
        principals.shipped_policy("target-account-policy.json", "123456789012", "123456789012", table_prefix=PREFIX),
        "DRSLaunchIntoTaggedTargets")
    run_as = principals.create(sim.url, table_prefix=PREFIX, target_policy=target_policy)
    inventory = _inventory(tmp_path, summary, **run_as.vars)
    (server,) = summary["servers"].values()
    volumes_before = sorted(b["Ebs"]["VolumeId"] for b in sim.client("ec2").describe_instances(
        InstanceIds=[server["target_instance_id"]])["Reservations"][0]["Instances"][0]["BlockDeviceMappings"])

    proc = _failover(sim, tmp_path, inventory, env=run_as.env)
    assert proc.returncode != 0
    drs = sim.client("drs", region=RECOVERY)
    (job,) = drs.describe_jobs()["items"]
    assert job["participatingServers"][0]["launchStatus"] == "FAILED"
    (failed,) = [e for e in drs.describe_job_log_items(jobID=job["jobID"])["items"] if e["event"] == "LAUNCH_FAILED"]
    assert "is not authorized to perform: ec2:DetachVolume" in failed["eventData"]["rawError"]
    assert "assumed-role/DRSOrchestration/" in failed["eventData"]["rawError"]
    # The run names the permission, the identity and the fix.
    assert "Grant ec2:DetachVolume on arn:aws:ec2:" in proc.stdout
    assert "aws:CalledVia" in proc.stdout
    # The target is untouched: same volumes, still stopped.
    instance = sim.client("ec2").describe_instances(
        InstanceIds=[server["target_instance_id"]])["Reservations"][0]["Instances"][0]
    assert sorted(b["Ebs"]["VolumeId"] for b in instance["BlockDeviceMappings"]) == volumes_before
    assert instance["State"]["Name"] == "stopped"
