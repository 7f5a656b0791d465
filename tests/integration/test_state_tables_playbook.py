"""playbooks/state_tables.yml against the simulator: the CloudFormation template is cfn-lint clean (and the
check can fail), the tables come out with the keys, GSIs and TTL the collection uses, a rerun changes nothing,
--check makes no mutating call, and the collection's StateStore works on the tables."""
import os
import subprocess
import sys

import yaml

from simlib import RECOVERY

from .helpers import ROOT, mutating, run_tool

TEMPLATE = os.path.join(ROOT, "roles", "drs", "files", "drs-state-tables.cfn.yaml")


def _cfn_lint(path):
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "cfn-lint"), path], capture_output=True,
                          text=True, check=False)


def test_template_is_cfn_lint_clean_and_the_check_can_fail(tmp_path):
    assert _cfn_lint(TEMPLATE).returncode == 0
    broken = yaml.safe_load(open(TEMPLATE, encoding="utf-8"))
    broken["Resources"]["ExecutionsTable"]["Properties"]["BillingMode"] = "SOMETIMES"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(broken))
    assert _cfn_lint(str(path)).returncode != 0


def _inventory(tmp_path, prefix):
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump({"all": {"vars": {"drs_recovery_region": RECOVERY, "drs_state_table_prefix": prefix}}}))
    return str(path)


def _run(sim, tmp_path, inventory, *args):
    return run_tool("ansible-playbook", [os.path.join(ROOT, "playbooks", "state_tables.yml"), "-i", inventory] + list(args),
                    sim.url, tmp_path, timeout=300)


def test_state_tables_playbook(sim, tmp_path):
    inventory = _inventory(tmp_path, "st")
    sim.clear_requests()
    checked = _run(sim, tmp_path, inventory, "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "would be created" in checked.stdout and mutating(sim) == []

    created = _run(sim, tmp_path, inventory)
    assert created.returncode == 0, created.stdout[-3000:] + created.stderr[-2000:]
    dynamodb = sim.client("dynamodb", region=RECOVERY)
    expected = {
        "st-instance-pairs": (["protection_group", "source_server_id"], {"WaveIndex", "AccountIndex"}),
        "st-executions": (["execution_id", "record_key"], {"StatusIndex", "ExecutionTypeIndex", "AccountIndex"}),
        "st-failback-state": (["protection_group", "source_server_id"], {"StatusIndex", "AccountIndex"}),
    }
    for name, (keys, indexes) in expected.items():
        table = dynamodb.describe_table(TableName=name)["Table"]
        assert [k["AttributeName"] for k in table["KeySchema"]] == keys
        assert {i["IndexName"] for i in table["GlobalSecondaryIndexes"]} == indexes
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "ttl")
    status_index = next(i for i in dynamodb.describe_table(TableName="st-executions")["Table"]["GlobalSecondaryIndexes"]
                        if i["IndexName"] == "StatusIndex")
    assert [k["AttributeName"] for k in status_index["KeySchema"]] == ["execution_status", "started_at"]

    sim.clear_requests()
    again = _run(sim, tmp_path, inventory)
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout[-2000:]
    assert mutating(sim) == []
    sim.clear_requests()
    checked_again = _run(sim, tmp_path, inventory, "--check")
    assert checked_again.returncode == 0 and "changed=0" in checked_again.stdout and mutating(sim) == []

    from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.retry import DRSRetry
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.state_store import StateStore

    store = StateStore(RetryingBotoClientWrapper(dynamodb, DRSRetry.honour_retry_after(retries=1)), "st")
    store.check_tables()
    store.put_pair({"protection_group": "shop", "source_server_id": "s-0123456789abcdef0", "wave": 1,
                    "target_account_id": "123456789012", "name": "db-01"})
    store.acquire_lock("shop", "exec-1")
    store.put_execution({"execution_id": "exec-1", "protection_group": "shop", "status": "RUNNING",
                         "execution_type": "FAILOVER", "started_at": "2026-11-27T00:00:00.000Z"})
    store.put_wave("exec-1", {"wave": 1, "status": "COMPLETED", "started_at": "2026-11-27T00:00:01.000Z"})
    store.put_servers("exec-1", 1, [{"name": "db-01", "launch_status": "LAUNCHED"}])
    assert [e["execution_id"] for e in store.executions_by_status("RUNNING")] == ["exec-1"]
    assert store.release_lock("shop", "exec-1") is True
    assert [p["name"] for p in store.get_pairs("shop")] == ["db-01"]


def test_missing_tables_are_named(sim, play):
    from .helpers import drs

    run = play.run([drs("drs_state_tables", "check", region=RECOVERY, table_prefix="nope", ignore_errors=True),
                    drs("drs_state_tables", "check_mode_view", region=RECOVERY, table_prefix="nope",
                        ensure_ttl=False, ignore_errors=True)], module_defaults={})
    for name in ("check", "check_mode_view"):
        failed = run.failed(name)
        for table in ("nope-instance-pairs", "nope-executions", "nope-failback-state"):
            assert table in failed["msg"]
