"""drs_instance_match against the simulator: tag matching, filters, overrides, every kind of problem pair,
the validation options, and the fallback to DRS records when the primary region cannot be read."""
from simlib import small_estate

from .helpers import assert_names_and_remediation, assert_no_mutation, drs

MISSING_INSTANCE = "i-0123456789abcdef0"


def _names(items):
    return sorted(i["name"] for i in items)


def _check(pair, name):
    return next(c for c in pair["checks"] if c["name"] == name)


def test_match_all_and_filters(sim, play):
    summary = sim.load_estate(small_estate(3, 1))
    db3 = summary["servers"]["db-03"]["source_server_id"]
    run = play.run([
        drs("drs_instance_match", "all"),
        # names compare case-insensitively and ignore surrounding whitespace; unknown names are reported
        drs("drs_instance_match", "by_name", names=["db-01", "  DB-02 ", "ghost-99"]),
        drs("drs_instance_match", "by_id", source_server_ids=[db3, "s-0000000000000000a"]),
    ])
    everything = run.ok("all")
    assert everything["changed"] is False
    assert _names(everything["pairs"]) == ["db-01", "db-02", "db-03"]
    assert everything["unmatched"] == everything["ambiguous"] == everything["invalid"] == []
    assert everything["match_rate"] == 1.0 and everything["considered"] == 3
    for pair in everything["pairs"]:
        expected = summary["servers"][pair["name"]]
        assert pair["source_server_id"] == expected["source_server_id"]
        assert pair["source_server_arn"] == expected["source_server_arn"]
        assert pair["source_instance_id"] == expected["source_instance_id"]
        assert pair["target_instance_id"] == expected["target_instance_id"]
        assert pair["source_private_ip"] == expected["source_private_ip"]
        assert pair["target_private_ip"] == expected["target_private_ip"]
        assert pair["target_state"] == "stopped"
        assert pair["wave"] == "1" and pair["matched_by"] == "tag" and pair["name_from"] == "source_instance"
        assert pair["staging_account_id"] is None
        assert all(c["passed"] or c["severity"] == "warning" for c in pair["checks"])
        assert _check(pair, "launch_into_tag")["passed"] and _check(pair, "claimed_once")["passed"]

    by_name = run.ok("by_name")
    assert _names(by_name["pairs"]) == ["db-01", "db-02"]
    assert [u["name"] for u in by_name["unmatched"]] == ["ghost-99"]
    assert "Name=ghost-99" in by_name["unmatched"][0]["reason"]
    assert by_name["considered"] == 3 and by_name["match_rate"] == round(2 / 3, 4)

    by_id = run.ok("by_id")
    assert [p["source_server_id"] for p in by_id["pairs"]] == [db3]
    assert [u["source_server_id"] for u in by_id["unmatched"]] == ["s-0000000000000000a"]
    assert_no_mutation(sim, "drs_instance_match only reads")


def _problem_estate():
    """db-01 no target; db-02's source also named db-03; db-04 target untagged; db-05 arm64; db-06's target
    named db-07 (two db-07 targets); db-08 fine."""
    return small_estate(8, 1, **{
        "db-01": {"target": {"create": False}},
        "db-02": {"tags": {"Name": "db-03"}},
        "db-04": {"target": {"tag": False}},
        "db-05": {"architecture": "arm64"},
        "db-06": {"target": {"tags": {"Name": "db-07"}}},
    })


