"""The IAM principals of a run, carrying exactly the shipped policies (extensions/iam/), for `make demo` and the
playbook end-to-end tests, with IAM enforced in the simulator (docs/simulator.md, "IAM enforcement").

- The orchestrator: the role `DRSOrchestrator` in the primary account with `orchestrator-policy.json`; the run's
  credentials are a session of it (what an AWX credential or an instance profile gives a controller).
- The target role: `DRSOrchestration` in the recovery account with `target-account-policy.json` and
  `target-account-trust-policy.json` (the orchestrator, with the ExternalId), reached by the collection through
  sts:AssumeRole with `drs_target_role_arn` and the ExternalId in `DRS_EXTERNAL_ID` (the environment).

The policies' placeholder accounts (111111111111 for the orchestrator's account, 222222222222 for the recovery
account), the trust policy's ExternalId placeholder and, for a run with another `drs_state_table_prefix`, the
default prefix in the state tables' and their stack's ARNs (docs/SECURITY.md says to change it there) are replaced,
nothing else.
"""
from __future__ import annotations

import json
import os
import secrets

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IAM_DIR = os.path.join(ROOT, "extensions", "iam")
ORCHESTRATOR_ACCOUNT_PLACEHOLDER = "111111111111"
RECOVERY_ACCOUNT_PLACEHOLDER = "222222222222"
EXTERNAL_ID_PLACEHOLDER = "REPLACE-WITH-A-SECRET-EXTERNAL-ID"
ORCHESTRATOR_ROLE = "DRSOrchestrator"
TARGET_ROLE = "DRSOrchestration"
OPERATOR_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


DEFAULT_TABLE_PREFIX = "drs-orchestration"


def shipped_policy(name: str, primary_account: str, recovery_account: str, external_id: str = "",
                   table_prefix: str = DEFAULT_TABLE_PREFIX) -> dict:
    with open(os.path.join(IAM_DIR, name), encoding="utf-8") as handle:
        text = handle.read()
    for kind in (":table/", ":stack/"):
        text = text.replace(f"{kind}{DEFAULT_TABLE_PREFIX}-", f"{kind}{table_prefix}-")
    text = text.replace(ORCHESTRATOR_ACCOUNT_PLACEHOLDER, primary_account)
    text = text.replace(RECOVERY_ACCOUNT_PLACEHOLDER, recovery_account)
    text = text.replace(EXTERNAL_ID_PLACEHOLDER, external_id)
    return json.loads(text)


def _operator(url, account, primary_account, service):
    """A client with the operator's keys in `account` (the default account, or any other through a role that
    does not exist, which the simulator treats as the operator)."""
    base = boto3.Session(region_name="us-east-1", **OPERATOR_KEYS)
    if account != primary_account and account != "123456789012":
        creds = base.client("sts", endpoint_url=url).assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/SimulatorOperator", RoleSessionName="setup")["Credentials"]
        base = boto3.Session(region_name="us-east-1", aws_access_key_id=creds["AccessKeyId"],
                             aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    return base.client(service, endpoint_url=url)


class RunPrincipals:
    """What a run needs to act as the principals: its environment and its inventory variables."""

    def __init__(self, env: dict, inventory_vars: dict, orchestrator_role_arn: str, target_role_arn: str,
                 external_id: str):
        self.env, self.vars = env, inventory_vars
        self.orchestrator_role_arn, self.target_role_arn = orchestrator_role_arn, target_role_arn
        self.external_id = external_id


def create(url: str, primary_account: str = "123456789012", recovery_account: str = "123456789012",
           orchestrator_policy: dict | None = None, target_policy: dict | None = None,
           external_id: str | None = None, enforce: bool = True,
           table_prefix: str = DEFAULT_TABLE_PREFIX) -> RunPrincipals:
    """Create both roles (idempotent within one simulator reset), start a session of the orchestrator, and turn
    IAM enforcement on. A policy given replaces the shipped one (a test that removes a statement)."""
    import requests

    external_id = external_id or f"drs-{secrets.token_hex(8)}"
    primary_iam = _operator(url, primary_account, primary_account, "iam")
    orchestrator_trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{primary_account}:root"}, "Action": "sts:AssumeRole"}]}
    orchestrator_arn = _role(primary_iam, ORCHESTRATOR_ROLE, orchestrator_trust, orchestrator_policy or shipped_policy(
        "orchestrator-policy.json", primary_account, recovery_account, table_prefix=table_prefix))
    recovery_iam = _operator(url, recovery_account, primary_account, "iam")
    trust = shipped_policy("target-account-trust-policy.json", primary_account, recovery_account, external_id)
    target_arn = _role(recovery_iam, TARGET_ROLE, trust, target_policy or shipped_policy(
        "target-account-policy.json", primary_account, recovery_account, table_prefix=table_prefix))
    creds = _operator(url, primary_account, primary_account, "sts").assume_role(
        RoleArn=orchestrator_arn, RoleSessionName="ansible-playbook", DurationSeconds=43200)["Credentials"]
    if enforce:
        requests.post(f"{url}/_simulator/iam", json={"enforce": True}, timeout=30).raise_for_status()
    # The ExternalId reaches the run the way docs/SECURITY.md recommends for a secret: the environment
    # (DRS_EXTERNAL_ID, which an AWX credential injects), not the inventory.
    env = {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
           "AWS_SESSION_TOKEN": creds["SessionToken"], "DRS_EXTERNAL_ID": external_id}
    return RunPrincipals(env, {"drs_target_role_arn": target_arn}, orchestrator_arn, target_arn, external_id)


def _role(iam, name, trust, policy) -> str:
    try:
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="shipped", PolicyDocument=json.dumps(policy))
    return arn


def without_statement(policy: dict, sid: str) -> dict:
    statements = [s for s in policy["Statement"] if s.get("Sid") != sid]
    assert len(statements) == len(policy["Statement"]) - 1, f"no statement {sid}"
    return dict(policy, Statement=statements)
