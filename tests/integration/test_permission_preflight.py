"""The permission preflight of drs_preflight (check_permissions) against the simulator's IAM evaluator
(docs/simulator.md, "IAM enforcement"): IAM users and roles are created with boto3, given the shipped policies
(extensions/iam/*.json) or copies with one statement removed, and drs_preflight runs as them. The preflight names
each missing action with the identity, the region and the statement to add; it makes no mutating call.

The estate is the cross-account one: the orchestrator (an IAM user) in 123456789012 with the protected instances in
us-east-1, the recovery account 222222222222 with DRS and the launch-into targets in us-west-2, reached through the
role DRSOrchestration with an ExternalId."""
import copy
import json
import os

import pytest
from filelock import FileLock

from simlib import DEFAULT_ACCOUNT, PRIMARY, RECOVERY, Sim

from .helpers import (EXTERNAL_ID, ROOT, PlaybookRunner, assert_no_mutation, cross_account_estate, drs, run_tool,
                      state_tables)
from .test_failover_playbook import _inventory
from .test_preflight_playbook import _stats

TARGET = "222222222222"
ROLE_NAME = "DRSOrchestration"
POLICIES = {name: json.load(open(os.path.join(ROOT, "extensions", "iam", f"{name}.json"), encoding="utf-8"))
            for name in ("orchestrator-policy", "target-account-policy")}
# The identity the preflight names for each policy's statements.
IDENTITY = {"orchestrator-policy": "orchestrator", "target-account-policy": "target role"}

# Statements whose removal the preflight does not see, with the reason: none. Every statement of the shipped
# policies grants an action some workflow of the run makes (the check covers every workflow by default).
NOT_NEEDED = {}


def _trust(principal_account=DEFAULT_ACCOUNT):
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{principal_account}:root"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}}]}


def _without(policy, sid):
    document = copy.deepcopy(POLICIES[policy])
    document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != sid]
    assert len(document["Statement"]) == len(POLICIES[policy]["Statement"]) - 1, sid
    return document


# IAM quota: a managed policy holds at most 6,144 characters (IAM User Guide, "IAM and AWS STS quotas").
POLICY_SIZE = 6144


def _parts(document):
    """The document's statements as managed policies under the size quota, in order."""
    parts, current = [], []
    for statement in document["Statement"]:
        candidate = {"Version": document["Version"], "Statement": current + [statement]}
        if current and len(json.dumps(candidate, separators=(",", ":"))) > POLICY_SIZE:
            parts.append({"Version": document["Version"], "Statement": current})
            current = []
        current.append(statement)
    parts.append({"Version": document["Version"], "Statement": current})
    return parts


def _attach(iam, kind, name, document, extra=None):
    """The document as managed policies of the user or role (an inline one for extra statements)."""
    for index, part in enumerate(_parts(document)):
        arn = iam.create_policy(PolicyName=f"{name}-policy-{index}",
                                PolicyDocument=json.dumps(part, separators=(",", ":")))["Policy"]["Arn"]
        if kind == "user":
            iam.attach_user_policy(UserName=name, PolicyArn=arn)
        else:
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    if extra:
        iam.put_user_policy(UserName=name, PolicyName="test-extra", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": extra}))


def _user(sim, name, document, extra=None):
    """An IAM user of the primary account with the document; its access key as module options."""
    iam = sim.client("iam", region=PRIMARY)
    iam.create_user(UserName=name)
    _attach(iam, "user", name, document, extra)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"]}


def _role(sim, account, document, name=ROLE_NAME):
    """The recovery account role, trusting the primary account with the ExternalId (DRS initialised there)."""
    if account != TARGET:  # the estate initialises DRS in the recovery account
        sim.client("drs", region=RECOVERY, account=account).initialize_service()
    iam = sim.client("iam", region=PRIMARY, account=account)
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(_trust()))["Role"]["Arn"]
    _attach(iam, "role", name, document)
    return arn


def _preflight(name, names, role_arn, credentials, **params):
    return drs("drs_preflight", name, waves={"1": names}, source_region=PRIMARY, target_role_arn=role_arn,
               external_id=EXTERNAL_ID, ignore_errors=True, **credentials, **params)


def _estate(sim):
    return sorted(sim.load_estate(cross_account_estate(TARGET))["servers"])


