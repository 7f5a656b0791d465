# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The matcher: source servers -> source instances -> launch-into targets, never guessing."""

import cProfile
import functools
import gc
import pstats
import time

import pytest

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import DRSAPIError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.matching import InstanceMatcher
from ansible_collections.elasticdr.orchestration.plugins.module_utils.matching import normalise
from ansible_collections.elasticdr.orchestration.plugins.module_utils.matching import pair_is_valid

from .fakes import MatchEstate
from .fakes import iid
from .fakes import sid


def checks_of(entry):
    return {c["name"]: c for c in entry["checks"]}


def failed_errors(entry):
    return sorted(c["name"] for c in entry["checks"] if not c["passed"] and c["severity"] == "error")


def only(result, kind):
    """The one entry of result.<kind>, asserting every other list is empty."""
    lists = {"pairs": result.pairs, "unmatched": result.unmatched, "ambiguous": result.ambiguous,
             "invalid": result.invalid}
    others = {k: v for k, v in lists.items() if k != kind and v}
    assert not others, others
    assert len(lists[kind]) == 1, lists[kind]
    return lists[kind][0]


@pytest.mark.parametrize("value,expected", [
    ("web-01", "web-01"), ("  Web-01 ", "web-01"), ("WEB   01", "web 01"), ("\tdb\n01 ", "db 01"), ("", None),
    ("   ", None), (None, None), (42, "42"),
])
def test_normalise(value, expected):
    assert normalise(value) == expected


def test_exact_name_pairs_a_stopped_tagged_target():
    estate = MatchEstate()
    server_id = estate.source("web-01", ip="10.0.1.10", wave="2", staging_account="333333333333")
    target_id = estate.target("web-01", ip="10.0.1.10")
    result = estate.matcher().match()
    pair = only(result, "pairs")
    assert pair["source_server_id"] == server_id and pair["target_instance_id"] == target_id
    assert pair["matched_by"] == "tag" and pair["name_from"] == "source_instance"
    assert pair["source_instance_id"] == iid(1)
    assert (pair["source_private_ip"], pair["target_private_ip"]) == ("10.0.1.10", "10.0.1.10")
    assert pair["target_state"] == "stopped" and pair["wave"] == "2"
    assert pair["staging_account_id"] == "333333333333"
    assert all(c["passed"] for c in pair["checks"]), pair["checks"]
    assert result.match_rate == 1.0 and result.considered == 1


@pytest.mark.parametrize("source_name,target_name", [
    ("Web-01", "web-01"), ("web-01", "  WEB-01  "), ("App  Server", "app server"), ("db 01", "DB\t01"),
])
def test_names_are_compared_normalised(source_name, target_name):
    estate = MatchEstate()
    estate.source(source_name)
    target_id = estate.target(target_name)
    assert only(estate.matcher().match(), "pairs")["target_instance_id"] == target_id


@pytest.mark.parametrize("key", ["server_id", "name"])
def test_an_override_wins_over_the_tag_match(key):
    estate = MatchEstate()
    server_id = estate.source("web-01")
    estate.target("web-01")
    chosen = estate.target("something-else")
    matcher = estate.matcher()
    result = matcher.match(overrides={server_id if key == "server_id" else "web-01": chosen})
    pair = only(result, "pairs")
    assert pair["target_instance_id"] == chosen and pair["matched_by"] == "override"


def test_no_tag_lookup_when_every_server_has_an_override():
    estate = MatchEstate()
    server_id = estate.source("web-01")
    chosen = estate.target("other")
    estate.matcher().match(overrides={server_id: chosen})
    assert "instances_with_tag_key" not in estate.target_ec2.method_calls


def test_an_override_to_a_missing_target_is_invalid():
    estate = MatchEstate()
    server_id = estate.source("web-01")
    estate.target("web-01")
    missing = iid(0xBAD)
    entry = only(estate.matcher().match(overrides={server_id: missing}), "invalid")
    assert entry["target_instance_id"] == missing and entry["matched_by"] == "override"
    assert failed_errors(entry) == ["target_exists"]


def test_duplicate_source_names_are_ambiguous_never_guessed():
    estate = MatchEstate()
    first = estate.source("web-01")
    second = estate.source("WEB-01 ")
    target_id = estate.target("web-01")
    result = estate.matcher().match()
    assert result.pairs == [] and result.invalid == [] and result.unmatched == []
    assert {a["source_server_id"] for a in result.ambiguous} == {first, second}
    for entry in result.ambiguous:
        assert entry["source_server_ids"] == sorted([first, second])
        assert entry["candidate_target_ids"] == [target_id]
    assert result.match_rate == 0.0 and result.considered == 2


