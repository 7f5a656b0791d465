"""The simulator's IAM policy evaluator (simulator/drs_simulator/iam/policy.py) against the IAM User Guide's rules,
and every condition operator and key the shipped policies (extensions/iam/) use: each is understood and can decide
both ways."""
from __future__ import annotations

import json
import os

import pytest

from drs_simulator.iam import policy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHIPPED = [os.path.join(ROOT, "extensions", "iam", name)
           for name in ("orchestrator-policy.json", "target-account-policy.json", "target-account-trust-policy.json")]
INSTANCE = "arn:aws:ec2:us-west-2:123456789012:instance/i-0abc"

# The keys the simulator's request context provides (docs/simulator.md, "IAM enforcement"); a key of a shipped
# policy outside this list would never be set, and its statement would never (or always) apply.
PROVIDED_KEYS = {"aws:calledvia", "aws:viaawsservice", "aws:requestedregion", "aws:principalarn",
                 "aws:principalaccount", "aws:username", "aws:tagkeys", "aws:resourceaccount", "sts:externalid",
                 "cloudwatch:namespace", "drs:createaction", "aws:securetransport", "aws:currenttime"}
PROVIDED_PREFIXES = ("aws:resourcetag/", "ec2:resourcetag/", "ssm:resourcetag/", "aws:requesttag/")
# Keys of actions the simulator never performs as the caller (DRS passing its own roles to EC2): they reach the
# evaluator only through iam:SimulatePrincipalPolicy's ContextEntries, which the permission preflight sets.
SIMULATION_ONLY_KEYS = {"iam:passedtoservice"}


def _conditions():
    found = []
    for path in SHIPPED:
        for statement in json.load(open(path, encoding="utf-8"))["Statement"]:
            for operator, keys in (statement.get("Condition") or {}).items():
                for key, values in keys.items():
                    found.append((os.path.basename(path), statement.get("Sid"), operator, key, values))
    return found


@pytest.mark.parametrize("name, sid, operator, key, values", _conditions(),
                         ids=[f"{c[1]}-{c[2]}-{c[3]}" for c in _conditions()])
def test_every_condition_of_the_shipped_policies_is_understood_and_decides_both_ways(name, sid, operator, key, values):
    policy.parse_operator(operator)  # raises PolicyError for an operator the evaluator does not know
    lowered = key.lower()
    assert lowered in PROVIDED_KEYS | SIMULATION_ONLY_KEYS or lowered.startswith(PROVIDED_PREFIXES), \
        f"{name} {sid}: {key} is never set"
    matching = [str(v) for v in policy.as_list(values)]
    if operator.startswith("Null"):
        present = {lowered: ["x"]}
        assert policy.condition_holds(operator, key, values, present) != policy.condition_holds(operator, key, values, {})
        return
    holds = policy.condition_holds(operator, key, values, {lowered: matching[:1] if "ForAny" in operator else matching})
    other = {} if all(set(v) <= {"*"} for v in matching) else {lowered: ["something-else-entirely"]}
    fails = policy.condition_holds(operator, key, values, other)  # a pattern of `*` alone needs the key to exist
    assert holds != fails, (operator, key, values)


def test_explicit_deny_wins_over_allow_and_silence_is_an_implicit_deny():
    allow = {"Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}
    deny = {"Statement": [{"Effect": "Deny", "Action": "ec2:TerminateInstances", "Resource": "*"}]}
    assert policy.evaluate([("a", allow)], "ec2:StopInstances", INSTANCE, {}).allowed
    assert policy.evaluate([("a", allow), ("d", deny)], "ec2:TerminateInstances", INSTANCE, {}).decision == \
        policy.EXPLICIT_DENY
    assert policy.evaluate([("a", allow)], "drs:StartRecovery", "*", {}).decision == policy.IMPLICIT_DENY


def test_actions_ignore_case_resources_do_not_and_wildcards_span_segments():
    document = {"Statement": [{"Effect": "Allow", "Action": "EC2:stop*", "Resource": "arn:aws:ec2:*:*:instance/*"}]}
    assert policy.evaluate([("p", document)], "ec2:StopInstances", INSTANCE, {}).allowed
    assert not policy.evaluate([("p", document)], "ec2:StopInstances", INSTANCE.upper(), {}).allowed
    assert not policy.evaluate([("p", document)], "ec2:StopInstances", "arn:aws:ec2:us-west-2:1:volume/vol-1", {}).allowed
    assert policy.resource_matches("arn:aws:ec2:*", INSTANCE)


def test_for_any_and_for_all_values_and_if_exists():
    called_via = {"ForAnyValue:StringEquals": {"aws:CalledVia": ["drs.amazonaws.com"]}}
    assert policy.conditions_hold(called_via, {"aws:calledvia": ["cloudformation.amazonaws.com", "drs.amazonaws.com"]})
    assert not policy.conditions_hold(called_via, {})  # a direct call has no aws:CalledVia
    only_awsdrs = {"ForAllValues:StringEquals": {"aws:TagKeys": ["AWSDRS"]}}
    assert policy.conditions_hold(only_awsdrs, {"aws:tagkeys": ["AWSDRS"]})
    assert not policy.conditions_hold(only_awsdrs, {"aws:tagkeys": ["AWSDRS", "Owner"]})
    assert policy.conditions_hold(only_awsdrs, {})  # vacuously true without the key (IAM User Guide)
    if_exists = {"StringEqualsIfExists": {"aws:RequestedRegion": "us-west-2"}}
    assert policy.conditions_hold(if_exists, {}) and not policy.conditions_hold(
        if_exists, {"aws:requestedregion": ["eu-west-1"]})
    assert policy.conditions_hold({"StringNotEquals": {"aws:username": "x"}}, {})  # negated: absent key matches


def test_policy_variables_and_trust_principals():
    document = {"Statement": [{"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy",
                               "Resource": "arn:aws:iam::*:user/${aws:username}"}]}
    context = {"aws:username": ["orchestrator"]}
    assert policy.evaluate([("p", document)], "iam:SimulatePrincipalPolicy",
                           "arn:aws:iam::123456789012:user/orchestrator", context).allowed
    assert not policy.evaluate([("p", document)], "iam:SimulatePrincipalPolicy",
                               "arn:aws:iam::123456789012:user/someone-else", context).allowed
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                            "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": "e"}}}]}
    role = "arn:aws:iam::111111111111:role/DRSOrchestrator"
    assert policy.evaluate_trust(trust, "sts:AssumeRole", role, "111111111111", {"sts:externalid": ["e"]}).allowed
    assert not policy.evaluate_trust(trust, "sts:AssumeRole", role, "111111111111", {}).allowed
    assert not policy.evaluate_trust(trust, "sts:AssumeRole", "arn:aws:iam::999999999999:role/X", "999999999999",
                                     {"sts:externalid": ["e"]}).allowed
    with pytest.raises(policy.PolicyError):
        policy.parse_operator("StringSortOf")
