"""playbooks/state_tables.yml (role drs_state_tables) against the simulator.

The schema below is written out from the plan, independently of the template, so a template that drifts from
it fails here. cfn-lint must pass on the template and fail on broken copies of it. Against the simulator: the
tables come out with exactly these keys, indexes, TTL, PITR and SSE (from the template alone: the only
mutating call is CreateStack); a rerun and --check make no mutating call; --check never creates a change set;
state_store.StateStore and ExecutionRecorder work on the deployed tables; refusals happen before any change.
"""
import copy
import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from simlib import DEFAULT_ACCOUNT, PRIMARY, RECOVERY

from .helpers import BIN, EXTERNAL_ID, ROLE_222, ROOT, PlayResult, base_env, drs, mutating, run_tool

TEMPLATE = os.path.join(ROOT, "roles", "drs_state_tables", "files", "drs-state-tables.cfn.yaml")
PLAYBOOK = os.path.join(ROOT, "playbooks", "state_tables.yml")
PREFIX = "sttest"
ACCOUNT_222 = "222222222222"

# The plan's schema: per table suffix, the key schema and each GSI as [(attribute, key type, attribute type)].
SCHEMA = {
    "instance-pairs": {
        "resource": "InstancePairsTable",
        "keys": [("protection_group", "HASH", "S"), ("source_server_id", "RANGE", "S")],
        "indexes": {
            "WaveIndex": [("protection_group", "HASH", "S"), ("wave", "RANGE", "N")],
            "AccountIndex": [("target_account_id", "HASH", "S"), ("protection_group", "RANGE", "S")],
        },
    },
    "executions": {
        "resource": "ExecutionsTable",
        "keys": [("execution_id", "HASH", "S"), ("record_key", "RANGE", "S")],
        "indexes": {
            "StatusIndex": [("execution_status", "HASH", "S"), ("started_at", "RANGE", "S")],
            "ExecutionTypeIndex": [("execution_type", "HASH", "S"), ("started_at", "RANGE", "S")],
            "AccountIndex": [("account_id", "HASH", "S"), ("started_at", "RANGE", "S")],
        },
    },
    "failback-state": {
        "resource": "FailbackStateTable",
        "keys": [("protection_group", "HASH", "S"), ("source_server_id", "RANGE", "S")],
        "indexes": {
            "StatusIndex": [("status", "HASH", "S"), ("updated_at", "RANGE", "S")],
            "AccountIndex": [("staging_account_id", "HASH", "S"), ("protection_group", "RANGE", "S")],
        },
    },
}


def _attribute_types(spec):
    types = {}
    for name, _key_type, attr_type in spec["keys"] + [k for index in spec["indexes"].values() for k in index]:
        types[name] = attr_type
    return types


# ------------------------------------------------------------------------------------------ running
def _write_inventory(tmp_path, prefix=PREFIX, **extra):
    path = tmp_path / f"inventory-{prefix}-{len(list(tmp_path.glob('inventory-*')))}.yml"
    path.write_text(yaml.safe_dump({"all": {"vars": dict({"drs_recovery_region": RECOVERY,
                                                          "drs_state_table_prefix": prefix}, **extra)}}))
    return str(path)


def _run(sim, tmp_path, inventory, *args, playbook=PLAYBOOK, clear=True) -> PlayResult:
    """ansible-playbook on the shipped playbook (or a collection playbook name), every task result recorded."""
    if clear:
        sim.clear_requests()
    results = tmp_path / f"results-{len(list(tmp_path.glob('results-*')))}.jsonl"
    proc = subprocess.run([sys.executable, os.path.join(BIN, "ansible-playbook"), playbook, "-i", inventory]
                          + list(args), env=base_env(sim.url, tmp_path, results), capture_output=True, text=True,
                          timeout=300, cwd=str(tmp_path), check=False)
    records = [json.loads(line) for line in results.read_text().splitlines() if line.strip()] if results.exists() else []
    return PlayResult(proc.returncode, proc.stdout, proc.stderr, records, playbook)


def _task(run, name):
    """The recorded result of a role task (recorded as '<role> : <name>')."""
    found = [r for r in run.records if r["name"].split(" : ")[-1] == name]
    assert found, f"no task {name!r}: {[r['name'] for r in run.records]}\n{run.output()}"
    return found[-1]


