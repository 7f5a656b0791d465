"""Least privilege and secrets, against the simulator's request log:

- every AWS action the whole job makes (state tables, preflight, failover, report, failback with the agent
  installation, drill and drill clean-up, on the demo estate and inventory) is granted by the shipped policies
  (extensions/iam/), and the policies grant exactly the actions docs/SECURITY.md lists, no more;
- in a multi-account failover, the calls made in the recovery account are covered by the target-account policy
  alone, and the calls made by the orchestrating identity by the orchestrator policy alone;
- EC2 stop/start is granted only on instances tagged AWSDRS=AllowLaunchingIntoThisInstance (start only through DRS);
- no secret key or session token appears in any output, report or DynamoDB record of a run.
"""
import json
import os
import re

import yaml

from simlib import RECOVERY

from .helpers import (EXTERNAL_ID, ROLE_222, ROOT, SECRET_KEY, cross_account_estate, run_tool, state_tables)
from .test_failover_playbook import _execution_id, _inventory

IAM = os.path.join(ROOT, "extensions", "iam")
ORCHESTRATOR = os.path.join(IAM, "orchestrator-policy.json")
TARGET = os.path.join(IAM, "target-account-policy.json")
DOC = os.path.join(ROOT, "docs", "SECURITY.md")
DEMO_INVENTORY = os.path.join(ROOT, "inventories", "demo")
ACCOUNT_222 = "222222222222"
# moto's session tokens all start with this (moto/sts/utils.py SESSION_TOKEN_PREFIX)
SESSION_TOKEN_PREFIX = "FQoGZXIvYXdzEBYaD"
# IAM service prefixes of the services in the request log
PREFIX = {"drs": "drs", "ec2": "ec2", "dynamodb": "dynamodb", "cloudformation": "cloudformation", "sts": "sts",
          "ssm": "ssm", "iam": "iam", "monitoring": "cloudwatch", "cloudwatch": "cloudwatch"}


def _actions(policy_path):
    """{action: [statements]} of a policy (no wildcards are allowed in it)."""
    policy = json.load(open(policy_path, encoding="utf-8"))
    found = {}
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            assert "*" not in action, f"{policy_path}: wildcard action {action}"
            found.setdefault(action, []).append(statement)
    return found


def _documented():
    """The actions docs/SECURITY.md lists, per policy (its two tables)."""
    text = open(DOC, encoding="utf-8").read()
    tables = {}
    for name in ("orchestrator-policy.json", "target-account-policy.json"):
        section = text.split(f"### {name}", 1)[1].split("###", 1)[0]
        tables[name] = set(re.findall(r"^\| `([a-z0-9-]+:[A-Za-z0-9]+)` \|", section, re.M))
    return tables


# "No permissions are required to perform this operation" (STS API Reference, GetCallerIdentity).
NO_PERMISSION_NEEDED = {"sts:GetCallerIdentity"}


def _called(sim, account=None):
    return {f"{PREFIX[c['service']]}:{c['operation']}" for c in sim.requests()
            if account is None or c["account"] == account} - NO_PERMISSION_NEEDED


def _playbook(sim, tmp_path, name, inventory, *args):
    proc = run_tool("ansible-playbook", [os.path.join(ROOT, "playbooks", name), "-i", inventory] + list(args),
                    sim.url, tmp_path, timeout=900)
    return proc


def test_the_policies_grant_exactly_what_they_document_and_stop_only_tagged_instances():
    documented = _documented()
    for path in (ORCHESTRATOR, TARGET):
        actions = _actions(path)
        assert set(actions) == documented[os.path.basename(path)], path
    for path in (ORCHESTRATOR, TARGET):
        actions = _actions(path)
        # A launched-into instance is never terminated, not even by DRS on the caller's behalf.
        assert "ec2:TerminateInstances" not in actions and "drs:TerminateRecoveryInstances" not in actions
        # DRS starts the instances it launches into, as the caller: only through DRS, only tagged targets.
        for statement in actions["ec2:StartInstances"]:
            assert statement["Condition"] == {
                "ForAnyValue:StringEquals": {"aws:CalledVia": ["drs.amazonaws.com"]},
                "StringEquals": {"ec2:ResourceTag/AWSDRS": "AllowLaunchingIntoThisInstance"}}, path
        for statement in actions["ec2:StopInstances"]:
            condition = statement["Condition"]
            tag = condition.get("StringEquals", {})
            assert (tag.get("aws:ResourceTag/AWSDRS") or tag.get("ec2:ResourceTag/AWSDRS")) == \
                "AllowLaunchingIntoThisInstance", path
    # The orchestrator stops and tags only originals already in a wave (it cannot set drs:wave itself).
    for statement in _actions(ORCHESTRATOR)["ec2:StopInstances"] + _actions(ORCHESTRATOR)["ec2:CreateTags"]:
        if "aws:CalledVia" not in json.dumps(statement):
            assert statement["Condition"]["StringLike"] == {"aws:ResourceTag/drs:wave": "*"}
    # The orchestrator reaches other accounts only through roles that require an ExternalId (the trust policy).
    trust = json.load(open(os.path.join(IAM, "target-account-trust-policy.json"), encoding="utf-8"))
    (statement,) = trust["Statement"]
    assert statement["Action"] == "sts:AssumeRole" and "sts:ExternalId" in statement["Condition"]["StringEquals"]


