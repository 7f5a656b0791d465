"""Helpers of the integration tests: run a playbook (or ansible-inventory / ansible-doc) against the simulator
as a real subprocess, read back every task's result, and inspect the resulting AWS state with boto3.

Each task result is recorded by the test-only callback ``callback_plugins/drs_it_record.py`` (one JSON line
per task, whatever the module returned, including failures ignored with ``ignore_errors``).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

from simlib import DEFAULT_ACCOUNT, PRIMARY, RECOVERY

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COLLECTIONS = os.path.join(ROOT, "build", "collections")
BIN = os.path.dirname(sys.executable)
NS = "elasticdr.orchestration."
MODULES = ("drs_instance_match", "drs_launch_config", "drs_recovery", "drs_reverse_replication", "drs_ip_validate",
           "drs_source_server_info", "drs_job_info", "drs_instance_pair", "drs_execution_info", "drs_execution", "drs_state_tables",
           "drs_drill_cleanup", "drs_preflight", "drs_wave_plan", "drs_agent_install", "drs_failback_info",
           "drs_failback_targets", "drs_failback_standby", "drs_metrics", "drs_launch_template", "drs_wave")

# Dummy credentials that are unlikely substrings of anything else: Ansible masks no_log values (the secret
# key) everywhere in its output.
ACCESS_KEY = "AKIASIMULATOR"
SECRET_KEY = "simulator-not-a-secret"
ROLE_222 = "arn:aws:iam::222222222222:role/DRSOrchestration"
EXTERNAL_ID = "drs-ext-7f3a9c"
LAUNCH_INTO_TAG = {"Key": "AWSDRS", "Value": "AllowLaunchingIntoThisInstance"}

# Every module gets the regions through its own module_defaults entry (not the action group, which
# test_action_group.py tests on its own).
PRIMARY_REGION_MODULES = ("drs_instance_match", "drs_reverse_replication", "drs_preflight", "drs_failback_standby",
                          "drs_wave")
DEFAULT_MODULE_ARGS = {NS + m: dict({"region": RECOVERY}, **({"source_region": PRIMARY} if m in PRIMARY_REGION_MODULES else {}))
                       for m in MODULES}


def drs(module, name, register=None, ignore_errors=False, **params):
    """A task of one of the collection's modules."""
    task = {"name": name, NS + module: params}
    if register:
        task["register"] = register
    if ignore_errors:
        task["ignore_errors"] = True
    return task


class TaskRecord(dict):
    """One recorded task: name, action, status (ok/failed/skipped), result, warnings."""

    @property
    def result(self):
        return self["result"]

    @property
    def failed(self):
        return self["status"] == "failed"

    @property
    def changed(self):
        return bool(self["result"].get("changed"))


class PlayResult:
    def __init__(self, rc, stdout, stderr, records, playbook):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.records = [TaskRecord(r) for r in records]
        self.playbook = playbook

    def __getitem__(self, name) -> TaskRecord:
        found = [r for r in self.records if r["name"] == name]
        assert found, f"no task {name!r} recorded; tasks: {[r['name'] for r in self.records]}\n{self.output()}"
        return found[-1]

    def output(self):
        return f"rc={self.rc}\n--- stdout\n{self.stdout[-6000:]}\n--- stderr\n{self.stderr[-3000:]}"

    def ok(self, name) -> dict:
        """The result of a task that must have succeeded."""
        record = self[name]
        assert record["status"] == "ok", f"task {name!r} {record['status']}: {record.result.get('msg')}\n{self.output()}"
        return record.result

    def failed(self, name) -> dict:
        """The result of a task that must have failed."""
        record = self[name]
        assert record["status"] == "failed", f"task {name!r} did not fail: {json.dumps(record.result)[:2000]}"
        return record.result