def _denied(result, identity):
    return {d["action"] for d in result["permissions"]["denied"] if d["identity"] == identity}


def test_the_shipped_policies_pass_with_iam_enforced(sim, play):
    """(a) The orchestrator user and the recovery role with exactly the shipped policies: every identity is simulated,
    nothing is denied; with IAM enforced, the preflight's own calls are allowed too."""
    names = _estate(sim)
    role = _role(sim, TARGET, POLICIES["target-account-policy"])
    orchestrator = _user(sim, "dr-orchestrator", POLICIES["orchestrator-policy"])
    sim.control("POST", "iam", {"enforce": True})
    try:
        sim.clear_requests()
        run = play.run([_preflight("shipped", names, role, orchestrator),
                        _preflight("narrowed", names, role, orchestrator, permission_workflows=["failover"]),
                        _preflight("other_prefix", names, role, orchestrator, table_prefix="it-state",
                                   permission_workflows=["report"])])
        denials = sim.control("GET", "iam")["denials"]
    finally:
        sim.control("POST", "iam", {"enforce": False})
    assert_no_mutation(sim, "permission preflight")
    assert denials == []
    result = run.ok("shipped")
    permissions = result["permissions"]
    assert permissions["passed"] and permissions["denied"] == [] and permissions["reasons"] == [], permissions["reasons"]
    by_identity = {i["identity"]: i for i in permissions["identities"]}
    assert set(by_identity) == {"orchestrator", "target role"}
    assert by_identity["orchestrator"]["principal_arn"] == f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/dr-orchestrator"
    assert by_identity["target role"]["principal_arn"] == role
    assert by_identity["target role"]["regions"] == [RECOVERY]
    assert by_identity["orchestrator"]["regions"] == [PRIMARY]
    for entry in by_identity.values():
        assert entry["error"] is None and entry["actions_checked"] > 0 and entry["simulate_calls"] > 0
    assert result["ready"], result["summary"]
    simulated = [r for r in sim.requests(service="iam") if r["operation"] == "SimulatePrincipalPolicy"]
    assert {r["account"] for r in simulated} == {DEFAULT_ACCOUNT, TARGET}  # each identity simulated itself
    narrowed = run.ok("narrowed")["permissions"]["identities"]
    assert sum(i["actions_checked"] for i in narrowed) < sum(i["actions_checked"] for i in by_identity.values())
    # The shipped policy grants the tables of the default prefix only: another prefix's tables are named as denied.
    other = run.ok("other_prefix")["permissions"]["denied"]
    assert other and {d["identity"] for d in other} == {"target role"}
    assert {d["action"].split(":")[0] for d in other} == {"dynamodb"}
    for finding in other:
        assert all(":table/it-state-" in r for r in finding["resources"]), finding
        assert "table/it-state-" in json.dumps(finding["statement"]), finding["statement"]


def test_a_role_missing_a_statement_is_named_with_action_region_and_fix(sim, play):
    """(b) The recovery role without its statement for ec2:StopInstances: the preflight is not ready and names the
    action, the role, the region, the actual targets and the statement to add, in check mode too, changing nothing."""
    names = _estate(sim)
    role = _role(sim, TARGET, _without("target-account-policy", "EC2StopOnlyLaunchIntoTargets"))
    orchestrator = _user(sim, "dr-orchestrator", POLICIES["orchestrator-policy"])
    for check in (False, True):
        sim.clear_requests()
        run = play.run([_preflight("missing", names, role, orchestrator)], check=check)
        assert_no_mutation(sim, f"permission preflight (check mode {check})")
        result = run.ok("missing")
        assert not result["ready"]
        [finding] = [d for d in result["permissions"]["denied"] if d["action"] == "ec2:StopInstances"]
        assert _denied(result, "target role") == {"ec2:StopInstances"} and _denied(result, "orchestrator") == set()
        assert (finding["identity"], finding["principal_arn"], finding["region"]) == ("target role", role, RECOVERY)
        assert finding["statement"]["Sid"] == "EC2StopOnlyLaunchIntoTargets"
        assert finding["statement"]["Action"] == "ec2:StopInstances"
        # Simulated on the actual launch-into targets of the waves.
        paired = sorted(r["target_instance_id"] for w in result["waves"] for r in w["servers"])
        assert len(paired) == len(names) and all(paired)
        assert finding["resources"] == sorted(f"arn:aws:ec2:{RECOVERY}:{TARGET}:instance/{i}" for i in paired)
        reason = [r for r in result["reasons"] if "ec2:StopInstances" in r]
        assert reason and role in reason[0] and RECOVERY in reason[0] and '"Sid": "EC2StopOnlyLaunchIntoTargets"' \
            in reason[0]
        assert any("ec2:StopInstances" in line for line in result["summary"])