def test_a_duplicated_source_name_can_still_be_paired_by_an_override():
    estate = MatchEstate()
    first = estate.source("web-01")
    second = estate.source("web-01")
    chosen = estate.target("web-01-dr")
    result = estate.matcher().match(overrides={first: chosen})
    assert [p["source_server_id"] for p in result.pairs] == [first]
    assert [a["source_server_id"] for a in result.ambiguous] == [second]


def test_duplicate_target_names_are_ambiguous():
    estate = MatchEstate()
    server_id = estate.source("web-01")
    targets = [estate.target("web-01"), estate.target("Web-01")]
    entry = only(estate.matcher().match(), "ambiguous")
    assert entry["source_server_id"] == server_id
    assert entry["candidate_target_ids"] == sorted(targets)
    assert "2 recovery-region instances" in entry["reason"]


def test_no_candidate_target_is_unmatched():
    estate = MatchEstate()
    server_id = estate.source("web-01")
    estate.target("web-02")
    entry = only(estate.matcher().match(), "unmatched")
    assert entry["source_server_id"] == server_id and entry["name"] == "web-01"
    assert "no instance with Name=web-01" in entry["reason"]


def test_a_source_instance_without_the_match_tag_is_unmatched():
    estate = MatchEstate()
    server_id = estate.source(None)
    estate.target("web-01")
    entry = only(estate.matcher().match(), "unmatched")
    assert entry["source_server_id"] == server_id and entry["name"] is None
    assert "no Name tag" in entry["reason"]


def test_a_requested_name_without_a_source_server_is_unmatched():
    estate = MatchEstate()
    wanted = estate.source("web-01")
    estate.source("db-01")
    estate.target("web-01")
    estate.target("db-01")
    result = estate.matcher().match(names=["WEB-01", "ghost"])
    assert [p["source_server_id"] for p in result.pairs] == [wanted]
    assert result.unmatched == [{"name": "ghost", "source_server_id": None,
                                 "reason": "no DRS source server whose source instance has Name=ghost"}]
    assert result.considered == 2 and result.match_rate == 0.5


def test_a_requested_source_server_id_that_is_missing_or_failback_is_unmatched():
    estate = MatchEstate()
    wanted = estate.source("web-01")
    failback = estate.source("web-02", direction="FAILBACK")
    estate.target("web-01")
    estate.target("web-02")
    result = estate.matcher().match(source_server_ids=[wanted, failback, sid(0xFFFF)])
    assert [p["source_server_id"] for p in result.pairs] == [wanted]
    assert sorted(u["source_server_id"] for u in result.unmatched) == sorted([failback, sid(0xFFFF)])
    assert result.considered == 3


def test_failback_servers_are_ignored():
    estate = MatchEstate()
    estate.source("web-01")
    estate.source("web-01", direction="FAILBACK")  # would make the name ambiguous if it were considered
    estate.target("web-01")
    result = estate.matcher().match()
    assert len(result.pairs) == 1 and result.considered == 1


@pytest.mark.parametrize("source_kwargs,target_kwargs,failing", [
    ({}, {"tagged": False}, ["launch_into_tag"]),
    ({}, {"arch": "arm64"}, ["architecture", "architecture_supported"]),
    ({"arch": "arm64"}, {"arch": "arm64"}, ["architecture_supported"]),
    ({}, {"platform": "windows"}, ["platform"]),
    ({"platform": "windows"}, {}, ["platform"]),
    ({}, {"boot": "uefi"}, ["boot_mode"]),
    ({"platform": "windows", "boot": "uefi"}, {"platform": "windows", "boot": "legacy-bios"}, ["boot_mode"]),
    ({}, {"root": "instance-store"}, ["root_device"]),
    ({}, {"subnet": None}, ["subnet_az"]),
    ({}, {"groups": ()}, ["security_groups"]),
])
def test_a_target_failing_an_error_check_is_invalid(source_kwargs, target_kwargs, failing):
    estate = MatchEstate()
    estate.source("web-01", **source_kwargs)
    estate.target("web-01", **target_kwargs)
    entry = only(estate.matcher().match(), "invalid")
    assert failed_errors(entry) == failing