def _changed(run):
    return int(re.search(r"changed=(\d+)", run.stdout).group(1))


def _summary(run):
    return _task(run, "Summarise the state tables").result["msg"]


def _ops(calls):
    return sorted({(c["service"], c["operation"]) for c in calls})


def _names(prefix=PREFIX):
    return {suffix: f"{prefix}-{suffix}" for suffix in SCHEMA}


def _store(sim, prefix=PREFIX, account=DEFAULT_ACCOUNT):
    from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.retry import DRSRetry
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.state_store import StateStore

    client = sim.client("dynamodb", region=RECOVERY, account=account)
    return StateStore(RetryingBotoClientWrapper(client, DRSRetry.honour_retry_after(retries=1)), prefix)


def _deploy(sim, prefix=PREFIX, template_body=None):
    """The stack as the role would create it, made directly (for tests about what happens afterwards)."""
    sim.client("cloudformation", region=RECOVERY).create_stack(
        StackName=f"{prefix}-state-tables", TemplateBody=template_body or open(TEMPLATE, encoding="utf-8").read(),
        Parameters=[{"ParameterKey": "TablePrefix", "ParameterValue": prefix}])


def _assert_tables_as_planned(sim, prefix=PREFIX, account=DEFAULT_ACCOUNT):
    dynamodb = sim.client("dynamodb", region=RECOVERY, account=account)
    for suffix, spec in SCHEMA.items():
        name = f"{prefix}-{suffix}"
        table = dynamodb.describe_table(TableName=name)["Table"]
        assert table["TableStatus"] == "ACTIVE"
        assert [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]] == [k[:2] for k in spec["keys"]], name
        assert {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]} == _attribute_types(spec)
        indexes = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}
        assert set(indexes) == set(spec["indexes"]), name
        for index_name, keys in spec["indexes"].items():
            index = indexes[index_name]
            assert [(k["AttributeName"], k["KeyType"]) for k in index["KeySchema"]] == [k[:2] for k in keys], index_name
            assert index["Projection"]["ProjectionType"] == "ALL" and index["IndexStatus"] == "ACTIVE"
        assert not table.get("LocalSecondaryIndexes")
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert table["SSEDescription"]["Status"] == "ENABLED", name
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "ttl"), name
        backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED", name


# ------------------------------------------------------------------------------------------ the template
def _cfn_lint(paths):
    paths = [paths] if isinstance(paths, str) else paths
    return subprocess.run([os.path.join(BIN, "cfn-lint")] + [str(p) for p in paths], capture_output=True, text=True,
                          check=False)


def _load_template():
    with open(TEMPLATE, encoding="utf-8") as stream:
        return yaml.safe_load(stream)


def test_template_has_the_planned_schema():
    template = _load_template()
    prefix = template["Parameters"]["TablePrefix"]
    assert prefix["Default"] == "drs-orchestration"
    pattern = re.compile(f"(?:{prefix['AllowedPattern']})$")
    assert pattern.match("drs-orchestration") and pattern.match("a.b_c") and pattern.match("x" * 200)
    assert not any(pattern.match(bad) for bad in ("ab", "has space", "x" * 201, "semi;colon"))
    assert set(template["Resources"]) == {spec["resource"] for spec in SCHEMA.values()}
    for suffix, spec in SCHEMA.items():
        resource = template["Resources"][spec["resource"]]
        props = resource["Properties"]
        assert resource["Type"] == "AWS::DynamoDB::Table"
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain")
        assert props["TableName"] == {"Fn::Sub": "${TablePrefix}-" + suffix}
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"] == {"SSEEnabled": True}
        assert [(k["AttributeName"], k["KeyType"]) for k in props["KeySchema"]] == [k[:2] for k in spec["keys"]]
        assert {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]} == _attribute_types(spec)
        indexes = {i["IndexName"]: i for i in props["GlobalSecondaryIndexes"]}
        assert set(indexes) == set(spec["indexes"])
        for index_name, keys in spec["indexes"].items():
            assert [(k["AttributeName"], k["KeyType"]) for k in indexes[index_name]["KeySchema"]] == [k[:2] for k in keys]
            assert indexes[index_name]["Projection"] == {"ProjectionType": "ALL"}
        assert template["Outputs"][spec["resource"] + "Name"]["Value"] == {"Ref": spec["resource"]}
        assert template["Outputs"][spec["resource"] + "Arn"]["Value"] == {"Fn::GetAtt": [spec["resource"], "Arn"]}
    assert len(template["Outputs"]) == 6