def test_an_identity_that_may_not_simulate_itself_gets_the_fix_and_the_check_can_be_skipped(sim, play):
    """With IAM enforced, a recovery role without SimulateOwnPermissions cannot run the simulation: reported with
    the statement that allows it (not a crash); check_permissions=false skips the check."""
    names = _estate(sim)
    role = _role(sim, TARGET, _without("target-account-policy", "SimulateOwnPermissions"))
    orchestrator = _user(sim, "dr-orchestrator", POLICIES["orchestrator-policy"])
    sim.control("POST", "iam", {"enforce": True})
    try:
        sim.clear_requests()
        run = play.run([_preflight("cannot_simulate", names, role, orchestrator),
                        _preflight("skipped", names, role, orchestrator, check_permissions=False)])
    finally:
        sim.control("POST", "iam", {"enforce": False})
    assert_no_mutation(sim, "permission preflight")
    result = run.ok("cannot_simulate")
    assert not result["ready"]
    by_identity = {i["identity"]: i for i in result["permissions"]["identities"]}
    error = by_identity["target role"]["error"]
    assert "iam:SimulatePrincipalPolicy" in error and role in error and f'"Resource": "{role}"' in error
    assert "check_permissions=false" in error and error in result["reasons"]
    assert by_identity["orchestrator"]["error"] is None and by_identity["orchestrator"]["denied"] == []
    skipped = run.ok("skipped")
    assert "permissions" not in skipped and skipped["ready"], skipped["summary"]


def test_the_preflight_playbook_fails_naming_the_denied_action_and_the_fix(sim, tmp_path):
    """playbooks/preflight.yml as the orchestrator user, the recovery role without DRSStartRecoveries: the run fails
    with the action, the role, the region and the statement in its output and statistics, changing nothing;
    drs_preflight_check_permissions=false skips the check and the same estate passes."""
    summary = sim.load_estate(cross_account_estate(TARGET))
    state_tables(sim, "drs-orchestration", account=TARGET)
    role = _role(sim, TARGET, _without("target-account-policy", "DRSStartRecoveries"))
    orchestrator = _user(sim, "dr-orchestrator", POLICIES["orchestrator-policy"])
    inventory = _inventory(tmp_path, summary, drs_target_role_arn=role, drs_external_id=EXTERNAL_ID,
                           drs_state_table_prefix="drs-orchestration")
    env = {"AWS_ACCESS_KEY_ID": orchestrator["access_key"], "AWS_SECRET_ACCESS_KEY": orchestrator["secret_key"],
           "ANSIBLE_SHOW_CUSTOM_STATS": "true"}
    playbook = os.path.join(ROOT, "playbooks", "preflight.yml")
    sim.clear_requests()
    denied = run_tool("ansible-playbook", [playbook, "-i", inventory], sim.url, tmp_path, env=env, timeout=300)
    assert_no_mutation(sim, "preflight playbook")
    assert denied.returncode != 0, denied.stdout[-3000:]
    failure = denied.stdout[denied.stdout.index("Fail unless every wave is ready"):]
    for fragment in ("drs:StartRecovery", role, RECOVERY, "DRSStartRecoveries", "Nothing was changed"):
        assert fragment in failure, (fragment, failure[-3000:])
    stats = _stats(denied.stdout)["drs_preflight"]
    assert stats["ready"] is False and stats["not_ready_servers"] == []
    assert stats["denied_permissions"] and all("drs:StartRecovery" in m for m in stats["denied_permissions"])
    skipped = run_tool("ansible-playbook", [playbook, "-i", inventory, "-e", "drs_preflight_check_permissions=false"],
                       sim.url, tmp_path, env=env, timeout=300)
    assert skipped.returncode == 0, skipped.stdout[-3000:]
    assert "READY: every wave can fail over" in skipped.stdout


