"""drs_launch_config against the simulator: check mode and --diff predict exactly what a real run does, a
second run changes nothing, every option lands in the DRS launch configuration, and every refusal comes
before any change."""
from simlib import small_estate

from .helpers import (assert_names_and_remediation, assert_no_mutation, drs, launch_config, launch_into_id, mutating,
                      operations, pairs_of)

MISSING_INSTANCE = "i-0123456789abcdef0"
UNKNOWN_SERVER = "s-0000000000000000a"


def test_check_diff_apply_idempotent(sim, play):
    summary = sim.load_estate(small_estate(3, 1))
    servers = summary["servers"]
    before = {n: launch_config(sim, s["source_server_id"]) for n, s in servers.items()}
    assert all(launch_into_id(c) is None for c in before.values())
    tasks = [drs("drs_instance_match", "match", register="match"),
             drs("drs_launch_config", "configure", servers="{{ match.pairs }}")]

    sim.clear_requests()
    check = play.run(tasks, check=True, diff=True)
    predicted = check.ok("configure")
    assert predicted["changed"] is True and predicted["changed_count"] == 3
    assert_no_mutation(sim, "drs_launch_config --check")
    for name, server in servers.items():
        sid, target = server["source_server_id"], server["target_instance_id"]
        assert launch_into_id(launch_config(sim, sid)) is None  # nothing changed
        assert predicted["diff"]["before"][sid]["launchIntoInstanceProperties"] == {}
        assert predicted["diff"]["after"][sid]["launchIntoInstanceProperties"] == {"launchIntoEC2InstanceID": target}
        assert predicted["diff"]["after"][sid]["copyPrivateIp"] is False
        entry = next(e for e in predicted["servers"] if e["source_server_id"] == sid)
        assert entry["name"] == name and entry["changed"] is True
        assert entry["changes"]["launchIntoInstanceProperties"] == {"launchIntoEC2InstanceID": target}
        assert target in check.stdout  # --diff is shown to the operator
    assert "launchIntoEC2InstanceID" in check.stdout

    applied = play.run(tasks + [drs("drs_launch_config", "again", servers="{{ match.pairs }}")])
    first = applied.ok("configure")
    assert first["changed"] is True and first["changed_count"] == 3
    assert "diff" not in first  # only with --diff
    for sid in (s["source_server_id"] for s in servers.values()):
        entry = next(e for e in first["servers"] if e["source_server_id"] == sid)
        predicted_entry = next(e for e in predicted["servers"] if e["source_server_id"] == sid)
        assert entry["changes"] == predicted_entry["changes"]  # check mode predicted the real change
    for server in servers.values():
        config = launch_config(sim, server["source_server_id"])
        assert launch_into_id(config) == server["target_instance_id"]
        assert config["copyPrivateIp"] is False and config["copyTags"] is False
        assert config["targetInstanceTypeRightSizingMethod"] == "NONE"
        assert config["launchDisposition"] == "STARTED"
    second = applied.ok("again")
    assert second["changed"] is False and second["changed_count"] == 0
    assert all(not e["changes"] for e in second["servers"])
    # one UpdateLaunchConfiguration per server in all: the second run made no mutating call
    updates = operations(sim, "UpdateLaunchConfiguration")
    assert sorted(u["status"] for u in updates) == [200, 200, 200]
    assert len(mutating(sim)) == 3


