"""drs_instance_pair against the simulator's DynamoDB: add (from drs_instance_match), update, remove, purge;
a second run writes nothing; check mode writes nothing and predicts the real result; --diff; every refusal
comes before any write; the protection group's lock item is never touched; the state tables are found through
region, table_prefix and the target role. Also drs_instance_match with protection_group: stored pairs are
explicit pairs, and explicit overrides win over them."""
from simlib import PRIMARY, small_estate

from .helpers import (EXTERNAL_ID, ROLE_222, assert_names_and_remediation, assert_no_mutation, drs, mutating,
                      state_tables)

GROUP = "shop"
ROLE = {"target_role_arn": ROLE_222, "external_id": EXTERNAL_ID}
TIMESTAMPS = ("created_at", "updated_at")


def sid(n):
    return f"s-{n:017x}"


def iid(n):
    return f"i-{n:017x}"


def pair(n, **changes):
    data = {"name": f"web-{n:02d}", "source_server_id": sid(n), "target_instance_id": iid(0x100 + n),
            "source_private_ip": f"10.0.1.{n}", "target_private_ip": f"10.0.1.{n}", "wave": 1}
    data.update(changes)
    return data


def pair_task(name, pairs, ignore_errors=False, **params):
    return drs("drs_instance_pair", name, ignore_errors=ignore_errors, pairs=pairs,
               **dict({"protection_group": GROUP}, **params))


def without_timestamps(pairs):
    return [{k: v for k, v in p.items() if k not in TIMESTAMPS} for p in pairs]


def by_id(pairs):
    return {p["source_server_id"]: p for p in pairs}


def test_add_from_match_with_check_diff_then_idempotent_and_lock_untouched(sim, play):
    summary = sim.load_estate(small_estate(3, 1))
    servers = summary["servers"]
    ids = sorted(s["source_server_id"] for s in servers.values())
    store = state_tables(sim)
    store.acquire_lock(GROUP, "exec-running")
    lock = store.get_lock(GROUP)
    tasks = [drs("drs_instance_match", "match", register="match"),
             pair_task("store", "{{ match.pairs }}")]

    sim.clear_requests()
    check = play.run(tasks, check=True, diff=True)
    predicted = check.ok("store")
    assert predicted["changed"] is True
    assert (predicted["added"], predicted["updated"], predicted["removed"]) == (ids, [], [])
    assert_no_mutation(sim, "drs_instance_pair --check")
    assert store.get_pairs(GROUP) == []
    assert predicted["diff"]["before"] == {} and sorted(predicted["diff"]["after"]) == ids
    for name, server in servers.items():
        after = predicted["diff"]["after"][server["source_server_id"]]
        assert after == {"name": name, "source_server_id": server["source_server_id"],
                         "source_instance_id": server["source_instance_id"],
                         "target_instance_id": server["target_instance_id"],
                         "source_private_ip": server["source_private_ip"],
                         "target_private_ip": server["target_private_ip"], "wave": 1, "matched_by": "tag"}
        assert server["target_instance_id"] in check.stdout  # --diff is shown to the operator

    applied = play.run(tasks)
    first = applied.ok("store")
    assert first["changed"] is True and (first["added"], first["updated"], first["removed"]) == (ids, [], [])
    assert "diff" not in first
    stored = sorted(store.get_pairs(GROUP), key=lambda p: p["name"])
    assert first["pairs"] == stored  # what the module returns is what the table holds
    assert without_timestamps(first["pairs"]) == without_timestamps(predicted["pairs"])  # check mode predicted it
    for item in stored:
        server = servers[item["name"]]
        assert item["protection_group"] == GROUP and item["wave"] == 1  # the wave tag's "1" stored as a number
        assert item["target_instance_id"] == server["target_instance_id"]
        assert item["created_at"] == item["updated_at"]
    writes = mutating(sim, "dynamodb")
    assert sorted(w["operation"] for w in writes) == ["PutItem"] * 3

    sim.clear_requests()
    again = play.run(tasks, diff=True)
    second = again.ok("store")
    assert second["changed"] is False and (second["added"], second["updated"], second["removed"]) == ([], [], [])
    assert second["diff"] == {"before": {}, "after": {}}
    assert_no_mutation(sim, "second drs_instance_pair run")
    assert second["pairs"] == stored and sorted(store.get_pairs(GROUP), key=lambda p: p["name"]) == stored
    assert store.get_lock(GROUP) == lock