def _break_billing(template):
    template["Resources"]["ExecutionsTable"]["Properties"]["BillingMode"] = "SOMETIMES"


def _break_attribute_definitions(template):
    props = template["Resources"]["ExecutionsTable"]["Properties"]
    props["AttributeDefinitions"] = [a for a in props["AttributeDefinitions"] if a["AttributeName"] != "started_at"]


def _break_ttl(template):
    del template["Resources"]["FailbackStateTable"]["Properties"]["TimeToLiveSpecification"]["Enabled"]


def _break_output(template):
    template["Outputs"]["ExecutionsTableArn"]["Value"] = {"Fn::GetAtt": ["ExecutionTable", "Arn"]}


def test_template_is_cfn_lint_clean_and_the_check_can_fail(tmp_path):
    clean = _cfn_lint(TEMPLATE)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    # Each broken copy must fail with the rule its break violates (one cfn-lint run for all: it starts slowly).
    expected = {}
    for breaker, rule in ((_break_billing, "E3030"), (_break_attribute_definitions, "E3039"), (_break_ttl, "E3003"),
                          (_break_output, "E6101")):
        broken = copy.deepcopy(_load_template())
        breaker(broken)
        path = tmp_path / f"{breaker.__name__}.cfn.yaml"
        path.write_text(yaml.safe_dump(broken))
        expected[str(path)] = rule
    result = _cfn_lint(list(expected))
    assert result.returncode != 0, result.stdout + result.stderr
    for path, rule in expected.items():
        findings = re.findall(rf"^({rule})\b.*\n{re.escape(path)}:\d+:\d+", result.stdout, re.M)
        assert findings, f"{rule} not reported for {path}:\n{result.stdout}"


