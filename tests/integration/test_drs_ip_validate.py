"""drs_ip_validate against the simulator: capture, expect target/source/both, mismatches with
PrivateIPMismatchError details, fail_on_mismatch=false, and bad input. (The check after a real recovery is in
test_drs_recovery.py::test_recovery_end_to_end_check_mode_and_adoption.)"""
from simlib import small_estate

from .helpers import assert_names_and_remediation, assert_no_mutation, drs

MISSING_INSTANCE = "i-0123456789abcdef0"


def test_ip_validation(sim, play):
    # db-01's target has another private IP than its source; db-02 and db-03 keep theirs
    summary = sim.load_estate(small_estate(3, 1, **{"db-01": {"target": {"private_ip": "10.10.0.50"}}}))
    servers = summary["servers"]
    pairs = [{"name": n, "source_server_id": s["source_server_id"], "target_instance_id": s["target_instance_id"],
              "target_private_ip": s["target_private_ip"], "source_private_ip": s["source_private_ip"]}
             for n, s in sorted(servers.items())]
    db1, db2, db3 = pairs
    run = play.run([
        drs("drs_ip_validate", "capture", capture_only=True,
            servers=[{"name": p["name"], "instance_id": p["target_instance_id"]} for p in pairs]),
        drs("drs_ip_validate", "target", servers=pairs, expect="target"),
        drs("drs_ip_validate", "source_ok", servers=[db2, db3], expect="source"),
        drs("drs_ip_validate", "source_mismatch", servers=pairs, expect="source", ignore_errors=True),
        drs("drs_ip_validate", "report_only", servers=pairs, expect="source", fail_on_mismatch=False),
        drs("drs_ip_validate", "both", servers=pairs, expect="both", ignore_errors=True),
        drs("drs_ip_validate", "both_ok", servers=[db2, db3], expect="both"),
        # the instance may be named by recovery_instance_id; a missing instance is a mismatch
        drs("drs_ip_validate", "by_recovery_id", expect="target", fail_on_mismatch=False, servers=[
            {"name": "db-02", "recovery_instance_id": db2["target_instance_id"],
             "target_private_ip": db2["target_private_ip"]},
            {"name": "gone", "recovery_instance_id": MISSING_INSTANCE, "target_private_ip": "10.10.0.77"}]),
        drs("drs_ip_validate", "no_expected_ip", expect="source", ignore_errors=True,
            servers=[{"name": "db-02", "instance_id": db2["target_instance_id"]}]),
        drs("drs_ip_validate", "no_instance", ignore_errors=True, servers=[{"name": "nowhere", "target_private_ip": "10.0.0.1"}]),
    ])
    capture = run.ok("capture")
    assert capture["captured"] == {p["target_instance_id"]: p["target_private_ip"] for p in pairs}
    assert capture["captured"][db1["target_instance_id"]] == "10.10.0.50"
    assert capture["preservation_rate"] is None and capture["mismatches"] == []
    assert [r["actual_ip"] for r in capture["results"]] == ["10.10.0.50", "10.10.0.12", "10.10.0.13"]

    target = run.ok("target")
    assert target["preservation_rate"] == 100.0 and target["mismatches"] == []
    assert all(r["preserved"] for r in target["results"])
    assert run.ok("source_ok")["preservation_rate"] == 100.0

    mismatch = run.failed("source_mismatch")
    assert_names_and_remediation(mismatch, "1 of 3", "db-01", "10.10.0.11", "10.10.0.50")
    assert mismatch["error"]["error"] == "PrivateIPMismatchError"
    assert mismatch["error"]["server"] == "db-01"
    assert mismatch["error"]["details"] == {"expected_ip": "10.10.0.11", "actual_ip": "10.10.0.50"}
    assert [m["name"] for m in mismatch["mismatches"]] == ["db-01"]
    detail = mismatch["mismatches"][0]["error"]
    assert detail["details"]["instance_id"] == db1["target_instance_id"] and detail["details"]["expected_from"] == "source"

    report = run.ok("report_only")
    assert [m["name"] for m in report["mismatches"]] == ["db-01"]
    assert report["preservation_rate"] == 66.67
    assert [r["preserved"] for r in report["results"]] == [False, True, True]

    both = run.failed("both")
    assert both["mismatches"][0]["error"]["details"]["expected_from"] == "source"
    assert run.ok("both_ok")["preservation_rate"] == 100.0

    by_recovery_id = run.ok("by_recovery_id")
    assert [r["preserved"] for r in by_recovery_id["results"]] == [True, False]
    assert by_recovery_id["results"][1]["actual_ip"] is None
    assert "was not found" in by_recovery_id["mismatches"][0]["error"]["message"]

    assert_names_and_remediation(run.failed("no_expected_ip"), "No expected source private IP for db-02")
    assert_names_and_remediation(run.failed("no_instance"), "nowhere", "instance_id")
    assert_no_mutation(sim, "drs_ip_validate only reads")