def test_every_setting_lands_in_the_launch_configuration(sim, play):
    summary = sim.load_estate(small_estate(3, 1, **{"db-03": {"target": {"tag": False}}}))
    db1, db2, db3 = pairs_of(summary)
    run = play.run([
        drs("drs_launch_config", "full", servers=[db1], launch_disposition="STOPPED", right_sizing="IN_AWS",
            os_byol=True, post_launch_enabled=True),
        # omitted os_byol / post_launch_enabled keep what is set: nothing to change
        drs("drs_launch_config", "keep", servers=[db1], launch_disposition="STOPPED", right_sizing="IN_AWS"),
        drs("drs_launch_config", "byol_off", servers=[db1], launch_disposition="STOPPED", right_sizing="IN_AWS",
            os_byol=False),
        drs("drs_launch_config", "present", servers=[db2]),
        # state=absent clears launch-into; copy_private_ip / copy_tags are allowed then
        drs("drs_launch_config", "absent", servers=[{"source_server_id": db2["source_server_id"]}], state="absent",
            copy_private_ip=True, copy_tags=True, right_sizing="BASIC"),
        drs("drs_launch_config", "validated", servers=[db3], ignore_errors=True),
        drs("drs_launch_config", "unvalidated", servers=[db3], validate_targets=False),
    ])
    full = run.ok("full")
    assert full["changed"] is True
    assert set(full["servers"][0]["changes"]) >= {"launchDisposition", "targetInstanceTypeRightSizingMethod",
                                                  "licensing", "postLaunchEnabled", "launchIntoInstanceProperties"}
    keep = run.ok("keep")
    assert keep["changed"] is False, keep["servers"][0]["changes"]
    byol_off = run.ok("byol_off")
    assert byol_off["servers"][0]["changes"] == {"licensing": {"osByol": False}}

    config = launch_config(sim, db1["source_server_id"])
    assert config["launchDisposition"] == "STOPPED"
    assert config["targetInstanceTypeRightSizingMethod"] == "IN_AWS"
    assert config["licensing"] == {"osByol": False}
    assert config["postLaunchEnabled"] is True
    assert launch_into_id(config) == db1["target_instance_id"]

    assert run.ok("present")["changed"] is True
    absent = run.ok("absent")
    assert absent["changed"] is True
    assert absent["servers"][0]["before"]["launchIntoInstanceProperties"] == {
        "launchIntoEC2InstanceID": db2["target_instance_id"]}
    config = launch_config(sim, db2["source_server_id"])
    assert launch_into_id(config) is None
    assert config["copyPrivateIp"] is True and config["copyTags"] is True
    assert config["targetInstanceTypeRightSizingMethod"] == "BASIC"

    validated = run.failed("validated")
    assert_names_and_remediation(validated, "db-03", db3["target_instance_id"], "AWSDRS=AllowLaunchingIntoThisInstance")
    unvalidated = run.ok("unvalidated")
    assert unvalidated["changed"] is True
    assert launch_into_id(launch_config(sim, db3["source_server_id"])) == db3["target_instance_id"]


def test_refusals_come_before_any_change(sim, play):
    summary = sim.load_estate(small_estate(3, 1, **{"db-03": {"target": {"tag": False}}}))
    db1, db2, db3 = pairs_of(summary)
    run = play.run([
        drs("drs_launch_config", "copy_ip", servers=[db1, db2], copy_private_ip=True, ignore_errors=True),
        drs("drs_launch_config", "copy_tags", servers=[db1], copy_tags=True, ignore_errors=True),
        drs("drs_launch_config", "unknown", servers=[db1, {"source_server_id": UNKNOWN_SERVER,
                                                           "target_instance_id": db2["target_instance_id"]}],
            ignore_errors=True),
        drs("drs_launch_config", "untagged", servers=[db1, db3], ignore_errors=True),
        drs("drs_launch_config", "missing_target", servers=[db1, dict(db2, target_instance_id=MISSING_INSTANCE)],
            ignore_errors=True),
        drs("drs_launch_config", "duplicate", servers=[db1, db2, db1], ignore_errors=True),
        drs("drs_launch_config", "claimed_twice", servers=[db1, dict(db2, target_instance_id=db1["target_instance_id"])],
            ignore_errors=True),
        drs("drs_launch_config", "no_target", servers=[db1, {"source_server_id": db2["source_server_id"], "name": "db-02"}],
            ignore_errors=True),
        drs("drs_launch_config", "no_id", servers=[{"name": "nameless", "target_instance_id": db1["target_instance_id"]}],
            ignore_errors=True),
    ])
    assert_names_and_remediation(run.failed("copy_ip"), "copy_private_ip=true", "launch into an existing instance")
    assert_names_and_remediation(run.failed("copy_tags"), "copy_tags=true")
    unknown = run.failed("unknown")
    assert_names_and_remediation(unknown, UNKNOWN_SERVER, "recovery region")
    assert unknown["error"]["server"] == UNKNOWN_SERVER
    untagged = run.failed("untagged")
    assert_names_and_remediation(untagged, "db-03", db3["target_instance_id"], "lacks AWSDRS=AllowLaunchingIntoThisInstance")
    assert untagged["error"]["server"] == "db-03"
    assert_names_and_remediation(run.failed("missing_target"), "db-02", MISSING_INSTANCE, "does not exist")
    assert_names_and_remediation(run.failed("duplicate"), "more than once", db1["source_server_id"])
    claimed = run.failed("claimed_twice")
    assert_names_and_remediation(claimed, db1["target_instance_id"], "own target instance")
    assert_names_and_remediation(run.failed("no_target"), "No target_instance_id for db-02", "state=absent")
    assert_names_and_remediation(run.failed("no_id"), "nameless", "source_server_id")
    assert_no_mutation(sim, "refused drs_launch_config")
    for server in (db1, db2, db3):
        assert launch_into_id(launch_config(sim, server["source_server_id"])) is None