def test_a_windows_pair_with_matching_boot_mode_is_valid():
    estate = MatchEstate()
    estate.source("win-01", platform="windows", boot="uefi")
    estate.target("win-01", platform="windows", boot="uefi")
    assert checks_of(only(estate.matcher().match(), "pairs"))["boot_mode"]["passed"]


@pytest.mark.parametrize("state", ["terminated", "shutting-down"])
def test_a_terminated_override_target_is_invalid(state):
    estate = MatchEstate()
    server_id = estate.source("web-01")
    gone = estate.target("web-01", state=state)
    entry = only(estate.matcher().match(overrides={server_id: gone}), "invalid")
    assert failed_errors(entry) == ["target_state"]
    assert state in checks_of(entry)["target_state"]["message"]


@pytest.mark.parametrize("state", ["terminated", "shutting-down"])
def test_a_terminated_target_is_not_a_tag_candidate(state):
    estate = MatchEstate()
    estate.source("web-01")
    estate.target("web-01", state=state)
    assert only(estate.matcher().match(), "unmatched")["name"] == "web-01"


@pytest.mark.parametrize("state", ["running", "pending", "stopping"])
def test_a_running_target_is_a_warning_unless_require_stopped(state):
    estate = MatchEstate()
    estate.source("web-01")
    estate.target("web-01", state=state)
    pair = only(estate.matcher().match(), "pairs")
    check = checks_of(pair)["target_state"]
    assert not check["passed"] and check["severity"] == "warning" and state in check["message"]
    strict = only(estate.matcher(require_stopped=True).match(), "invalid")
    assert failed_errors(strict) == ["target_state"]


def test_a_different_private_ip_is_a_warning_unless_require_same_private_ip():
    estate = MatchEstate()
    estate.source("web-01", ip="10.0.1.10")
    estate.target("web-01", ip="10.1.1.10")
    pair = only(estate.matcher().match(), "pairs")
    check = checks_of(pair)["private_ip"]
    assert not check["passed"] and check["severity"] == "warning"
    assert "10.0.1.10" in check["message"] and "10.1.1.10" in check["message"]
    strict = only(estate.matcher(require_same_private_ip=True).match(), "invalid")
    assert failed_errors(strict) == ["private_ip"]


def test_warnings_for_instance_family_and_security_group_names_do_not_invalidate():
    estate = MatchEstate()
    estate.source("web-01", itype="m5.large", groups=("app", "web"))
    estate.target("web-01", itype="c6i.large", groups=("app",))
    pair = only(estate.matcher().match(), "pairs")
    checks = checks_of(pair)
    assert not checks["instance_type_family"]["passed"] and checks["instance_type_family"]["severity"] == "warning"
    assert not checks["security_group_names"]["passed"] and "web" in checks["security_group_names"]["message"]
    assert pair_is_valid(pair["checks"])


def test_a_target_claimed_by_two_overrides_invalidates_both():
    estate = MatchEstate()
    first = estate.source("web-01")
    second = estate.source("web-02")
    shared = estate.target("shared")
    result = estate.matcher().match(overrides={first: shared, second: shared})
    assert result.pairs == []
    assert {e["source_server_id"] for e in result.invalid} == {first, second}
    for entry in result.invalid:
        assert failed_errors(entry) == ["claimed_once"]
    other = {first: second, second: first}
    for entry in result.invalid:
        assert other[entry["source_server_id"]] in checks_of(entry)["claimed_once"]["message"]


def test_a_target_claimed_by_an_override_and_a_tag_match_invalidates_both():
    estate = MatchEstate()
    first = estate.source("web-01")
    second = estate.source("web-02")
    target_id = estate.target("web-02")
    result = estate.matcher().match(overrides={first: target_id})
    assert result.pairs == [] and {e["source_server_id"] for e in result.invalid} == {first, second}


def test_an_unreadable_source_region_falls_back_to_drs_records_with_a_note():
    estate = MatchEstate()
    estate.source("ignored", ip="10.0.1.10", server_tags={"Name": "web-01"}, os="Ubuntu 22.04")
    estate.source("ignored", hostname="db-01", os="Microsoft Windows Server 2022")
    web = estate.target("web-01", ip="10.0.1.10")
    db = estate.target("DB-01", platform="windows")
    result = estate.matcher(source_region_fails=True).match()
    assert [p["target_instance_id"] for p in result.pairs] == [db, web]
    assert all(p["name_from"] == "drs_source_server" for p in result.pairs)
    assert result.pairs[1]["source_private_ip"] == "10.0.1.10"
    assert len(result.notes) == 1 and "DRS source server records" in result.notes[0]
    assert "describe EC2 instances" in result.notes[0]