def base_env(sim_url, tmp_path, results_file=None, credentials=True, endpoint=True):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "ANSIBLE_", "EC2_", "BOTO")) and k != "PYTHONPATH"}
    env.update({
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true",
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
        "ANSIBLE_CALLBACK_PLUGINS": os.path.join(HERE, "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "drs_it_record",
        "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "false",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-local"),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
    })
    if endpoint:
        env["AWS_URL"] = sim_url
    if credentials:
        env.update({"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY})
    if results_file:
        env["DRS_IT_RESULTS"] = str(results_file)
    return env


class PlaybookRunner:
    """Writes a playbook to the test's tmp dir and runs ansible-playbook against the simulator."""

    def __init__(self, sim, tmp_path):
        self.sim = sim
        self.tmp_path = tmp_path
        self.runs = 0

    def run(self, tasks=None, plays=None, check=False, diff=False, env=None, extra_args=(), module_defaults=None,
            credentials=True, endpoint=True, play_vars=None, timeout=300) -> PlayResult:
        self.runs += 1
        if plays is None:
            defaults = DEFAULT_MODULE_ARGS if module_defaults is None else module_defaults
            play = {"name": "integration", "hosts": "localhost", "gather_facts": False, "connection": "local"}
            if defaults:
                play["module_defaults"] = defaults
            if play_vars:
                play["vars"] = play_vars
            play["tasks"] = tasks
            plays = [play]
        path = self.tmp_path / f"play{self.runs}.yml"
        path.write_text(yaml.safe_dump(plays, sort_keys=False, width=1000))
        results = self.tmp_path / f"results{self.runs}.jsonl"
        cmd = [sys.executable, os.path.join(BIN, "ansible-playbook"), str(path)]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        cmd += list(extra_args)
        run_env = base_env(self.sim.url, self.tmp_path, results, credentials=credentials, endpoint=endpoint)
        run_env.update(env or {})
        proc = subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=timeout, cwd=str(self.tmp_path),
                              check=False)
        records = []
        if results.exists():
            records = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
        return PlayResult(proc.returncode, proc.stdout, proc.stderr, records, path)


def run_tool(tool, args, sim_url, tmp_path, env=None, timeout=120, credentials=True, endpoint=True):
    """Run another ansible-* tool (ansible-inventory, ansible-doc) with the test environment."""
    run_env = base_env(sim_url, tmp_path, credentials=credentials, endpoint=endpoint)
    run_env.update(env or {})
    return subprocess.run([sys.executable, os.path.join(BIN, tool)] + list(args), env=run_env, capture_output=True,
                          text=True, timeout=timeout, cwd=str(tmp_path), check=False)


# ------------------------------------------------------------------------------- AWS state through boto3
def mutating(sim, service=None):
    """Mutating calls in the request log (optionally of one service)."""
    filters = {"mutating": "true"}
    if service:
        filters["service"] = service
    return sim.requests(**filters)


def operations(sim, operation, service="drs"):
    return sim.requests(service=service, operation=operation)


def launch_config(sim, source_server_id, account=DEFAULT_ACCOUNT, region=RECOVERY):
    config = sim.client("drs", region=region, account=account).get_launch_configuration(sourceServerID=source_server_id)
    config.pop("ResponseMetadata", None)
    return config


def launch_into_id(config):
    return (config.get("launchIntoInstanceProperties") or {}).get("launchIntoEC2InstanceID")


def instance(sim, instance_id, account=DEFAULT_ACCOUNT, region=RECOVERY):
    ec2 = sim.client("ec2", region=region, account=account)
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def tags_of(item):
    return {t["Key"]: t["Value"] for t in item.get("Tags") or []}


def attached_volumes(sim, instance_id, account=DEFAULT_ACCOUNT, region=RECOVERY):
    ec2 = sim.client("ec2", region=region, account=account)
    ids = [b["Ebs"]["VolumeId"] for b in instance(sim, instance_id, account, region)["BlockDeviceMappings"]]
    return ec2.describe_volumes(VolumeIds=ids)["Volumes"]


def jobs(sim, account=DEFAULT_ACCOUNT, region=RECOVERY, job_ids=None):
    drs_client = sim.client("drs", region=region, account=account)
    filters = {"jobIDs": list(job_ids)} if job_ids else {}
    return drs_client.describe_jobs(filters=filters)["items"]


def source_servers(sim, account=DEFAULT_ACCOUNT, region=RECOVERY):
    return sim.client("drs", region=region, account=account).describe_source_servers(filters={})["items"]


def recovery_instances(sim, account=DEFAULT_ACCOUNT, region=RECOVERY):
    return sim.client("drs", region=region, account=account).describe_recovery_instances(filters={})["items"]


def pairs_of(summary, names=None):
    """drs_launch_config/drs_recovery `servers` built from an estate summary (not from drs_instance_match)."""
    out = []
    for name, server in sorted(summary["servers"].items()):
        if names is None or name in names:
            out.append({"name": name, "source_server_id": server["source_server_id"],
                        "target_instance_id": server.get("target_instance_id")})
    return out


def assert_no_mutation(sim, what=""):
    calls = mutating(sim)
    assert calls == [], f"{what}: mutating calls were made: {[(c['service'], c['operation']) for c in calls]}"


def assert_names_and_remediation(result, *fragments):
    """A failure message that names what is at fault and says what to do."""
    msg = result.get("msg") or ""
    for fragment in fragments:
        assert fragment in msg, f"{fragment!r} not in failure message {msg!r}"
    assert "Remediation:" in msg, f"no remediation in {msg!r}"
    return msg


# ------------------------------------------------------------------------------- estates
def cross_account_estate(drs_account="222222222222", source_account=DEFAULT_ACCOUNT, servers=2):
    """Sources in source_account/us-east-1; DRS source servers and launch-into targets in drs_account/us-west-2."""
    doc = {
        "name": f"cross-account-{drs_account}",
        "networks": [
            {"name": "prod", "region": PRIMARY, "account": source_account, "cidr": "10.30.0.0/16",
             "subnets": [{"name": "prod-a", "cidr": "10.30.1.0/24", "az": "us-east-1a"}]},
            {"name": "dr", "region": RECOVERY, "account": drs_account, "cidr": "10.30.0.0/16",
             "subnets": [{"name": "dr-a", "cidr": "10.30.1.0/24", "az": "us-west-2a"}]},
        ],
        "servers": [],
    }
    for index in range(1, servers + 1):
        ip = f"10.30.1.{10 + index}"
        doc["servers"].append({"name": f"xa-{index:02d}", "wave": 1, "subnet": "prod-a", "private_ip": ip,
                               "drs_account": drs_account,
                               "target": {"subnet": "dr-a", "private_ip": ip, "account": drs_account}})
    return doc


# ------------------------------------------------------------------------------- state tables
def state_tables(sim, prefix="drs-orchestration", account=DEFAULT_ACCOUNT, region=RECOVERY):
    """Create the three DynamoDB state tables in the simulator (test_state_store.create_tables, the tests'
    one copy of the schema) and return a StateStore on them, to write records
    before a run and read back what a module wrote."""
    from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.retry import DRSRetry
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.state_store import StateStore

    from unit.plugins.module_utils.test_state_store import create_tables

    client = sim.client("dynamodb", region=region, account=account)
    create_tables(client, prefix)
    return StateStore(RetryingBotoClientWrapper(client, DRSRetry.honour_retry_after(retries=1)), prefix)


def engine_connections(sim, region=RECOVERY, source_region=PRIMARY):
    """module_support.Connections for the wave engine, with the simulator's operator credentials."""
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.connection import AWSConnector
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.connection import RoleCredentialCache
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import Connections

    connector = AWSConnector(region=region, endpoint_url=sim.url, cache=RoleCredentialCache(),
                             connect_kwargs={"aws_access_key_id": "testing", "aws_secret_access_key": "testing"})
    return Connections(None, params={"source_region": source_region}, connector=connector)


def waves_of(summary):
    """{wave: [names]} of a loaded estate's summary."""
    waves = {}
    for name, server in summary["servers"].items():
        waves.setdefault(int(server["wave"]), []).append(name)
    return {wave: sorted(names) for wave, names in sorted(waves.items())}


def fail_over_directly(sim, summary, prefix="drs-orchestration", group="shop", execution_id="shop-failover-direct",
                       mode="failover"):
    """The state a completed failover.yml (or drill.yml) leaves, built with the wave engine in this process instead
    of a playbook: every wave launched into its targets and recorded, the execution COMPLETED, the lock released.
    Returns the execution id. The playbooks' own chains are tested end to end elsewhere; this is set-up."""
    from ansible_collections.elasticdr.orchestration.plugins.module_utils import wave_engine
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.executions import ExecutionRecorder
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.state_store import StateStore

    connections = engine_connections(sim)
    waves = waves_of(summary)
    recorder = ExecutionRecorder(StateStore(connections.client("dynamodb"), prefix), group, execution_id)
    recorder.start(mode.upper(), waves=list(waves), primary_region=PRIMARY, recovery_region=RECOVERY,
                   operator="tests", is_drill=mode == "drill")
    params = {"mode": mode, "protection_group": group, "table_prefix": prefix, "execution_id": execution_id,
              "waves": waves, "poll_interval": 0.1, "wait_timeout": 600}
    prepared = wave_engine.run(connections, params)
    for wave in waves:
        outcome = wave_engine.run(connections, dict(params, wave=wave, prepared=prepared))
        assert outcome["wave_status"] == "COMPLETED", outcome["summary"]
    recorder.finish("COMPLETED")
    return execution_id
