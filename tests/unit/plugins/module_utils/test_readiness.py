# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The preflight's readiness evaluation: per server (match, replication, launch configuration drift), per wave
(quotas) and for the group (replicating servers, state tables, lock), read-only and linear in reads."""

import pytest

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import StateStoreError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import LaunchSettings
from ansible_collections.elasticdr.orchestration.plugins.module_utils.readiness import Quotas
from ansible_collections.elasticdr.orchestration.plugins.module_utils.readiness import ReadinessEvaluator
from ansible_collections.elasticdr.orchestration.plugins.module_utils.readiness import drift_check
from ansible_collections.elasticdr.orchestration.plugins.module_utils.readiness import replicating_count
from ansible_collections.elasticdr.orchestration.plugins.module_utils.readiness import replication_check
from ansible_collections.elasticdr.orchestration.plugins.module_utils.readiness import wave_quota_checks

from .fakes import MatchEstate
from .fakes import source_server


def configured(target_id, disposition="STARTED"):
    """A launch configuration exactly as drs_launch_config sets it for launch into target_id."""
    return {"launchDisposition": disposition, "targetInstanceTypeRightSizingMethod": "NONE", "copyPrivateIp": False,
            "copyTags": False, "licensing": {"osByol": False}, "postLaunchEnabled": False,
            "launchIntoInstanceProperties": {"launchIntoEC2InstanceID": target_id}}


class FakeStore:
    def __init__(self, pairs=(), lock=None, missing=False):
        self.pairs = list(pairs)
        self.lock = lock
        self.missing = missing
        self.calls = []

    def check_tables(self):
        self.calls.append("check_tables")
        if self.missing:
            raise StateStoreError("State tables not ready: p-instance-pairs does not exist.")

    def get_pairs(self, protection_group):
        self.calls.append("get_pairs")
        return [p for p in self.pairs if p["protection_group"] == protection_group]

    def get_lock(self, protection_group):
        self.calls.append("get_lock")
        return self.lock


class Estate(MatchEstate):
    """MatchEstate plus replication states and launch configurations, and an evaluator over them."""

    def __init__(self):
        super().__init__()
        self.replication = {}
        self.launch_configs = {}
        self.ids = {}
        self.target_ids = {}

    def server(self, name, target=True, configured_=True, replication="CONTINUOUS", lag="PT5S", **target_kwargs):
        server_id = self.source(name)
        self.ids[name] = server_id
        self.replication[server_id] = {"dataReplicationState": replication, "lagDuration": lag}
        if target:
            target_id = self.target(name, **target_kwargs)
            self.target_ids[name] = target_id
            if configured_:
                self.launch_configs[server_id] = configured(target_id)
        return server_id

    def evaluate(self, waves, store=None, protection_group=None, **kwargs):
        for server in self.servers:
            if server["sourceServerID"] in self.replication:
                server["dataReplicationInfo"] = self.replication[server["sourceServerID"]]
        matcher = self.matcher()
        self.drs_fake.launch_configs = dict(self.launch_configs)
        settings = kwargs.pop("settings", LaunchSettings())
        evaluator = ReadinessEvaluator(self.drs, matcher, settings, store=store, protection_group=protection_group,
                                       **kwargs)
        return evaluator.evaluate(waves)

    def mutating_calls(self):
        return self.drs_fake.mutating_calls() + self.source_fake.mutating_calls() + self.target_fake.mutating_calls()


def rows(report):
    return {r["name"]: r for w in report["waves"] for r in w["servers"]}


def test_a_configured_replicating_paired_estate_is_ready():
    estate = Estate()
    for name in ("db-01", "db-02", "app-01"):
        estate.server(name)
    report = estate.evaluate({"1": ["db-01", "db-02"], "2": ["app-01"]})
    assert report["ready"] is True, report["summary"]
    assert [w["wave"] for w in report["waves"]] == [1, 2] and all(w["ready"] for w in report["waves"])
    assert report["not_ready_servers"] == [] and report["not_ready_waves"] == []
    row = rows(report)["db-01"]
    assert row["ready"] and row["reasons"] == [] and row["drift"] == {}
    assert row["source_server_id"] == estate.ids["db-01"] and row["target_instance_id"] == estate.target_ids["db-01"]
    assert (row["replication_state"], row["lag_seconds"], row["matched_by"]) == ("CONTINUOUS", 5.0, "tag")
    assert report["waves"][0]["jobs"] == 1 and report["waves"][0]["server_count"] == 2
    assert estate.mutating_calls() == []
    assert report["summary"][0] == "Wave 1: READY (2 servers, 1 job(s); 0 not ready)"
    assert report["summary"][-1] == "READY: every wave can fail over"


def test_drift_is_reported_as_a_warning_and_fails_only_when_asked():
    estate = Estate()
    estate.server("db-01", configured_=False)  # a fresh launch configuration: nothing set yet
    estate.server("db-02")
    target = estate.target_ids["db-01"]
    report = estate.evaluate({1: ["db-01", "db-02"]})
    assert report["ready"] is True
    row = rows(report)["db-01"]
    assert row["drift"]["launchIntoInstanceProperties"] == {"before": {}, "after": {"launchIntoEC2InstanceID": target}}
    assert row["drift"]["targetInstanceTypeRightSizingMethod"]["after"] == "NONE"
    assert any(f"launchIntoEC2InstanceID (none) -> {target}" in w for w in row["warnings"]), row["warnings"]
    assert rows(report)["db-02"]["drift"] == {}
    assert any("db-01" in line and "to change" in line for line in report["summary"])

    strict = estate.evaluate({1: ["db-01", "db-02"]}, fail_on_drift=True)
    assert strict["ready"] is False and strict["not_ready_servers"] == ["db-01"]
    assert any("launch configuration drift" in r for r in rows(strict)["db-01"]["reasons"])
    assert estate.mutating_calls() == []


def test_drift_follows_the_launch_disposition_the_failover_will_set():
    estate = Estate()
    estate.server("db-01")
    stopped = estate.evaluate({1: ["db-01"]}, settings=LaunchSettings(launch_disposition="STOPPED"))
    assert rows(stopped)["db-01"]["drift"] == {"launchDisposition": {"before": "STARTED", "after": "STOPPED"}}


@pytest.mark.parametrize("state,lag,threshold,ready,fragment", [
    ("CONTINUOUS", "PT5S", 60, True, "CONTINUOUS, lag 5 s"),
    ("CONTINUOUS", "PT59S", 60, True, "lag 59 s"),
    ("CONTINUOUS", "PT60S", 60, False, "lag 60 s is not under 60 s"),
    ("CONTINUOUS", "PT10M", 60, False, "lag 600 s is not under 60 s"),
    ("CONTINUOUS", "PT10M", 900, True, "lag 600 s"),
    ("CONTINUOUS", None, 60, False, "no lag"),
    ("INITIAL_SYNC", "PT5S", 60, False, "replication is INITIAL_SYNC, not CONTINUOUS"),
    ("STALLED", "PT5S", 60, False, "STALLED"),
    (None, None, 60, False, "replication is unknown"),
])
def test_replication_must_be_continuous_under_the_lag_threshold(state, lag, threshold, ready, fragment):
    result = replication_check(source_server("s-" + "0" * 17, state=state, lag=lag), threshold)
    assert result["passed"] is ready and fragment in result["message"], result


def test_replication_problems_name_the_server_and_the_threshold_is_configurable():
    estate = Estate()
    estate.server("db-01", replication="INITIAL_SYNC")
    estate.server("db-02", lag="PT10M")
    estate.server("db-03")
    report = estate.evaluate({1: ["db-01", "db-02", "db-03"]})
    assert report["ready"] is False and report["not_ready_servers"] == ["db-01", "db-02"]
    assert rows(report)["db-01"]["reasons"] == ["replication is INITIAL_SYNC, not CONTINUOUS"]
    assert rows(report)["db-02"]["reasons"] == ["replication lag 600 s is not under 60 s"]
    relaxed = estate.evaluate({1: ["db-02", "db-03"]}, lag_threshold=601)
    assert relaxed["ready"] is True and relaxed["lag_threshold"] == 601.0
    with pytest.raises(ConfigurationError):
        estate.evaluate({1: ["db-03"]}, lag_threshold=0)


def test_match_problems_make_the_server_not_ready_with_the_reason():
    estate = Estate()
    estate.server("db-01", target=False)  # no target at all
    estate.server("db-02", tagged=False)  # a target without AWSDRS=AllowLaunchingIntoThisInstance
    estate.server("db-03")
    estate.server("db-04", target=False)
    estate.target("db-04")  # two targets named db-04
    estate.target("DB-04 ")
    report = estate.evaluate({1: ["db-01", "db-02", "db-03", "db-04", "ghost-01"]})
    found = rows(report)
    assert report["ready"] is False
    assert report["not_ready_servers"] == ["db-01", "db-02", "db-04", "ghost-01"]
    assert "no instance with Name=db-01 in the recovery account/region" in found["db-01"]["reasons"][0]
    assert found["db-01"]["replication_state"] == "CONTINUOUS"  # replication is still reported
    assert "invalid pair" in found["db-02"]["reasons"][0] and "lacks the tag AWSDRS" in found["db-02"]["reasons"][0]
    assert found["db-02"]["drift"] == {}  # no drift computed for a pair that cannot be used
    assert found["db-04"]["reasons"][0].startswith("ambiguous: 2 recovery-region instances share Name=db-04")
    assert found["ghost-01"]["reasons"] == [
        "no DRS source server whose source instance has Name=ghost-01", "no DRS source server to replicate"]
    assert found["db-03"]["ready"] is True
    # only the valid pair's launch configuration is read
    assert estate.drs_fake.count("get_launch_configuration") == 1
    assert estate.mutating_calls() == []


def test_inventory_names_match_case_and_spacing_insensitively():
    estate = Estate()
    estate.server("Web-01")
    report = estate.evaluate({1: ["  web-01"]})
    assert report["ready"] is True and rows(report)["  web-01"]["target_instance_id"] == estate.target_ids["Web-01"]


def test_a_running_target_is_a_warning_not_a_failure():
    estate = Estate()
    estate.server("db-01", state="running")
    report = estate.evaluate({1: ["db-01"]})
    row = rows(report)["db-01"]
    assert row["ready"] is True and any("must be stopped before the launch" in w for w in row["warnings"])


def test_a_target_claimed_by_servers_of_two_waves_is_refused_for_both():
    estate = Estate()
    first = estate.server("db-01")
    second = estate.server("app-01")
    shared = estate.target_ids["db-01"]
    store = FakeStore(pairs=[{"protection_group": "shop", "source_server_id": first, "target_instance_id": shared},
                             {"protection_group": "shop", "source_server_id": second, "target_instance_id": shared}])
    report = estate.evaluate({1: ["db-01"], 2: ["app-01"]}, store=store, protection_group="shop")
    assert report["not_ready_servers"] == ["db-01", "app-01"]
    assert all("target also claimed by" in rows(report)[n]["reasons"][0] for n in ("db-01", "app-01"))


def test_stored_pairs_lock_and_state_tables():
    estate = Estate()
    server_id = estate.server("db-01")
    pinned = estate.target("legacy-db")
    estate.launch_configs[server_id] = configured(pinned)
    store = FakeStore(pairs=[{"protection_group": "shop", "source_server_id": server_id, "target_instance_id": pinned}])
    report = estate.evaluate({1: ["db-01"]}, store=store, protection_group="shop")
    assert report["ready"] is True
    assert rows(report)["db-01"]["target_instance_id"] == pinned and rows(report)["db-01"]["matched_by"] == "stored_pair"
    assert [(c["name"], c["passed"]) for c in report["checks"]] == [
        ("state_tables", True), ("lock", True), ("replicating_servers", True)]
    assert store.calls == ["check_tables", "get_pairs", "get_lock"]

    locked = estate.evaluate({1: ["db-01"]}, store=FakeStore(lock={"holder": "shop-failover-1"}), protection_group="shop")
    assert locked["ready"] is False and locked["not_ready_waves"] == [] and locked["not_ready_servers"] == []
    assert "execution shop-failover-1 holds the protection group's lock" in locked["reasons"][0]
    assert locked["summary"][-1].startswith("NOT READY: wave(s) none; server(s) none; group: execution shop-failover-1")

    missing = FakeStore(missing=True)
    no_tables = estate.evaluate({1: ["db-01"]}, store=missing, protection_group="shop")
    assert no_tables["ready"] is False and "p-instance-pairs does not exist" in no_tables["reasons"][0]
    assert missing.calls == ["check_tables"]
    # without the stored pair, db-01 is matched by its tag (to the target its launch configuration does not name)
    assert rows(no_tables)["db-01"]["matched_by"] == "tag" and rows(no_tables)["db-01"]["drift"]


@pytest.mark.parametrize("count,quotas,errors,warnings,jobs", [
    (3, Quotas(), [], [], 1),
    (100, Quotas(), [], [], 1),
    (101, Quotas(), ["servers_per_job"], [], 2),
    (101, Quotas(allow_multi_job_waves=True), [], ["servers_per_job"], 2),
    (3, Quotas(servers_per_job=2), ["servers_per_job"], [], 2),
    (3, Quotas(servers_per_job=1, concurrent_jobs=2, allow_multi_job_waves=True), ["concurrent_jobs"],
     ["servers_per_job"], 3),
    (600, Quotas(allow_multi_job_waves=True), ["servers_in_active_jobs"], ["servers_per_job"], 6),
    (2001, Quotas(allow_multi_job_waves=True, servers_in_active_jobs=5000), ["concurrent_jobs"], ["servers_per_job"],
     21),
])
def test_wave_quotas(count, quotas, errors, warnings, jobs):
    checks, needed = wave_quota_checks(count, quotas)
    assert needed == jobs
    assert sorted(c["name"] for c in checks if not c["passed"] and c["severity"] == "error") == errors
    assert sorted(c["name"] for c in checks if not c["passed"] and c["severity"] == "warning") == warnings


def test_a_wave_over_the_quota_is_not_ready_and_names_its_servers():
    estate = Estate()
    for name in ("db-01", "db-02", "db-03", "app-01"):
        estate.server(name)
    waves = {1: ["db-01", "db-02", "db-03"], 2: ["app-01"]}
    report = estate.evaluate(waves, quotas=Quotas(servers_per_job=2))
    assert report["ready"] is False and report["not_ready_waves"] == [1] and report["not_ready_servers"] == []
    wave = report["waves"][0]
    assert wave["jobs"] == 2 and "3 servers, over the quota of 2 servers per job" in wave["reasons"][0]
    assert report["summary"][0] == "Wave 1: NOT READY (3 servers, 2 job(s); 0 not ready)"
    assert all(any(n in line for line in report["summary"]) for n in waves[1])
    allowed = estate.evaluate(waves, quotas=Quotas(servers_per_job=2, allow_multi_job_waves=True))
    assert allowed["ready"] is True and "started as 2 jobs" in allowed["waves"][0]["warnings"][0]


def test_replicating_servers_quota_counts_every_replicating_server_of_the_region():
    servers = [source_server(f"s-{n:017x}", state=state) for n, state in enumerate(
        ["CONTINUOUS", "INITIAL_SYNC", "STOPPED", "DISCONNECTED", "BACKLOG", None])]
    assert replicating_count(servers) == 3
    estate = Estate()
    for name in ("db-01", "db-02", "db-03"):
        estate.server(name)
    estate.source("unprotected")  # in the account, not in the inventory: still counts
    report = estate.evaluate({1: ["db-01"]}, quotas=Quotas(replicating_servers=3))
    assert report["ready"] is False and report["waves"][0]["ready"] is True
    assert "4 source servers replicating in the recovery account and region, quota 3" in report["reasons"][0]
    assert estate.evaluate({1: ["db-01"]}, quotas=Quotas(replicating_servers=4))["ready"] is True


@pytest.mark.parametrize("quotas", [Quotas(servers_per_job=0), Quotas(concurrent_jobs=-1),
                                    Quotas(replicating_servers=True), Quotas(servers_in_active_jobs="5")])
def test_bad_quotas_are_refused(quotas):
    with pytest.raises(ConfigurationError):
        quotas.validate()


@pytest.mark.parametrize("waves,fragment", [
    ({1: ["db-01"], 2: ["DB-01"]}, "DB-01 is in wave 1 and wave 2"),  # names compare normalised
    ({"one": ["db-01"]}, "Wave 'one' is not a wave number"),
    ({}, "No servers to check"),
    ({1: []}, "No servers to check"),
])
def test_bad_wave_plans_are_refused_before_any_call(waves, fragment):
    estate = Estate()
    estate.server("db-01")
    with pytest.raises(ConfigurationError) as caught:
        estate.evaluate(waves)
    assert fragment in str(caught.value)
    assert estate.low_level_calls() == 0


def test_reads_are_linear_one_source_server_read_and_one_launch_configuration_per_pair():
    estate = Estate()
    estate.page_size = 50
    names = [f"web-{n:03d}" for n in range(120)]
    for name in names:
        estate.server(name)
    report = estate.evaluate({1: names[:60], 2: names[60:]})
    assert report["ready"] is True
    assert estate.drs_fake.count("describe_source_servers") == 3  # 120 servers in pages of 50, read once
    assert estate.drs_fake.count("get_launch_configuration") == 120
    assert estate.target_fake.count() == 3 and estate.source_fake.count() == 3
    assert estate.mutating_calls() == []


def test_drift_check_messages():
    result, drift = drift_check({"launchDisposition": "STARTED", "copyPrivateIp": True, "licensing": {"osByol": True}},
                                LaunchSettings(os_byol=False), "i-0123456789abcdef0")
    assert result["severity"] == "warning" and not result["passed"]
    assert set(drift) == {"copyPrivateIp", "licensing", "targetInstanceTypeRightSizingMethod",
                          "launchIntoInstanceProperties"}
    assert "copyPrivateIp True -> False" in result["message"] and "licensing osByol=True -> osByol=False" in result["message"]
    strict, _drift = drift_check({}, LaunchSettings(), "i-0123456789abcdef0", fail_on_drift=True)
    assert strict["severity"] == "error"
