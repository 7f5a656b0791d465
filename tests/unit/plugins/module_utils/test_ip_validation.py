# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Private-IP preservation: one batched capture, a comparison per pair, every mismatch explained."""

import pytest

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import PrivateIPMismatchError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ip_validation import capture
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ip_validation import validate

from .fakes import ec2_client
from .fakes import iid
from .fakes import instance


def pair(n, target_ip=None, source_ip=None, name=None):
    return {"name": name or f"server-{n}", "source_server_id": f"s-{n:017x}", "instance_id": iid(n),
            "target_private_ip": target_ip, "source_private_ip": source_ip}


def test_capture_reads_every_instance_in_one_batched_call():
    ec2, fake = ec2_client(instance(1, ip="10.1.0.1"), instance(2, ip="10.1.0.2"), instance(3))
    ips = capture(ec2, [iid(1), iid(2), iid(3), iid(4)])
    assert ips == {iid(1): "10.1.0.1", iid(2): "10.1.0.2", iid(3): None, iid(4): None}
    assert fake.count("describe_instances") == 1


def test_all_preserved():
    pairs = [pair(1, "10.1.0.1"), pair(2, "10.1.0.2")]
    results, mismatches, rate = validate(pairs, {iid(1): "10.1.0.1", iid(2): "10.1.0.2"})
    assert mismatches == [] and rate == 100.0
    assert [r["preserved"] for r in results] == [True, True]
    assert all(r["error"] is None for r in results)


def test_a_mismatch_is_explained_with_both_ips_and_a_remediation():
    pairs = [pair(1, "10.1.0.1"), pair(2, "10.1.0.2", name="db-01"), pair(3, "10.1.0.3")]
    results, mismatches, rate = validate(pairs, {iid(1): "10.1.0.1", iid(2): "10.1.0.99", iid(3): "10.1.0.3"})
    assert rate == round(100 * 2 / 3, 2)
    assert [m["instance_id"] for m in mismatches] == [iid(2)]
    entry = mismatches[0]
    assert entry["preserved"] is False and entry["actual_ip"] == "10.1.0.99"
    error = entry["error"]
    assert error["error"] == "PrivateIPMismatchError" and error["server"] == "db-01"
    assert error["details"] == {"instance_id": iid(2), "expected_from": "target", "expected_ip": "10.1.0.2",
                                "actual_ip": "10.1.0.99"}
    assert "should have the target private IP 10.1.0.2, but it has 10.1.0.99" in error["message"]
    assert error["remediation"] == PrivateIPMismatchError.remediation
    assert results[1] is entry


def test_a_missing_instance_is_a_mismatch():
    mismatches, rate = validate([pair(1, "10.1.0.1")], {})[1:]
    assert rate == 0.0
    assert "the instance was not found" in mismatches[0]["error"]["message"]
    assert mismatches[0]["error"]["details"]["actual_ip"] is None


@pytest.mark.parametrize("expect,actual,preserved,expected_from", [
    ("target", "10.1.0.1", True, None),
    ("source", "10.0.0.1", True, None),
    ("source", "10.1.0.1", False, "source"),
    ("both", "10.1.0.1", False, "source"),
    ("target", "10.0.0.1", False, "target"),
])
def test_expectations(expect, actual, preserved, expected_from):
    results = validate([pair(1, "10.1.0.1", "10.0.0.1")], {iid(1): actual}, expect=expect)[0]
    assert results[0]["preserved"] is preserved
    if not preserved:
        assert results[0]["error"]["details"]["expected_from"] == expected_from


def test_both_passes_when_target_and_source_ips_are_the_same():
    results, _mismatches, rate = validate([pair(1, "10.0.0.1", "10.0.0.1")], {iid(1): "10.0.0.1"}, expect="both")
    assert results[0]["preserved"] and rate == 100.0


@pytest.mark.parametrize("expect,given,missing", [
    ("target", {"source_ip": "10.0.0.1"}, "target"),
    ("source", {"target_ip": "10.1.0.1"}, "source"),
    ("both", {}, "target and source"),
])
def test_a_missing_expectation_is_a_configuration_error(expect, given, missing):
    with pytest.raises(ConfigurationError) as info:
        validate([pair(1, **given)], {iid(1): "10.1.0.1"}, expect=expect)
    assert f"No expected {missing} private IP for server-1" in info.value.message
    assert info.value.server == "server-1"
    assert "drs_instance_match" in info.value.remediation


def test_an_unknown_expectation_is_a_configuration_error():
    with pytest.raises(ConfigurationError):
        validate([], {}, expect="any")


def test_no_pairs_is_a_full_rate():
    assert validate([], {}) == ([], [], 100.0)
