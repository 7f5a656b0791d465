# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Private-IP preservation: capture IPs, compare them, explain every mismatch.

With launch into an existing instance the recovery instance is the target, so it must keep the target's
private IP; where the recovery VPC reuses the primary addressing it also equals the source's. On failback
the original instance must come back with its original IP.
"""

from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import primary_private_ip
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import PrivateIPMismatchError

EXPECTATIONS = ("target", "source", "both")


def capture(ec2, instance_ids):
    """{instance_id: primary private IP or None} from one batched read."""
    found = ec2.describe_instances(instance_ids)
    return {i: primary_private_ip(found[i]) if i in found else None for i in instance_ids}


def check(ec2, pairs, expect="target"):
    """Capture the IPs of the pairs' instances (one batched read) and validate them: the result drs_ip_validate
    returns, {"results", "mismatches", "preservation_rate", "captured"}."""
    actual = capture(ec2, [p["instance_id"] for p in pairs])
    results, mismatches, rate = validate(pairs, actual, expect)
    return {"results": results, "mismatches": mismatches, "preservation_rate": rate, "captured": actual}


def validate(pairs, actual_ips, expect="target"):
    """Compare each pair's instance IP with what it must be.

    pairs: dicts with name, instance_id (the instance to check), and the expected IPs target_private_ip /
    source_private_ip. actual_ips: {instance_id: ip}. Returns (results, mismatches, preservation_rate).
    """
    if expect not in EXPECTATIONS:
        raise ConfigurationError(f"expect must be one of {', '.join(EXPECTATIONS)}; got {expect!r}.")
    results, mismatches = [], []
    for pair in pairs:
        instance_id = pair["instance_id"]
        actual = actual_ips.get(instance_id)
        wanted = []
        if expect in ("target", "both"):
            wanted.append(("target", pair.get("target_private_ip")))
        if expect in ("source", "both"):
            wanted.append(("source", pair.get("source_private_ip")))
        missing = [kind for kind, ip in wanted if not ip]
        if missing:
            raise ConfigurationError(
                f"No expected {' and '.join(missing)} private IP for {pair.get('name') or instance_id}.",
                server=pair.get("name") or instance_id,
                remediation="Pass the IPs captured before the recovery (drs_instance_match returns them, and the "
                            "execution record keeps them).")
        wrong = [(kind, ip) for kind, ip in wanted if ip != actual]
        result = {
            "name": pair.get("name"), "source_server_id": pair.get("source_server_id"), "instance_id": instance_id,
            "actual_ip": actual, "target_private_ip": pair.get("target_private_ip"),
            "source_private_ip": pair.get("source_private_ip"), "preserved": not wrong, "error": None,
        }
        if wrong:
            kind, expected = wrong[0]
            why = "the instance was not found" if actual is None else f"it has {actual}"
            error = PrivateIPMismatchError(
                f"{pair.get('name') or instance_id} ({instance_id}) should have the {kind} private IP {expected}, but "
                f"{why}.", server=pair.get("name") or instance_id, expected_ip=expected, actual_ip=actual,
                details={"instance_id": instance_id, "expected_from": kind})
            result["error"] = error.to_dict()
            mismatches.append(result)
        results.append(result)
    rate = round(100.0 * (len(results) - len(mismatches)) / len(results), 2) if results else 100.0
    return results, mismatches, rate