def test_the_fallback_still_checks_the_platform_recorded_by_drs():
    estate = MatchEstate()
    estate.source("x", server_tags={"Name": "web-01"}, os="Microsoft Windows Server 2019")
    estate.target("web-01")
    entry = only(estate.matcher(source_region_fails=True).match(), "invalid")
    assert failed_errors(entry) == ["platform"]


def test_without_the_fallback_an_unreadable_source_region_raises():
    estate = MatchEstate()
    estate.source("web-01")
    estate.target("web-01")
    matcher = estate.matcher(source_region_fails=True, fallback_to_drs_records=False)
    with pytest.raises(DRSAPIError) as info:
        matcher.match()
    assert "describe EC2 instances" in info.value.message
    assert "instances_with_tag_key" not in estate.target_ec2.method_calls


def test_without_a_source_ec2_client_drs_records_are_used_without_a_note():
    estate = MatchEstate()
    estate.source("ignored", server_tags={"Name": "web-01"})
    estate.target("web-01")
    result = estate.matcher(no_source_ec2=True).match()
    assert only(result, "pairs")["name_from"] == "drs_source_server" and result.notes == []


def test_a_source_instance_gone_from_the_primary_region_uses_its_drs_record():
    estate = MatchEstate()
    estate.source("ignored", with_instance=False, hostname="web-01")
    estate.target("web-01")
    assert only(estate.matcher().match(), "pairs")["name_from"] == "drs_source_server"


def test_match_rate_and_to_dict():
    estate = MatchEstate()
    for name in ("a", "b", "c"):
        estate.source(name)
        estate.target(name)
    estate.source("orphan")
    estate.source(None)
    result = estate.matcher().match()
    assert result.considered == 5
    assert result.match_rate == round(3 / 5, 4)
    data = result.to_dict()
    assert set(data) == {"pairs", "unmatched", "ambiguous", "invalid", "match_rate", "considered", "notes"}
    assert [p["name"] for p in data["pairs"]] == ["a", "b", "c"]
    assert MatchEstate().matcher().match().match_rate == 0.0


def test_pages_of_drs_and_ec2_results_are_all_read():
    estate = MatchEstate(page_size=3)
    for n in range(10):
        estate.source(f"web-{n:02d}")
        estate.target(f"web-{n:02d}")
    result = estate.matcher().match()
    assert len(result.pairs) == 10
    assert estate.drs_fake.count("describe_source_servers") == 4  # 10 servers in pages of 3
    assert estate.target_fake.count("describe_instances") == 4


# ---------------------------------------------------------------------------------------------- linearity
def _estate(count, page_size=1000):
    estate = MatchEstate(page_size=page_size)
    for n in range(count):
        estate.source(f"server-{n:05d}", ip=f"10.{n // 65536}.{(n // 256) % 256}.{n % 256}")
        estate.target(f"server-{n:05d}", ip=f"10.{n // 65536}.{(n // 256) % 256}.{n % 256}")
    return estate