def test_update_remove_and_purge(sim, play):
    store = state_tables(sim)
    store.acquire_lock(GROUP, "exec-running")
    lock = store.get_lock(GROUP)
    sim.clear_requests()
    run = play.run([
        pair_task("add", [pair(1), pair(2), pair(3)]),
        # web-01 gets another target and wave; web-03 loses source_private_ip; web-02 is given as it is
        pair_task("update", [pair(1, target_instance_id=iid(0x999), wave="2"), pair(2),
                             {k: v for k, v in pair(3).items() if k != "source_private_ip"}]),
        pair_task("remove_by_name", [{"name": " WEB-02"}], state="absent"),
        pair_task("remove_unknown", [{"source_server_id": sid(9)}, {"name": "ghost"}], state="absent"),
        dict(pair_task("purge_check", [pair(4)], purge=True), check_mode=True, diff=True),
        pair_task("purge", [pair(4)], purge=True),
        pair_task("purge_all", [], purge=True),
    ])
    added = run.ok("add")
    assert added["added"] == [sid(1), sid(2), sid(3)]
    created = {p["source_server_id"]: p["created_at"] for p in added["pairs"]}

    update = run.ok("update")
    assert update["changed"] is True and (update["added"], update["updated"], update["removed"]) == (
        [], [sid(1), sid(3)], [])
    after = by_id(update["pairs"])
    assert (after[sid(1)]["target_instance_id"], after[sid(1)]["wave"]) == (iid(0x999), 2)
    assert "source_private_ip" not in after[sid(3)]
    for n in (1, 3):
        assert after[sid(n)]["created_at"] == created[sid(n)] and after[sid(n)]["updated_at"] > created[sid(n)]
    assert after[sid(2)]["updated_at"] == created[sid(2)]  # unchanged pairs keep their timestamps

    removed = run.ok("remove_by_name")
    assert removed["changed"] is True and removed["removed"] == [sid(2)]
    assert sorted(by_id(removed["pairs"])) == [sid(1), sid(3)]
    unknown = run.ok("remove_unknown")
    assert unknown["changed"] is False and unknown["removed"] == []

    predicted = run.ok("purge_check")
    assert (predicted["added"], predicted["removed"]) == ([sid(4)], [sid(1), sid(3)])
    assert sorted(predicted["diff"]["before"]) == [sid(1), sid(3)] and sorted(predicted["diff"]["after"]) == [sid(4)]
    purged = run.ok("purge")
    assert (purged["added"], purged["updated"], purged["removed"]) == ([sid(4)], [], [sid(1), sid(3)])
    assert without_timestamps(purged["pairs"]) == without_timestamps(predicted["pairs"])
    everything = run.ok("purge_all")
    assert everything["removed"] == [sid(4)] and everything["pairs"] == []

    assert store.get_pairs(GROUP) == []
    assert store.get_lock(GROUP) == lock  # purging every pair leaves the lock alone
    writes = [w["operation"] for w in mutating(sim, "dynamodb")]
    # add 3 + update 2 + remove 1 + purge (1 put, 2 deletes) + purge_all 1; nothing from purge_check
    assert sorted(writes) == ["DeleteItem"] * 4 + ["PutItem"] * 6, writes


def test_refusals_come_before_any_write(sim, play):
    store = state_tables(sim)
    store.put_pair(dict(pair(1), protection_group=GROUP))
    store.acquire_lock(GROUP, "exec-running")
    before = (store.get_pairs(GROUP), store.get_lock(GROUP))
    sim.clear_requests()
    run = play.run([
        pair_task("bad_ids", [pair(2), pair(3, source_server_id="s-123", target_instance_id="instance-3")],
                  ignore_errors=True),
        pair_task("missing_target", [pair(2), {"name": "web-04", "source_server_id": sid(4)}], ignore_errors=True),
        pair_task("claimed_twice", [pair(2, target_instance_id=iid(0x101))], ignore_errors=True),
        pair_task("twice", [pair(2), pair(2)], ignore_errors=True),
        pair_task("other_group", [dict(pair(2), protection_group="other")], ignore_errors=True),
        pair_task("absent_without_key", [{"wave": 1}], state="absent", ignore_errors=True),
        pair_task("absent_lock", [{"source_server_id": "#LOCK"}], state="absent", ignore_errors=True),
        pair_task("purge_absent", [{"name": "web-01"}], state="absent", purge=True, ignore_errors=True),
        pair_task("bad_group", [pair(2)], protection_group="bad group!", ignore_errors=True),
        pair_task("no_table", [pair(2)], table_prefix="missing", ignore_errors=True),
    ])
    bad = run.failed("bad_ids")
    assert_names_and_remediation(bad, "pairs[1] (web-03)", "source_server_id 's-123' is not a source server ID",
                                 "target_instance_id 'instance-3' is not an instance ID", "Nothing was written")
    assert bad["error"]["server"] == "web-03" and bad["error"]["details"]["pairs"][0]["fields"] == [
        "source_server_id", "target_instance_id"]
    assert_names_and_remediation(run.failed("missing_target"), "pairs[1] (web-04)", "target_instance_id is required")
    assert_names_and_remediation(run.failed("claimed_twice"), iid(0x101), sid(1), sid(2), "purge=true")
    assert_names_and_remediation(run.failed("twice"), "more than one pair", sid(2))
    assert_names_and_remediation(run.failed("other_group"), "web-02", "'other' differs from the protection_group")
    assert_names_and_remediation(run.failed("absent_without_key"), "pairs[0]", "source_server_id or name")
    assert_names_and_remediation(run.failed("absent_lock"), "'#LOCK' is not a source server ID")
    assert_names_and_remediation(run.failed("purge_absent"), "purge=true only applies with state=present")
    assert_names_and_remediation(run.failed("bad_group"), "'bad group!'")
    assert_names_and_remediation(run.failed("no_table"), "missing-instance-pairs", "state_tables")
    assert_no_mutation(sim, "refused drs_instance_pair")
    assert (store.get_pairs(GROUP), store.get_lock(GROUP)) == before