# ------------------------------------------------------------------------------------------ the playbook
def test_check_then_create_then_nothing_to_do(sim, tmp_path):
    inventory = _write_inventory(tmp_path)
    names = _names()

    checked = _run(sim, tmp_path, inventory, "--check")
    assert checked.rc == 0, checked.output()
    assert mutating(sim) == [], _ops(mutating(sim))
    assert _changed(checked) == 1 and _task(checked, "Say what a real run would do to the stack").changed
    assert _summary(checked) == (f"State tables would be created in {RECOVERY} by stack {PREFIX}-state-tables: "
                                 f"{names['instance-pairs']}, {names['executions']}, {names['failback-state']}.")
    assert sim.client("dynamodb", region=RECOVERY).list_tables()["TableNames"] == []

    created = _run(sim, tmp_path, inventory)
    assert created.rc == 0, created.output()
    # TTL, PITR and SSE come from the template: CreateStack is the one call that changed anything.
    assert _ops(mutating(sim)) == [("cloudformation", "CreateStack")]
    assert {c["region"] for c in sim.requests()} == {RECOVERY}
    assert _task(created, "Create or update the state tables stack and wait for it").changed
    assert _summary(created) == (f"State tables ACTIVE in {RECOVERY} (stack {PREFIX}-state-tables created): "
                                 f"{names['instance-pairs']}, {names['executions']}, {names['failback-state']}; "
                                 "TTL on ttl.")
    _assert_tables_as_planned(sim)
    stack = sim.client("cloudformation", region=RECOVERY).describe_stacks(StackName=f"{PREFIX}-state-tables")["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    dynamodb = sim.client("dynamodb", region=RECOVERY)
    for suffix, spec in SCHEMA.items():
        assert outputs[spec["resource"] + "Name"] == names[suffix]
        assert outputs[spec["resource"] + "Arn"] == dynamodb.describe_table(TableName=names[suffix])["Table"]["TableArn"]

    again = _run(sim, tmp_path, inventory)
    assert again.rc == 0 and _changed(again) == 0, again.output()
    assert mutating(sim) == [], _ops(mutating(sim))
    assert "(stack sttest-state-tables unchanged)" in _summary(again)

    checked_again = _run(sim, tmp_path, inventory, "--check")
    assert checked_again.rc == 0 and _changed(checked_again) == 0, checked_again.output()
    assert mutating(sim) == [], _ops(mutating(sim))


def test_check_mode_on_a_changed_stack_creates_no_change_set(sim, tmp_path):
    """amazon.aws.cloudformation's check mode would create and delete a change set: the role never calls it in
    check mode, and compares the deployed template itself."""
    inventory = _write_inventory(tmp_path)
    cloudformation = sim.client("cloudformation", region=RECOVERY)
    shipped = open(TEMPLATE, encoding="utf-8").read()
    older = shipped.replace("Description: >-\n  elasticdr.orchestration state tables:",
                            "Description: >-\n  An older release of the state tables:")
    assert older != shipped
    _deploy(sim, template_body=older)

    checked = _run(sim, tmp_path, inventory, "--check")
    assert checked.rc == 0, checked.output()
    assert mutating(sim) == [], _ops(mutating(sim))
    assert _changed(checked) == 1
    assert _task(checked, "Say what a real run would do to the stack").result["msg"] == (
        f"Check mode: stack {PREFIX}-state-tables would be updated in {RECOVERY}.")
    assert _summary(checked).startswith(f"State tables would be updated in {RECOVERY}")
    assert cloudformation.get_template(StackName=f"{PREFIX}-state-tables")["TemplateBody"] == older

    updated = _run(sim, tmp_path, inventory)
    assert updated.rc == 0, updated.output()
    assert _ops(mutating(sim)) == [("cloudformation", "UpdateStack")]
    assert "(stack sttest-state-tables updated)" in _summary(updated)
    assert cloudformation.get_template(StackName=f"{PREFIX}-state-tables")["TemplateBody"].strip() == shipped.strip()

    again = _run(sim, tmp_path, inventory)
    assert again.rc == 0 and _changed(again) == 0 and mutating(sim) == [], again.output()


def test_ttl_switched_off_is_turned_back_on(sim, play, tmp_path):
    inventory = _write_inventory(tmp_path)
    _deploy(sim)
    dynamodb = sim.client("dynamodb", region=RECOVERY)
    executions = f"{PREFIX}-executions"
    dynamodb.update_time_to_live(TableName=executions, TimeToLiveSpecification={"Enabled": False, "AttributeName": "ttl"})

    sim.clear_requests()
    left = play.run([drs("drs_state_tables", "leave_ttl", region=RECOVERY, table_prefix=PREFIX, ensure_ttl=False)])
    assert left.ok("leave_ttl")["ttl_enabled"] == [] and not left["leave_ttl"].changed
    assert left.ok("leave_ttl")["tables"]["executions"]["ttl"]["status"] == "DISABLED"
    assert mutating(sim) == []

    checked = _run(sim, tmp_path, inventory, "--check")
    assert checked.rc == 0 and _changed(checked) == 1, checked.output()
    assert mutating(sim) == [], _ops(mutating(sim))
    assert _summary(checked).endswith(f"TTL on ttl (would be turned back on for {executions}).")

    fixed = _run(sim, tmp_path, inventory)
    assert fixed.rc == 0 and _changed(fixed) == 1, fixed.output()
    assert _ops(mutating(sim)) == [("dynamodb", "UpdateTimeToLive")]
    assert _summary(fixed).endswith(f"TTL on ttl (turned back on for {executions}).")
    assert dynamodb.describe_time_to_live(TableName=executions)["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"


def test_state_store_works_on_the_deployed_tables(sim, tmp_path):
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import LockError
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.executions import ExecutionRecorder
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import InstancePair

    assert _run(sim, tmp_path, _write_inventory(tmp_path)).rc == 0
    store = _store(sim)
    store.check_tables()
    assert {kind: t["indexes"] for kind, t in store.describe_tables().items()} == {
        "pairs": ["AccountIndex", "WaveIndex"], "executions": ["AccountIndex", "ExecutionTypeIndex", "StatusIndex"],
        "failback": ["AccountIndex", "StatusIndex"]}

    pair = InstancePair.from_dict({
        "protection_group": "shop", "name": "db-01", "source_server_id": "s-0123456789abcdef0",
        "target_instance_id": "i-0123456789abcdef0", "target_account_id": DEFAULT_ACCOUNT, "wave": 1,
        "source_private_ip": "10.20.10.11", "target_private_ip": "10.20.10.11"}).to_dict()
    store.put_pair(pair)
    recorder = ExecutionRecorder(store, "shop", "exec-1")
    recorder.start("FAILOVER", waves=[1, 2], primary_region=PRIMARY, recovery_region=RECOVERY, operator="tester")
    with pytest.raises(LockError) as refused:
        store.acquire_lock("shop", "exec-2")
    assert "exec-1" in str(refused.value)
    recorder.record_wave(1, "COMPLETED", job_ids=["drsjob-0123456789abcdef0"], servers=[
        {"name": "db-01", "source_server_id": "s-0123456789abcdef0", "launch_status": "LAUNCHED",
         "started_at": "2026-11-27T00:00:00.000Z"},
        {"name": "db-02", "source_server_id": "s-0123456789abcdef1", "launch_status": "FAILED", "error": "boom"}])
    recorder.record_wave(2, "RUNNING", servers=[{"name": "app-01", "launch_status": "PENDING"}])
    store.put_failback_states([{"protection_group": "shop", "source_server_id": "s-0123456789abcdef0",
                                "status": "REPLICATING", "updated_at": "2026-11-27T01:00:00.000Z",
                                "staging_account_id": "333333333333"}])

    assert [p["name"] for p in store.get_pairs("shop")] == ["db-01"]
    record = store.get_execution("exec-1")
    assert record["execution"]["status"] == "RUNNING" and sorted(record["waves"]) == [1, 2]
    assert sorted(record["servers"][1]) == ["db-01", "db-02"] and record["servers"][1]["db-02"]["error"] == "boom"
    assert [e["execution_id"] for e in store.executions_by_status("RUNNING")] == ["exec-1"]

    # The indexes, queried directly: sparse (the lock, waves and servers are in none), keys of the planned types.
    dynamodb = sim.client("dynamodb", region=RECOVERY)
    names = _names()

    def query(table, index, condition, values, **extra):
        return dynamodb.query(TableName=table, IndexName=index, KeyConditionExpression=condition,
                              ExpressionAttributeValues=values, **extra)["Items"]

    by_wave = query(names["instance-pairs"], "WaveIndex", "protection_group = :g AND wave = :w",
                    {":g": {"S": "shop"}, ":w": {"N": "1"}})
    assert [i["name"]["S"] for i in by_wave] == ["db-01"]
    by_account = query(names["instance-pairs"], "AccountIndex", "target_account_id = :a", {":a": {"S": DEFAULT_ACCOUNT}})
    assert [i["name"]["S"] for i in by_account] == ["db-01"]
    by_type = query(names["executions"], "ExecutionTypeIndex", "execution_type = :t", {":t": {"S": "FAILOVER"}})
    assert [i["record_key"]["S"] for i in by_type] == ["EXECUTION"]
    by_status = query(names["failback-state"], "StatusIndex", "#s = :s", {":s": {"S": "REPLICATING"}},
                      ExpressionAttributeNames={"#s": "status"})
    assert [i["source_server_id"]["S"] for i in by_status] == ["s-0123456789abcdef0"]
    assert len(query(names["failback-state"], "AccountIndex", "staging_account_id = :a",
                     {":a": {"S": "333333333333"}})) == 1

    # DynamoDB refuses an item whose index key has another type than the table's AttributeDefinitions; moto
    # does not check, so check every item the writers made.
    for suffix, spec in SCHEMA.items():
        types = _attribute_types(spec)
        for item in dynamodb.scan(TableName=names[suffix])["Items"]:
            for attribute, value in item.items():
                if attribute in types:
                    assert list(value) == [types[attribute]], (suffix, item)
    # TTL: the execution and its waves and servers expire; the pair and the lock do not.
    for item in dynamodb.scan(TableName=names["executions"])["Items"]:
        assert "N" in item["ttl"], item["record_key"]
    for item in dynamodb.scan(TableName=names["instance-pairs"])["Items"]:
        assert "ttl" not in item, item["source_server_id"]

    recorder.finish("COMPLETED")
    assert store.get_lock("shop") is None
    assert store.executions_by_status("RUNNING") == []
    assert [e["execution_id"] for e in store.executions_by_status("COMPLETED")] == ["exec-1"]
    store.acquire_lock("shop", "exec-2")
    assert store.release_lock("shop", "exec-2") is True


def test_collection_playbook_with_the_demo_inventory(sim, tmp_path):
    demo = os.path.join(ROOT, "inventories", "demo")
    run = _run(sim, tmp_path, demo, playbook="elasticdr.orchestration.state_tables")
    assert run.rc == 0, run.output()
    assert "(stack drs-orchestration-state-tables created)" in _summary(run)
    _assert_tables_as_planned(sim, prefix="drs-orchestration")
    assert sim.client("dynamodb", region=PRIMARY).list_tables()["TableNames"] == []

    listed = run_tool("ansible-inventory", ["-i", demo, "--list"], sim.url, tmp_path)
    assert listed.returncode == 0, listed.stderr
    inventory = json.loads(listed.stdout)
    waves = {1: ["db-01", "db-02", "cache-01", "queue-01"], 2: ["app-01", "app-02", "app-03", "batch-01"],
             3: ["web-01", "web-02", "web-03", "proxy-01"]}
    estate = yaml.safe_load(open(os.path.join(ROOT, "simulator", "estates", "demo.yml"), encoding="utf-8"))
    assert {s["name"]: s["wave"] for s in estate["servers"]} == {h: w for w, hosts in waves.items() for h in hosts}
    for wave, hosts in waves.items():
        assert inventory[f"wave_{wave}"]["hosts"] == hosts
        for host in hosts:
            host_vars = inventory["_meta"]["hostvars"][host]
            assert "drs_wave" not in host_vars  # the wave_<n> group alone says the wave (docs/INVENTORY.md)
            assert (host_vars["drs_primary_region"], host_vars["drs_recovery_region"]) == (PRIMARY, RECOVERY)
            assert (host_vars["drs_protection_group"], host_vars["drs_state_table_prefix"]) == ("shop", "drs-orchestration")
            assert (host_vars["drs_poll_interval"], host_vars["drs_wait_timeout"]) == (1, 600)


def test_example_inventories_load(sim, tmp_path):
    static = run_tool("ansible-inventory", ["-i", os.path.join(ROOT, "inventories", "example", "hosts.yml"), "--list"],
                      sim.url, tmp_path)
    assert static.returncode == 0, static.stderr
    inventory = json.loads(static.stdout)
    assert [len(inventory[f"wave_{w}"]["hosts"]) for w in (1, 2, 3)] == [2, 2, 2]
    host_vars = inventory["_meta"]["hostvars"]["orders-app-01"]
    assert host_vars["drs_wave"] == 2 and host_vars["drs_recovery_region"] == "eu-central-1"
    # The plugin's configuration is accepted (DRS initialised but empty in its recovery region: no hosts).
    sim.client("drs", region="eu-central-1").initialize_service()
    plugin = run_tool("ansible-inventory", ["-i", os.path.join(ROOT, "inventories", "example", "example.drs.yml"),
                                            "--list"], sim.url, tmp_path)
    assert plugin.returncode == 0 and "[WARNING]" not in plugin.stderr, plugin.stderr
    assert json.loads(plugin.stdout)["_meta"]["hostvars"] == {}


def test_tables_in_the_recovery_account_through_its_role(sim, tmp_path):
    refused = _run(sim, tmp_path, _write_inventory(tmp_path, drs_target_role_arn=ROLE_222))
    assert refused.rc != 0 and "without drs_external_id" in _task(refused, "Refuse a role without an ExternalId").result["msg"]
    assert sim.requests() == []

    sim.add_fault(service="sts", operation="AssumeRole", type="access_denied", count=1)
    denied = _run(sim, tmp_path, _write_inventory(tmp_path, drs_target_role_arn=ROLE_222, drs_external_id=EXTERNAL_ID))
    assert denied.rc != 0
    assert f"Cannot assume {ROLE_222}: " in _task(denied, "Stop when the role cannot be assumed").result["msg"]
    assert mutating(sim) == []

    inventory = _write_inventory(tmp_path, drs_target_role_arn=ROLE_222, drs_external_id=EXTERNAL_ID)
    created = _run(sim, tmp_path, inventory)
    assert created.rc == 0, created.output()
    assert [(c["service"], c["operation"], c["account"]) for c in mutating(sim)] == [
        ("cloudformation", "CreateStack", ACCOUNT_222)]
    assert {c["account"] for c in sim.requests() if c["service"] != "sts"} == {ACCOUNT_222}
    _assert_tables_as_planned(sim, account=ACCOUNT_222)
    assert sim.client("dynamodb", region=RECOVERY).list_tables()["TableNames"] == []
    # The role's session credentials stay out of the output and of every callback (the assume task is no_log).
    assumed = _task(created, "Assume the role in the recovery account")
    assert assumed["status"] == "ok" and "sts_creds" not in assumed.result and assumed.result.get("censored")

    checked = _run(sim, tmp_path, inventory, "--check")
    assert checked.rc == 0 and _changed(checked) == 0 and mutating(sim) == [], checked.output()


def test_refusals_before_any_change(sim, tmp_path):
    bad_prefix = _run(sim, tmp_path, _write_inventory(tmp_path, prefix="no spaces"))
    assert bad_prefix.rc != 0 and sim.requests() == []
    assert '"no spaces" does not match' in _task(bad_prefix, "Check the table prefix before any AWS call").result["msg"]

    dotted = _run(sim, tmp_path, _write_inventory(tmp_path, prefix="drs.orch"))
    assert dotted.rc != 0 and sim.requests() == []
    assert '"drs.orch-state-tables" is not a CloudFormation stack name' in \
        _task(dotted, "Check the stack name before any AWS call").result["msg"]
    named = _run(sim, tmp_path, _write_inventory(tmp_path, prefix="drs.orch", drs_state_stack_name="drs-orch-tables"))
    assert named.rc == 0 and "(stack drs-orch-tables created)" in _summary(named), named.output()
    _assert_tables_as_planned(sim, prefix="drs.orch")

    # A stack waiting for a change set (REVIEW_IN_PROGRESS) cannot be updated: refused, nothing changed.
    cloudformation = sim.client("cloudformation", region=RECOVERY)
    cloudformation.create_change_set(StackName=f"{PREFIX}-state-tables", ChangeSetName="pending", ChangeSetType="CREATE",
                                     TemplateBody=open(TEMPLATE, encoding="utf-8").read(),
                                     Parameters=[{"ParameterKey": "TablePrefix", "ParameterValue": PREFIX}])
    reviewing = _run(sim, tmp_path, _write_inventory(tmp_path))
    assert reviewing.rc != 0 and mutating(sim) == []
    assert "is REVIEW_IN_PROGRESS, a state CloudFormation cannot update" in \
        _task(reviewing, "Refuse a stack CloudFormation cannot update").result["msg"]


def test_tables_survive_the_stack_deletion(sim, tmp_path):
    inventory = _write_inventory(tmp_path)
    _deploy(sim)
    store = _store(sim)
    store.acquire_lock("shop", "exec-1")
    sim.client("cloudformation", region=RECOVERY).delete_stack(StackName=f"{PREFIX}-state-tables")
    assert sorted(sim.client("dynamodb", region=RECOVERY).list_tables()["TableNames"]) == sorted(_names().values())
    assert store.get_lock("shop")["holder"] == "exec-1"

    # A new stack cannot create tables whose names are taken: refused before CreateStack, with the way out.
    again = _run(sim, tmp_path, inventory)
    assert again.rc != 0 and mutating(sim) == []
    msg = _task(again, "Refuse to create a stack over tables that already exist").result["msg"]
    assert f"stack {PREFIX}-state-tables does not" in msg and "IMPORT" in msg and _names()["executions"] in msg
    checked = _run(sim, tmp_path, inventory, "--check")
    assert checked.rc != 0 and mutating(sim) == []


def test_missing_tables_are_named(sim, play):
    run = play.run([drs("drs_state_tables", "check", region=RECOVERY, table_prefix="nope", ignore_errors=True),
                    drs("drs_state_tables", "check_mode_view", region=RECOVERY, table_prefix="nope",
                        ensure_ttl=False, ignore_errors=True)], module_defaults={})
    for name in ("check", "check_mode_view"):
        failed = run.failed(name)
        for table in ("nope-instance-pairs", "nope-executions", "nope-failback-state"):
            assert table in failed["msg"]