def test_match_unmatched_ambiguous_invalid_and_overrides(sim, play):
    summary = sim.load_estate(_problem_estate())
    servers = summary["servers"]
    t6, t7, t8 = (servers[n]["target_instance_id"] for n in ("db-06", "db-07", "db-08"))
    s7 = servers["db-07"]["source_server_id"]
    run = play.run([
        drs("drs_instance_match", "default"),
        drs("drs_instance_match", "strict", fail_on_unmatched=True, ignore_errors=True),
        # explicit pairs by name and by source server ID win over tags
        drs("drs_instance_match", "overrides", names=["db-01", "db-07"], overrides={"db-01": t6, s7: t7}),
        drs("drs_instance_match", "override_missing", names=["db-01"], overrides={"db-01": MISSING_INSTANCE}),
        # db-01 overridden onto db-08's target, which db-08 claims by tag: neither pair is valid
        drs("drs_instance_match", "claimed_twice", names=["db-01", "db-08"], overrides={"db-01": t8}),
    ])
    result = run.ok("default")
    assert _names(result["pairs"]) == ["db-08"]
    unmatched = {u["source_server_id"]: u for u in result["unmatched"]}
    assert set(unmatched) == {servers["db-01"]["source_server_id"], servers["db-06"]["source_server_id"]}
    assert "no instance with Name=db-01" in unmatched[servers["db-01"]["source_server_id"]]["reason"]
    ambiguous = {a["source_server_id"]: a for a in result["ambiguous"]}
    assert set(ambiguous) == {servers[n]["source_server_id"] for n in ("db-02", "db-03", "db-07")}
    dup_source = ambiguous[servers["db-02"]["source_server_id"]]
    assert "2 source servers share Name=db-03" in dup_source["reason"]
    assert sorted(dup_source["source_server_ids"]) == sorted(servers[n]["source_server_id"] for n in ("db-02", "db-03"))
    dup_target = ambiguous[s7]
    assert "2 recovery-region instances share Name=db-07" in dup_target["reason"]
    assert dup_target["candidate_target_ids"] == sorted([t6, t7])
    invalid = {p["name"]: p for p in result["invalid"]}
    assert set(invalid) == {"db-04", "db-05"}
    assert not _check(invalid["db-04"], "launch_into_tag")["passed"]
    assert "lacks the tag AWSDRS=AllowLaunchingIntoThisInstance" in _check(invalid["db-04"], "launch_into_tag")["message"]
    arm = _check(invalid["db-05"], "architecture_supported")
    assert not arm["passed"] and "arm64" in arm["message"]
    assert result["considered"] == 8 and result["match_rate"] == 0.125

    strict = run.failed("strict")
    # first problem is the first unmatched server (db-01), named with its reason and a remediation
    assert_names_and_remediation(strict, "7 server(s)", "db-01", "AWSDRS=AllowLaunchingIntoThisInstance")
    assert strict["error"]["error"] == "InstanceMatchingError"
    assert _names(strict["pairs"]) == ["db-08"] and len(strict["ambiguous"]) == 3  # the full result is returned

    overrides = run.ok("overrides")
    assert {p["name"]: (p["target_instance_id"], p["matched_by"]) for p in overrides["pairs"]} == {
        "db-01": (t6, "override"), "db-07": (t7, "override")}
    assert overrides["unmatched"] == overrides["ambiguous"] == overrides["invalid"] == []

    missing = run.ok("override_missing")
    assert missing["pairs"] == [] and len(missing["invalid"]) == 1
    assert missing["invalid"][0]["target_instance_id"] == MISSING_INSTANCE
    assert missing["invalid"][0]["checks"][0]["name"] == "target_exists"

    claimed = run.ok("claimed_twice")
    assert claimed["pairs"] == []
    assert _names(claimed["invalid"]) == ["db-01", "db-08"]
    for pair in claimed["invalid"]:
        assert pair["target_instance_id"] == t8
        assert not _check(pair, "claimed_once")["passed"]
    assert_no_mutation(sim, "drs_instance_match only reads")