def test_region_table_prefix_and_role_choose_the_state_tables(sim, play):
    own = state_tables(sim)
    alt = state_tables(sim, prefix="alt")
    recovery_account = state_tables(sim, account="222222222222")
    header = {"execution_id": "exec-xa", "protection_group": GROUP, "execution_type": "FAILOVER", "status": "RUNNING",
              "started_at": "2026-06-15T15:00:00.000Z"}
    recovery_account.put_execution(header)
    alt.put_execution(dict(header, execution_id="exec-alt"))
    sim.clear_requests()
    refused = play.run([
        pair_task("pair_without_id", [pair(1)], target_role_arn=ROLE_222, ignore_errors=True),
        drs("drs_execution_info", "info_without_id", execution_id="exec-xa", target_role_arn=ROLE_222,
            ignore_errors=True),
    ])
    for task in ("pair_without_id", "info_without_id"):
        assert_names_and_remediation(refused.failed(task), ROLE_222, "ExternalId", "require_external_id=false")
    assert sim.requests() == []  # refused before any call, STS included

    run = play.run([
        pair_task("own", [pair(1)]),
        pair_task("alt", [pair(2)], table_prefix="alt"),
        pair_task("role", [pair(3)], **ROLE),
        pair_task("role_without_id", [pair(3)], target_role_arn=ROLE_222, require_external_id=False),
        pair_task("primary_region", [pair(1)], region=PRIMARY, ignore_errors=True),
        drs("drs_execution_info", "info_role", execution_id="exec-xa", **ROLE),
        drs("drs_execution_info", "info_role_without_id", execution_id="exec-xa", target_role_arn=ROLE_222,
            require_external_id=False),
        drs("drs_execution_info", "info_own", execution_id="exec-xa"),
        drs("drs_execution_info", "info_alt", execution_id="exec-alt", table_prefix="alt"),
        drs("drs_execution_info", "info_primary_region", execution_id="exec-xa", region=PRIMARY, ignore_errors=True),
    ])
    assert run.ok("own")["added"] == [sid(1)] and run.ok("alt")["added"] == [sid(2)]
    assert run.ok("role")["added"] == [sid(3)] and run.ok("role_without_id")["changed"] is False
    assert [p["source_server_id"] for p in own.get_pairs(GROUP)] == [sid(1)]
    assert [p["source_server_id"] for p in alt.get_pairs(GROUP)] == [sid(2)]
    assert [p["source_server_id"] for p in recovery_account.get_pairs(GROUP)] == [sid(3)]
    assert_names_and_remediation(run.failed("primary_region"), "drs-orchestration-instance-pairs")
    writes = mutating(sim, "dynamodb")
    assert sorted((w["account"], w["region"]) for w in writes) == [
        ("123456789012", "us-west-2"), ("123456789012", "us-west-2"), ("222222222222", "us-west-2")]

    for task in ("info_role", "info_role_without_id"):
        info = run.ok(task)
        assert info["found"] is True and info["execution"]["execution_id"] == "exec-xa"
    assert run.ok("info_own")["found"] is False  # no such execution in the orchestrator's own account
    assert run.ok("info_alt")["execution"]["execution_id"] == "exec-alt"
    assert_names_and_remediation(run.failed("info_primary_region"), "drs-orchestration-executions")
    assert any(c["operation"] == "AssumeRole" for c in sim.requests(service="sts"))


