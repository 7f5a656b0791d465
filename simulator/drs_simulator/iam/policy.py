"""IAM policy evaluation, as the IAM User Guide's policy evaluation logic describes it.

- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
  (an explicit Deny wins; otherwise an Allow is needed; otherwise the request is implicitly denied)
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
  (every condition operator, `...IfExists`, and `Null`)
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
  (`ForAnyValue:` / `ForAllValues:` set operators over multivalued keys such as `aws:CalledVia` and `aws:TagKeys`)
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html (`${aws:username}`, ...)

A request context is a mapping of condition keys (any case) to a list of string values; a key that is absent from
the request is absent from the mapping. Each resource of a request is evaluated on its own, with its own context
(its tags), and the request is allowed only when every resource is.
"""
from __future__ import annotations

import datetime as _dt
import functools
import ipaddress
import json
import re

ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY = "allowed", "explicitDeny", "implicitDeny"


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@functools.lru_cache(maxsize=4096)
def _wildcard(pattern: str, ignore_case: bool):
    # `*` matches any run of characters and `?` any one character, also across ARN segments.
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def wildcard_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _wildcard(pattern, ignore_case).match(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    """Action names are case-insensitive; `ec2:*`, `drs:Describe*` and `*` are wildcards."""
    return wildcard_match(pattern, action, ignore_case=True)


_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_SPECIAL = {"*": "*", "?": "?", "$": "$"}


def substitute(text: str, context: dict) -> str | None:
    """Policy variables replaced from the request context; None when one is missing (the element then matches
    nothing, as AWS documents for a variable without a value and without a default)."""
    if "${" not in text:
        return text
    missing = False

    def replace(match):
        nonlocal missing
        name = match.group(1)
        default = None
        if "," in name:  # ${aws:username, 'default'}
            name, default = (part.strip() for part in name.split(",", 1))
            default = default.strip("'")
        if name in _SPECIAL:
            return _SPECIAL[name]
        values = context.get(name.lower())
        if values:
            return values[0]
        if default is not None:
            return default
        missing = True
        return ""

    result = _VARIABLE.sub(replace, text)
    return None if missing else result


# ---------------------------------------------------------------- condition operators

def _string_equals(policy, value, _ctx):
    return policy == value


def _string_equals_ic(policy, value, _ctx):
    return policy.lower() == value.lower()


def _string_like(policy, value, _ctx):
    return wildcard_match(policy, value)


def _number(text):
    return float(text)


def _date(text):
    text = str(text)
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    return _dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _numeric(compare):
    def check(policy, value, _ctx):
        try:
            return compare(_number(value), _number(policy))
        except ValueError:
            return False
    return check


def _dated(compare):
    def check(policy, value, _ctx):
        try:
            return compare(_date(value), _date(policy))
        except ValueError:
            return False
    return check


def _bool(policy, value, _ctx):
    return str(policy).lower() == str(value).lower()


def _ip(policy, value, _ctx):
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(policy, strict=False)
    except ValueError:
        return False


def _arn_like(policy, value, _ctx):
    # ARNs are compared segment by segment (the first five `:` separate fixed segments).
    policy_parts, value_parts = policy.split(":", 5), value.split(":", 5)
    if len(policy_parts) != len(value_parts):
        return wildcard_match(policy, value)
    return all(wildcard_match(p, v) for p, v in zip(policy_parts, value_parts))


# name -> (test of one policy value against one context value, negated)
OPERATORS = {
    "StringEquals": (_string_equals, False),
    "StringNotEquals": (_string_equals, True),
    "StringEqualsIgnoreCase": (_string_equals_ic, False),
    "StringNotEqualsIgnoreCase": (_string_equals_ic, True),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    "NumericEquals": (_numeric(lambda a, b: a == b), False),
    "NumericNotEquals": (_numeric(lambda a, b: a == b), True),
    "NumericLessThan": (_numeric(lambda a, b: a < b), False),
    "NumericLessThanEquals": (_numeric(lambda a, b: a <= b), False),
    "NumericGreaterThan": (_numeric(lambda a, b: a > b), False),
    "NumericGreaterThanEquals": (_numeric(lambda a, b: a >= b), False),
    "DateEquals": (_dated(lambda a, b: a == b), False),
    "DateNotEquals": (_dated(lambda a, b: a == b), True),
    "DateLessThan": (_dated(lambda a, b: a < b), False),
    "DateLessThanEquals": (_dated(lambda a, b: a <= b), False),
    "DateGreaterThan": (_dated(lambda a, b: a > b), False),
    "DateGreaterThanEquals": (_dated(lambda a, b: a >= b), False),
    "Bool": (_bool, False),
    "BinaryEquals": (_string_equals, False),
    "IpAddress": (_ip, False),
    "NotIpAddress": (_ip, True),
    "ArnEquals": (_arn_like, False),
    "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnNotLike": (_arn_like, True),
}


class PolicyError(ValueError):
    """A policy the evaluator cannot read (an unknown condition operator, a malformed statement)."""


def parse_operator(name: str):
    """(set operator or None, base operator, if_exists) of a condition operator name."""
    qualifier = None
    base = name
    if ":" in name:
        qualifier, base = name.split(":", 1)
        if qualifier not in ("ForAnyValue", "ForAllValues"):
            raise PolicyError(f"unknown condition set operator {qualifier!r} in {name!r}")
    if_exists = base.endswith("IfExists") and base != "IfExists"
    if if_exists:
        base = base[: -len("IfExists")]
    if base != "Null" and base not in OPERATORS:
        raise PolicyError(f"unknown condition operator {name!r}")
    return qualifier, base, if_exists


def condition_holds(operator_name: str, key: str, policy_values, context: dict) -> bool:
    qualifier, base, if_exists = parse_operator(operator_name)
    values = context.get(key.lower())
    policy_values = [str(v).lower() if isinstance(v, bool) else str(v) for v in as_list(policy_values)]
    if base == "Null":
        # "true": the key is absent; "false": it is present (with any value).
        absent = not values
        return any((p.lower() == "true") == absent for p in policy_values)
    policy_values = [p for p in (substitute(p, context) for p in policy_values) if p is not None]
    test, negated = OPERATORS[base]

    def one(value):  # a context value against the policy values: any positive match, or no negated match
        matched = any(test(p, value, context) for p in policy_values)
        return not matched if negated else matched

    if values is None:
        if qualifier == "ForAllValues":
            return True  # vacuously true for an absent key
        if if_exists:
            return True
        return negated and qualifier is None
    if qualifier == "ForAllValues":
        return all(one(v) for v in values)
    if qualifier == "ForAnyValue":
        return any(one(v) for v in values)
    # A single-valued operator: the (first) value of the key. A multivalued key without a set operator is
    # compared value by value, any matching.
    if negated:
        return all(one(v) for v in values)
    return any(one(v) for v in values)


def conditions_hold(conditions: dict | None, context: dict) -> bool:
    for operator_name, keys in (conditions or {}).items():
        if not isinstance(keys, dict):
            raise PolicyError(f"condition {operator_name!r} must map condition keys to values")
        for key, policy_values in keys.items():
            if not condition_holds(operator_name, key, policy_values, context):
                return False
    return True


def _element_matches(patterns, value, context, matcher):
    for pattern in as_list(patterns):
        pattern = substitute(pattern, context)
        if pattern is not None and matcher(pattern, value):
            return True
    return False


def resource_matches(pattern: str, arn: str) -> bool:
    # Resource ARNs match case-sensitively; a wildcard may span segments ("arn:aws:ec2:*" matches every EC2 ARN).
    return wildcard_match(pattern, arn)


def _names(statement: dict, element: str, value: str, context: dict, matcher) -> bool:
    """Whether `Action`/`Resource` names the value, or `NotAction`/`NotResource` leaves it out."""
    if element in statement:
        return _element_matches(statement[element], value, context, matcher)
    if f"Not{element}" in statement:
        return not _element_matches(statement[f"Not{element}"], value, context, matcher)
    raise PolicyError(f"statement {statement.get('Sid', '')!r} has neither {element} nor Not{element}")


def statement_applies(statement: dict, action: str, resource: str | None, context: dict) -> bool:
    """Whether a statement (Allow or Deny) applies to this action on this resource in this context.

    `resource` None is a trust policy evaluation, where statements name a Principal and no Resource.
    """
    if not _names(statement, "Action", action, context, action_matches):
        return False
    if resource is not None and not _names(statement, "Resource", resource, context, resource_matches):
        return False
    return conditions_hold(statement.get("Condition"), context)


def statements(document) -> list[dict]:
    if isinstance(document, str):
        document = json.loads(document)
    return [s for s in as_list(document.get("Statement")) if isinstance(s, dict)]


class Decision:
    """The outcome for one action on one resource, with the statements that decided it."""

    def __init__(self, action, resource, decision, matched=()):
        self.action, self.resource, self.decision, self.matched = action, resource, decision, list(matched)

    @property
    def allowed(self) -> bool:
        return self.decision == ALLOWED

    def __repr__(self):
        return f"Decision({self.action!r}, {self.resource!r}, {self.decision})"


def evaluate(documents, action: str, resource: str, context: dict) -> Decision:
    """Identity-based policies of one principal, one action, one resource: allowed, explicitDeny or implicitDeny.

    `documents` is a list of (name, policy document) pairs; `context` maps lower-case condition keys to values.
    """
    allows = []
    for name, document in documents:
        for statement in statements(document):
            if not statement_applies(statement, action, resource, context):
                continue
            if statement.get("Effect") == "Deny":
                return Decision(action, resource, EXPLICIT_DENY, [(name, statement)])
            if statement.get("Effect") == "Allow":
                allows.append((name, statement))
    return Decision(action, resource, ALLOWED if allows else IMPLICIT_DENY, allows)


def principal_matches(principal_element, principal_arn: str, principal_account: str) -> bool:
    """A trust policy's Principal names this caller: `*`, its ARN, or its account (id or `:root` ARN)."""
    if principal_element == "*":
        return True
    if not isinstance(principal_element, dict):
        return False
    for value in as_list(principal_element.get("AWS")):
        if value == "*" or value == principal_arn:
            return True
        if value == principal_account or value == f"arn:aws:iam::{principal_account}:root":
            return True
    return False


def evaluate_trust(document, action: str, principal_arn: str, principal_account: str, context: dict) -> Decision:
    """A role's trust policy for sts:AssumeRole (and its variants) by this principal."""
    allows = []
    for statement in statements(document):
        if "Principal" in statement and not principal_matches(statement["Principal"], principal_arn, principal_account):
            continue
        if not statement_applies(statement, action, None, context):
            continue
        if statement.get("Effect") == "Deny":
            return Decision(action, None, EXPLICIT_DENY, [("trust policy", statement)])
        if statement.get("Effect") == "Allow":
            allows.append(("trust policy", statement))
    return Decision(action, None, ALLOWED if allows else IMPLICIT_DENY, allows)


def names_principal_directly(document, principal_arn: str) -> bool:
    """Whether a trust policy names this principal's ARN itself (not only its account): in the same account that
    is enough without an identity-based Allow (IAM User Guide, "Cross-account policy evaluation logic")."""
    for statement in statements(document):
        principal = statement.get("Principal")
        if isinstance(principal, dict) and principal_arn in as_list(principal.get("AWS")):
            return True
    return False