# ------------------------------------------------------------------------- (c) every statement, one at a time
STATEMENTS = [(policy, statement["Sid"]) for policy in POLICIES for statement in POLICIES[policy]["Statement"]
              if statement["Sid"] not in NOT_NEEDED.get(policy, {})]
# Each target-policy variant is a role DRSOrchestration (the name the shipped policies grant AssumeRole and
# SimulatePrincipalPolicy on) in an account of its own.
VARIANT_ACCOUNTS = {sid: f"2000000000{index:02d}" for index, (policy, sid) in enumerate(STATEMENTS)
                    if policy == "target-account-policy"}


@pytest.fixture(scope="module")
def one_statement_removed(simulator_process, tmp_path_factory, worker_id):
    """Every variant in one playbook run: {(policy, sid): drs_preflight result}. Under xdist the first worker to
    get here runs it and the others read its results (the pytest-xdist recipe for a fixture run once per session)."""
    if worker_id == "master":
        return _run_variants(simulator_process, tmp_path_factory)
    cache = tmp_path_factory.getbasetemp().parent / "permission-variants.json"  # shared by this run's workers
    with FileLock(str(cache) + ".lock"):
        if cache.exists():
            stored = json.loads(cache.read_text())
        else:
            stored = {"|".join(k): v for k, v in _run_variants(simulator_process, tmp_path_factory).items()}
            cache.write_text(json.dumps(stored))
    return {tuple(k.split("|")): v for k, v in stored.items()}


def _run_variants(simulator_process, tmp_path_factory):
    sim = Sim(simulator_process.url)
    sim.reset()
    names = _estate(sim)
    full_role = _role(sim, TARGET, POLICIES["target-account-policy"])
    # The orchestrator of the target variants: the shipped policy, plus AssumeRole of the variants' roles (the shipped
    # policy names the recovery account 222222222222 only).
    variant_roles = {sid: _role(sim, account, _without("target-account-policy", sid))
                     for sid, account in VARIANT_ACCOUNTS.items()}
    assume_variants = [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": sorted(variant_roles.values())}]
    full_user = _user(sim, "full-orchestrator", POLICIES["orchestrator-policy"], extra=assume_variants)
    tasks, keys = [], {}
    for index, (policy, sid) in enumerate(STATEMENTS):
        task = f"variant-{index:02d}"
        keys[task] = (policy, sid)
        if policy == "orchestrator-policy":
            credentials = _user(sim, f"orch-{index:02d}", _without(policy, sid))
            tasks.append(_preflight(task, names, full_role, credentials))
        else:
            tasks.append(_preflight(task, names, variant_roles[sid], full_user))
    sim.clear_requests()
    run = PlaybookRunner(sim, tmp_path_factory.mktemp("variants")).run(tasks, timeout=1200)
    assert_no_mutation(sim, "permission preflight of every variant")
    return {keys[task]: run.ok(task) for task in keys}


@pytest.mark.parametrize("policy, sid", STATEMENTS, ids=[f"{p.split('-')[0]}:{s}" for p, s in STATEMENTS])
def test_each_shipped_statement_is_needed_by_the_preflight(one_statement_removed, policy, sid):
    """(c) Without any one statement of the shipped policies, the preflight is not ready and names one of that
    statement's actions for the identity the policy belongs to, and only actions of that statement."""
    result = one_statement_removed[(policy, sid)]
    statement = [s for s in POLICIES[policy]["Statement"] if s["Sid"] == sid][0]
    actions = {a.lower() for a in ([statement["Action"]] if isinstance(statement["Action"], str)
                                   else statement["Action"])}
    identity = IDENTITY[policy]
    assert not result["permissions"]["passed"]
    denied = {a.lower() for a in _denied(result, identity)}
    assert denied, f"removing {sid} went unnoticed: {result['permissions']['identities']}"
    assert denied <= actions, f"{sid}: denied {denied}, the statement grants {actions}"
    other = "target role" if identity == "orchestrator" else "orchestrator"
    assert _denied(result, other) == set()
    assert any(d["statement"] and d["statement"]["Sid"] == sid for d in result["permissions"]["denied"])