def test_match_uses_stored_pairs_and_explicit_overrides_win(sim, play):
    # db-01's target is named db-01-dr: tags alone cannot pair it
    summary = sim.load_estate(small_estate(4, 1, **{"db-01": {"target": {"tags": {"Name": "db-01-dr"}}}}))
    servers = summary["servers"]
    s1, s2, s3 = (servers[n]["source_server_id"] for n in ("db-01", "db-02", "db-03"))
    t1, t2, t3, t4 = (servers[n]["target_instance_id"] for n in ("db-01", "db-02", "db-03", "db-04"))
    store = state_tables(sim)
    alt = state_tables(sim, prefix="alt")
    alt.put_pair({"protection_group": GROUP, "name": "db-01", "source_server_id": s1, "target_instance_id": t4})
    store.acquire_lock(GROUP, "exec-running")
    selected = ["db-01", "db-02", "db-03"]
    run = play.run([
        drs("drs_instance_match", "tags_only", names=selected),
        pair_task("pin", [{"name": "db-01", "source_server_id": s1, "target_instance_id": t1},
                          {"name": "db-02", "source_server_id": s2, "target_instance_id": t2}]),
        drs("drs_instance_match", "with_group", names=selected, protection_group=GROUP, register="matched"),
        drs("drs_instance_match", "explicit_by_name", names=["db-01", "db-02"], protection_group=GROUP,
            overrides={" DB-02": t4}),
        drs("drs_instance_match", "explicit_by_id", names=["db-01"], protection_group=GROUP, overrides={s1: t4}),
        drs("drs_instance_match", "alt_prefix", names=["db-01"], protection_group=GROUP, table_prefix="alt"),
        drs("drs_instance_match", "no_group", names=["db-01"], protection_group="nothing-stored"),
        drs("drs_instance_match", "bad_group", protection_group="bad group!", ignore_errors=True),
        # storing the matched pairs: db-03 is new, db-01/db-02 gain the fields the match found
        pair_task("store_back", "{{ matched.pairs }}"),
        # match (every pair from the table now) -> store again: nothing changes
        drs("drs_instance_match", "rematch", names=selected, protection_group=GROUP, register="rematched"),
        pair_task("store_again", "{{ rematched.pairs }}"),
    ])
    tags_only = run.ok("tags_only")
    assert [u["name"] for u in tags_only["unmatched"]] == ["db-01"]

    with_group = run.ok("with_group")
    assert {p["name"]: (p["target_instance_id"], p["matched_by"]) for p in with_group["pairs"]} == {
        "db-01": (t1, "stored_pair"), "db-02": (t2, "stored_pair"), "db-03": (t3, "tag")}
    assert with_group["unmatched"] == with_group["invalid"] == with_group["ambiguous"] == []

    by_name = run.ok("explicit_by_name")
    assert {p["name"]: (p["target_instance_id"], p["matched_by"]) for p in by_name["pairs"]} == {
        "db-01": (t1, "stored_pair"), "db-02": (t4, "override")}
    by_id_result = run.ok("explicit_by_id")
    assert [(p["target_instance_id"], p["matched_by"]) for p in by_id_result["pairs"]] == [(t4, "override")]
    alt_prefix = run.ok("alt_prefix")
    assert [(p["target_instance_id"], p["matched_by"]) for p in alt_prefix["pairs"]] == [(t4, "stored_pair")]
    assert [u["name"] for u in run.ok("no_group")["unmatched"]] == ["db-01"]
    assert_names_and_remediation(run.failed("bad_group"), "'bad group!'")

    back = run.ok("store_back")
    assert (back["added"], back["updated"], back["removed"]) == ([s3], [s1, s2] if s1 < s2 else [s2, s1], [])
    stored = by_id(store.get_pairs(GROUP))
    assert stored[s3]["matched_by"] == "tag" and "matched_by" not in stored[s1]  # stored_pair is not stored
    assert stored[s1]["source_private_ip"] == servers["db-01"]["source_private_ip"] and stored[s1]["wave"] == 1
    rematched = run.ok("rematch")
    assert {p["matched_by"] for p in rematched["pairs"]} == {"stored_pair"} and len(rematched["pairs"]) == 3
    again = run.ok("store_again")
    assert again["changed"] is False and (again["added"], again["updated"], again["removed"]) == ([], [], [])
    assert store.get_lock(GROUP)["holder"] == "exec-running"