def test_the_whole_job_needs_nothing_beyond_the_policies_and_leaks_no_secret(sim, tmp_path):
    estate = yaml.safe_load(open(os.path.join(ROOT, "simulator", "estates", "demo.yml"), encoding="utf-8"))
    sim.load_estate(estate)
    outputs = []
    steps = [("state_tables.yml",), ("preflight.yml",), ("failover.yml", "-e", "drs_execution_id=sec-failover"),
             ("report.yml", "-e", "drs_execution_id=sec-failover", "-e", f"drs_report_dir={tmp_path}/reports"),
             ("failback.yml", "-e", "drs_execution_id=sec-failback", "-e", "drs_install_agent=true"),
             ("drill.yml", "-e", '{"drs_waves": [1]}'), ("drill_cleanup.yml", "-e", '{"drs_waves": [1]}')]
    for name, *args in steps:
        proc = _playbook(sim, tmp_path, name, DEMO_INVENTORY, *args)
        assert proc.returncode == 0, f"{name}\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
        outputs += [proc.stdout, proc.stderr]
    called = _called(sim)
    allowed = set(_actions(ORCHESTRATOR)) | set(_actions(TARGET))
    assert called - allowed == set(), f"actions used but not granted: {sorted(called - allowed)}"
    # Every action granted is used by the job, or documented with the reason the demo does not reach it.
    assert allowed - called <= _unused_on_purpose(), sorted(allowed - called - _unused_on_purpose())

    report = open(os.path.join(tmp_path, "reports", "sec-failover.html"), encoding="utf-8").read()
    records = _all_items(sim)
    for text in outputs + [report, records]:
        assert SECRET_KEY not in text and SESSION_TOKEN_PREFIX not in text


def _unused_on_purpose():
    """Granted actions the demo job does not reach (documented in docs/SECURITY.md with the reason)."""
    text = open(DOC, encoding="utf-8").read()
    return set(re.findall(r"^\| `([a-z0-9-]+:[A-Za-z0-9]+)` \|.*\| not in the demo[^|]*\|$", text, re.M))


def _all_items(sim, account="123456789012"):
    dynamodb = sim.client("dynamodb", region=RECOVERY, account=account)
    items = []
    for table in dynamodb.list_tables()["TableNames"]:
        items += dynamodb.scan(TableName=table)["Items"]
    return json.dumps(items)


def test_calls_in_each_account_are_covered_by_that_accounts_policy(sim, tmp_path):
    summary = sim.load_estate(cross_account_estate(ACCOUNT_222))
    state_tables(sim, "it-state", account=ACCOUNT_222)
    inventory = _inventory(tmp_path, summary, drs_target_role_arn=ROLE_222, drs_external_id=EXTERNAL_ID)
    sim.clear_requests()
    proc = run_tool("ansible-playbook", [os.path.join(ROOT, "playbooks", "failover.yml"), "-i", inventory],
                    sim.url, tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:]
    execution_id = _execution_id(proc)
    in_target = _called(sim, account=ACCOUNT_222)
    in_own = _called(sim, account="123456789012")
    assert in_target - set(_actions(TARGET)) == set(), sorted(in_target - set(_actions(TARGET)))
    assert in_own - set(_actions(ORCHESTRATOR)) == set(), sorted(in_own - set(_actions(ORCHESTRATOR)))
    assert "sts:AssumeRole" in in_own and "drs:StartRecovery" in in_target
    # the role's session credentials appear nowhere: not in the output, not in the record
    records = _all_items(sim, account=ACCOUNT_222)
    assert execution_id in records
    for text in (proc.stdout, proc.stderr, records):
        assert SESSION_TOKEN_PREFIX not in text and SECRET_KEY not in text


# Modules whose result holds session credentials, and the text that gives credentials away in a fact.
CREDENTIAL_MODULES = {"amazon.aws.sts_assume_role", "sts_assume_role", "amazon.aws.sts_session_token",
                      "sts_session_token", "community.aws.sts_assume_role", "community.aws.sts_session_token"}
CREDENTIAL_TEXT = re.compile(r"sts_creds|secret_key|session_token|access_key|SecretAccessKey|SessionToken|"
                             r"drs_role_credentials'")


def _tasks(items):
    for item in items or []:
        if not isinstance(item, dict):
            continue
        yield item
        for key in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers"):
            yield from _tasks(item.get(key))


def _credential_leaks(where, items):
    """Tasks that would put credentials into host variables: a registered credential module, or a set_fact whose
    value holds credentials or the credentials lookup."""
    leaks = []
    for task in _tasks(items):
        name = task.get("name", "?")
        modules = [k for k in task if k in CREDENTIAL_MODULES]
        if modules and "register" in task:
            leaks.append(f"{where}: {name!r} registers the result of {modules[0]}")
        for key in ("ansible.builtin.set_fact", "set_fact", "ansible.builtin.set_stats", "set_stats"):
            if key in task and CREDENTIAL_TEXT.search(json.dumps(task[key])):
                leaks.append(f"{where}: {name!r} sets credentials as a fact")
    return leaks


def test_no_role_or_playbook_puts_session_credentials_into_host_variables():
    # the check finds what it looks for
    old_way = [{"name": "assume", "amazon.aws.sts_assume_role": {"role_arn": "r"}, "register": "creds"},
               {"block": [{"name": "keep", "ansible.builtin.set_fact": {"k": "{{ creds.sts_creds.secret_key }}"}}]}]
    assert len(_credential_leaks("example", old_way)) == 2
    leaks, files = [], 0
    for top in ("roles", "playbooks"):
        for folder, _dirs, names in os.walk(os.path.join(ROOT, top)):
            for name in names:
                if not name.endswith((".yml", ".yaml")) or os.sep + "files" + os.sep in folder + os.sep:
                    continue
                path = os.path.join(folder, name)
                content = yaml.safe_load(open(path, encoding="utf-8"))
                if isinstance(content, list):
                    files += 1
                    leaks += _credential_leaks(os.path.relpath(path, ROOT), content)
    assert files > 5 and leaks == [], leaks
