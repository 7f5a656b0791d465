"""playbooks/failover.yml through ansible-runner, the engine AWX/AAP runs jobs with, from a private data dir laid out
as AWX lays it out (project/, inventory/hosts, env/envvars, env/extravars): the job succeeds, its artifacts carry the
per-wave results and the execution id published with set_stats (per_host false), and the AWS state and the
execution record in DynamoDB are those of a completed failover."""
import json
import os
import sys

import ansible_runner
import pytest
import yaml

from simlib import PRIMARY, RECOVERY, Sim, small_estate

from .helpers import ACCESS_KEY, COLLECTIONS, ROOT, SECRET_KEY
from .test_drs_execution import _items, _lock, _tables

PREFIX = "it-state"  # the prefix _tables() creates the state tables with
IDENT = "job-42"


def _private_data_dir(tmp_path, sim, summary):
    """What AWX writes before it starts ansible-runner: the project checkout, the inventory, the credential's
    environment variables and the job template's extra vars."""
    data = tmp_path / "runner"
    (data / "inventory").mkdir(parents=True)
    (data / "env").mkdir()
    os.symlink(ROOT, data / "project")  # AWX's project checkout: the playbooks are under project/playbooks/

    by_wave = {}
    for name, server in summary["servers"].items():
        by_wave.setdefault(server["wave"], []).append(name)
    inventory = {"all": {
        "vars": {"drs_primary_region": PRIMARY, "drs_recovery_region": RECOVERY, "drs_protection_group": "shop"},
        "children": {f"wave_{w}": {"hosts": {n: {} for n in sorted(names)}, "vars": {"drs_wave": w}}
                     for w, names in sorted(by_wave.items())}}}
    (data / "inventory" / "hosts").write_text(yaml.safe_dump(inventory))

    envvars = {
        "AWS_URL": sim.url, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true",
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS, "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-local"),
        "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "false",
        # ansible-playbook of this virtual environment, as an execution environment has it on its PATH; the
        # simulator's package path must not reach the modules.
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""), "PYTHONPATH": "",
    }
    (data / "env" / "envvars").write_text(yaml.safe_dump(envvars))
    extravars = {"drs_state_table_prefix": PREFIX, "drs_poll_interval": 1, "drs_wait_timeout": 600}
    (data / "env" / "extravars").write_text(yaml.safe_dump(extravars))
    return data


@pytest.fixture(scope="module")
def job(simulator_process, tmp_path_factory):
    """One failover job on a fresh simulator, and the AWS state and execution record right after it (read here:
    other tests on this worker reset the simulator)."""
    sim = Sim(simulator_process.url)
    sim.reset()
    summary = sim.load_estate(small_estate(4, 2))
    client = _tables(sim)
    data = _private_data_dir(tmp_path_factory.mktemp("awx"), sim, summary)
    runner = ansible_runner.run(private_data_dir=str(data), playbook="playbooks/failover.yml", ident=IDENT,
                                quiet=True, timeout=300)
    stdout = runner.stdout.read()
    assert (runner.status, runner.rc) == ("successful", 0), stdout[-6000:]
    printed = stdout.split("FAILOVER execution ", 1)[1].split()[0]

    targets = {s["target_instance_id"]: s for s in summary["servers"].values()}
    reservations = sim.client("ec2", region=RECOVERY).describe_instances(InstanceIds=list(targets))["Reservations"]
    return {
        "runner": runner, "artifacts": data / "artifacts" / IDENT, "execution_id": printed, "targets": targets,
        "instances": [i for r in reservations for i in r["Instances"]],
        "recovery_instances": sim.client("drs", region=RECOVERY).describe_recovery_instances()["items"],
        "record": _items(client, printed), "lock": _lock(client),
    }


def _artifact_data(runner):
    stats_events = [e for e in runner.events if e["event"] == "playbook_on_stats"]
    assert len(stats_events) == 1
    return stats_events[0]["event_data"]["artifact_data"]


def test_the_job_succeeds_and_its_artifacts_carry_the_wave_results(job):
    runner, artifacts = job["runner"], job["artifacts"]
    # What AWX reads back from the artifacts directory.
    assert (artifacts / "rc").read_text() == "0" and (artifacts / "status").read_text() == "successful"
    assert runner.stats["failures"] == {} and runner.stats["ok"].get("localhost")
    assert f"FAILOVER execution {job['execution_id']}" in (artifacts / "stdout").read_text()

    # set_stats data with per_host false: the artifact_data of the playbook_on_stats event (AWX's job artifacts).
    custom = _artifact_data(runner)
    assert custom["drs_execution_status"] == "COMPLETED"
    waves = custom["drs_waves_result"]
    assert sorted(waves) == ["1", "2"], json.dumps(custom)
    for result in waves.values():
        assert result["status"] == "COMPLETED"
        assert result["counts"]["launched"] == 2 and sum(result["counts"].values()) == 2, result
    # the same event as a file in job_events/, one JSON document per event, as AWX ingests them
    on_disk = [json.loads(p.read_text()) for p in (artifacts / "job_events").iterdir() if p.suffix == ".json"]
    assert [e["event_data"]["artifact_data"] for e in on_disk if e["event"] == "playbook_on_stats"] == [custom]


def test_the_targets_are_running_with_their_ips_and_the_record_is_complete(job):
    targets = job["targets"]
    assert {i["InstanceId"] for i in job["instances"]} == set(targets)
    for instance in job["instances"]:
        assert instance["State"]["Name"] == "running"
        assert instance["PrivateIpAddress"] == targets[instance["InstanceId"]]["target_private_ip"]
    assert {r["recoveryInstanceID"] for r in job["recovery_instances"]} == set(targets)

    items = job["record"]
    assert items["EXECUTION"]["execution_status"]["S"] == "COMPLETED"
    assert [items[f"WAVE#{w:04d}"]["status"]["S"] for w in (1, 2)] == ["COMPLETED", "COMPLETED"]
    servers = [v for k, v in items.items() if k.startswith("SERVER#")]
    assert len(servers) == 4 and all(s["launch_status"]["S"] == "LAUNCHED" for s in servers)
    assert all(s["recovery_private_ip"]["S"] == s["target_private_ip"]["S"] for s in servers)
    assert job["lock"] is None


def test_the_published_execution_id_is_the_execution_id(job):
    """The id the next workflow node resumes with: published more than once during the run, it must stay one id."""
    assert _artifact_data(job["runner"])["drs_execution_id"] == job["execution_id"]