def test_match_tag_wave_tag_and_strictness(sim, play):
    summary = sim.load_estate(small_estate(3, 1, **{
        # db-01 pairs through another tag (values compared case-insensitively, trimmed); its target's Name differs
        "db-01": {"tags": {"dr-key": "Alpha", "custom-wave": "7"},
                  "target": {"tags": {"Name": "db-01-dr", "dr-key": " alpha "}}},
        "db-02": {"target": {"state": "running"}},
        "db-03": {"target": {"private_ip": "10.10.0.99"}},
    }))
    servers = summary["servers"]
    run = play.run([
        drs("drs_instance_match", "default"),
        drs("drs_instance_match", "by_other_tag", match_tag="dr-key", wave_tag="custom-wave"),
        drs("drs_instance_match", "require_stopped", require_stopped=True),
        drs("drs_instance_match", "require_same_ip", require_same_private_ip=True),
    ])
    default = run.ok("default")
    assert _names(default["pairs"]) == ["db-02", "db-03"]  # a running target and another IP are only warnings
    assert [u["name"] for u in default["unmatched"]] == ["db-01"]
    pairs = {p["name"]: p for p in default["pairs"]}
    state = _check(pairs["db-02"], "target_state")
    assert (state["passed"], state["severity"]) == (False, "warning") and "running" in state["message"]
    ip_check = _check(pairs["db-03"], "private_ip")
    assert (ip_check["passed"], ip_check["severity"]) == (False, "warning")
    assert pairs["db-03"]["target_private_ip"] == "10.10.0.99"

    other = run.ok("by_other_tag")
    assert [(p["name"], p["target_instance_id"], p["wave"]) for p in other["pairs"]] == [
        ("Alpha", servers["db-01"]["target_instance_id"], "7")]
    assert sorted(u["source_server_id"] for u in other["unmatched"]) == sorted(
        servers[n]["source_server_id"] for n in ("db-02", "db-03"))
    assert all("no dr-key tag" in u["reason"] for u in other["unmatched"])

    stopped = run.ok("require_stopped")
    assert _names(stopped["pairs"]) == ["db-03"] and _names(stopped["invalid"]) == ["db-02"]
    assert _check(stopped["invalid"][0], "target_state")["severity"] == "error"

    same_ip = run.ok("require_same_ip")
    assert _names(same_ip["pairs"]) == ["db-02"] and _names(same_ip["invalid"]) == ["db-03"]
    assert _check(same_ip["invalid"][0], "private_ip")["severity"] == "error"


def test_fallback_to_drs_records_when_primary_region_unreadable(sim, play):
    summary = sim.load_estate(small_estate(3, 1))
    sim.add_fault(type="access_denied", service="ec2", region="us-east-1")
    run = play.run([
        drs("drs_instance_match", "fallback"),
        drs("drs_instance_match", "no_fallback", fallback_to_drs_records=False, ignore_errors=True),
    ])
    fallback = run.ok("fallback")
    assert _names(fallback["pairs"]) == ["db-01", "db-02", "db-03"]
    for pair in fallback["pairs"]:
        assert pair["name_from"] == "drs_source_server"
        assert pair["target_instance_id"] == summary["servers"][pair["name"]]["target_instance_id"]
        assert pair["source_private_ip"] == summary["servers"][pair["name"]]["source_private_ip"]  # as DRS recorded
    assert len(fallback["notes"]) == 1 and "matching from the DRS source server records" in fallback["notes"][0]
    assert any("DRS source server records" in w for w in run["fallback"]["warnings"])

    no_fallback = run.failed("no_fallback")
    assert "UnauthorizedOperation" in no_fallback["msg"] or "not authorized" in no_fallback["msg"].lower()
    assert "describe EC2 instances" in no_fallback["msg"]
    primary_reads = [r for r in sim.requests(service="ec2") if r["region"] == "us-east-1"]
    assert len(primary_reads) == 2 and all(r["status"] == 403 and r["fault"] for r in primary_reads)


def test_waves_matched_in_one_read_and_returned_wave_by_wave(sim, play):
    summary = sim.load_estate(small_estate(3, 1, **{"db-03": {"target": {"tag": False}}}))
    sim.clear_requests()
    run = play.run([
        drs("drs_instance_match", "waves", waves={"1": ["db-01"], "2": ["DB-02", "db-03", "ghost-99"]}),
        drs("drs_instance_match", "both", waves={"1": ["db-01"]}, names=["db-01"], ignore_errors=True),
        drs("drs_instance_match", "bad", waves={"1": "db-01"}, ignore_errors=True),
    ])
    result = run.ok("waves")
    assert sorted(result["waves"]) == ["1", "2"]
    first, second = result["waves"]["1"], result["waves"]["2"]
    assert [p["source_server_id"] for p in first["pairs"]] == [summary["servers"]["db-01"]["source_server_id"]]
    assert first["considered"] == 1 and first["match_rate"] == 1.0
    assert _names(second["pairs"]) == ["db-02"] and _names(second["invalid"]) == ["db-03"]
    assert _names(second["unmatched"]) == ["ghost-99"] and second["considered"] == 3
    assert _names(result["pairs"]) == ["db-01", "db-02"]  # the whole result as well
    # One read of the source servers for both waves.
    assert len([c for c in sim.requests() if c["operation"] == "DescribeSourceServers"]) == 1
    assert "mutually exclusive" in run.failed("both")["msg"]
    assert_names_and_remediation(run.failed("bad"), "wave 1", "list of server names")