def test_calls_do_not_grow_with_the_number_of_servers():
    counts = {}
    for count in (10, 1000):
        estate = _estate(count)
        result = estate.matcher().match()
        assert len(result.pairs) == count
        counts[count] = (list(estate.drs.method_calls), list(estate.source_ec2.method_calls),
                         list(estate.target_ec2.method_calls))
        low_level = estate.low_level_calls()
        # One DRS page, one EC2 read per 200 source instances, one page of tagged targets.
        assert low_level == 1 + -(-count // 200) + 1, low_level
    assert counts[10] == counts[1000] == (["describe_source_servers"], ["describe_instances"],
                                          ["instances_with_tag_key"])


class _Instant:
    """Fakes with no paging or copying, so that the time measured is the matcher's own."""

    def __init__(self, servers=(), instances=()):
        self.servers = list(servers)
        self.instances = list(instances)
        self.by_id = {i["InstanceId"]: i for i in self.instances}

    def describe_source_servers(self, source_server_ids=None):
        return self.servers

    def describe_instances(self, instance_ids):
        return {i: self.by_id[i] for i in instance_ids if i in self.by_id}

    def instances_with_tag_key(self, tag_key):
        return self.instances


@functools.lru_cache(maxsize=4)
def _instant_matcher(count):
    """A matcher over `count` servers (cached: match() only reads the estate)."""
    estate = _estate(count)
    return InstanceMatcher(_Instant(servers=estate.servers), _Instant(instances=estate.source_instances),
                           _Instant(instances=estate.targets))


def _cpu_seconds_of_match(count, repeats):
    matcher = _instant_matcher(count)
    assert len(matcher.match().pairs) == count  # also a warm-up
    best = None
    for _repeat in range(repeats):
        gc.collect()
        gc.disable()
        try:
            start = time.process_time()  # CPU time of this process: other load on the machine does not count
            matcher.match()
            elapsed = time.process_time() - start
        finally:
            gc.enable()
        best = elapsed if best is None else min(best, elapsed)
    return best


def test_time_grows_about_linearly_with_the_number_of_servers():
    small = _cpu_seconds_of_match(1000, repeats=5)
    large = _cpu_seconds_of_match(10000, repeats=2)
    ratio = large / max(small, 1e-6)
    # Linear is 10, and memory effects push a bigger estate to 15-19 here; quadratic would be about 100.
    assert ratio < 30, f"1,000 servers: {small:.3f}s, 10,000 servers: {large:.3f}s, ratio {ratio:.1f}"


def test_python_calls_grow_linearly_with_the_number_of_servers():
    """A deterministic companion of the timing test: the number of function calls made while matching."""
    totals = {}
    for count in (500, 5000):
        matcher = _instant_matcher(count)
        profiler = cProfile.Profile()
        profiler.runcall(matcher.match)
        totals[count] = pstats.Stats(profiler).total_calls
    assert totals[5000] / totals[500] < 10.5, totals


def test_override_names_compare_like_tags():
    """An override written with other case or spacing than the Name tag still applies."""
    estate = MatchEstate()
    source_id = estate.source("legacy-db")
    explicit = estate.target("not-the-same-name")
    estate.target("legacy-db")
    result = estate.matcher().match(overrides={"  Legacy-DB ": explicit})
    (pair,) = result.pairs
    assert (pair["source_server_id"], pair["target_instance_id"], pair["matched_by"]) == (source_id, explicit, "override")


def test_waves_matched_together_split_back_into_each_wave_with_the_same_verdicts_as_alone():
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.matching import split_by_group

    estate = MatchEstate()
    db = estate.source("db-01", ip="10.0.1.10")
    estate.target("DB-01", ip="10.0.1.10")
    app = estate.source("app-01", ip="10.0.2.10")
    estate.target("app-01", ip="10.0.2.10")
    estate.source("web-01", ip="10.0.3.10")  # no target
    waves = {"1": ["db-01"], "2": ["App-01", "web-01"], "3": ["missing-01"]}
    together = estate.matcher().match(names=[n for names in waves.values() for n in names]).to_dict()
    parts = split_by_group(together, waves)

    assert sorted(parts) == ["1", "2", "3"]
    assert [p["source_server_id"] for p in parts["1"]["pairs"]] == [db]
    assert [p["source_server_id"] for p in parts["2"]["pairs"]] == [app]
    assert [u["name"] for u in parts["2"]["unmatched"]] == ["web-01"]
    assert [u["name"] for u in parts["3"]["unmatched"]] == ["missing-01"] and parts["3"]["pairs"] == []
    assert (parts["1"]["considered"], parts["2"]["considered"], parts["3"]["considered"]) == (1, 2, 1)
    assert (parts["1"]["match_rate"], parts["2"]["match_rate"], parts["3"]["match_rate"]) == (1.0, 0.5, 0.0)
    for wave, names in waves.items():
        alone = estate.matcher().match(names=names).to_dict()
        for kind in ("pairs", "unmatched", "ambiguous", "invalid"):
            assert parts[wave][kind] == alone[kind], (wave, kind)
        assert parts[wave]["considered"] == alone["considered"]


def test_a_target_claimed_from_two_waves_invalidates_both_when_they_are_matched_together():
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.matching import split_by_group

    estate = MatchEstate()
    estate.source("web-01", ip="10.0.1.10")
    estate.source("web-02", ip="10.0.1.11")
    shared = estate.target("web-01", ip="10.0.1.10")
    waves = {"1": ["web-01"], "2": ["web-02"]}
    overrides = {"web-02": shared}
    parts = split_by_group(estate.matcher().match(names=["web-01", "web-02"], overrides=overrides).to_dict(), waves)
    assert parts["1"]["pairs"] == [] and parts["2"]["pairs"] == []
    for wave in waves:
        (entry,) = parts[wave]["invalid"]
        assert failed_errors(entry) == ["claimed_once"]
