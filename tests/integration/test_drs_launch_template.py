"""drs_launch_template against the simulator, and drs_launch_config's from_template: check mode and --diff predict
the change of the primary region's launch configuration template, a second run changes nothing; the FAILBACK
servers a reverse replication creates afterwards launch into their originals with no launch configuration call of
their own; every refusal comes before any change."""
from simlib import PRIMARY, small_estate

from .helpers import (assert_names_and_remediation, assert_no_mutation, drs, launch_config, launch_into_id, mutating,
                      operations)
from .test_drs_reverse_replication import _recover

UNKNOWN_TEMPLATE = "lct-0000000000000000a"


def _templates(sim):
    return sim.client("drs", region=PRIMARY).describe_launch_configuration_templates()["items"]


def _failback_pairs(reversed_result):
    """The pairs drs_failback_targets would give: each FAILBACK server with its original instance."""
    return [{"source_server_id": e["reversed_source_server_id"], "target_instance_id": e["original_instance_id"],
             "name": e["original_source_server_id"]} for e in reversed_result["servers"]]


def test_template_check_diff_apply_idempotent_then_failback_servers_need_no_call(sim, play):
    summary = sim.load_estate(small_estate(2, 1))
    _recover(play, summary)
    targets = [s["target_instance_id"] for s in summary["servers"].values()]
    (before,) = _templates(sim)
    assert before["launchIntoSourceInstance"] is False and before["targetInstanceTypeRightSizingMethod"] == "BASIC"

    sim.clear_requests()
    check = play.run([drs("drs_launch_template", "template", region=PRIMARY, launch_disposition="STOPPED",
                          right_sizing="BASIC")], check=True, diff=True)
    predicted = check.ok("template")
    assert predicted["changed"] is True
    # right_sizing=BASIC is what the template has: only the other fields would change
    assert predicted["changes"] == {"launchIntoSourceInstance": True, "launchDisposition": "STOPPED"}
    assert predicted["diff"]["before"]["launchIntoSourceInstance"] is False
    assert predicted["diff"]["after"]["launchIntoSourceInstance"] is True
    assert predicted["template"]["launchConfigurationTemplateID"] == before["launchConfigurationTemplateID"]
    assert_no_mutation(sim, "drs_launch_template --check")
    assert _templates(sim) == [before]

    run = play.run([
        drs("drs_launch_template", "template", region=PRIMARY, register="template"),
        drs("drs_launch_template", "again", region=PRIMARY),
        drs("drs_reverse_replication", "reverse", recovery_instance_ids=targets, poll_interval=0.2),
    ])
    applied = run.ok("template")
    assert applied["changed"] is True and applied["changes"] == {"launchIntoSourceInstance": True,
                                                                 "targetInstanceTypeRightSizingMethod": "NONE"}
    (after,) = _templates(sim)
    assert after["launchIntoSourceInstance"] is True and after["targetInstanceTypeRightSizingMethod"] == "NONE"
    assert after["copyPrivateIp"] is False and after["copyTags"] is False and after["launchDisposition"] == "STARTED"
    assert applied["template"]["launchIntoSourceInstance"] is True
    assert run.ok("again")["changed"] is False and run.ok("again")["changes"] == {}
    assert len(operations(sim, "UpdateLaunchConfigurationTemplate")) == 1

    reversed_result = run.ok("reverse")
    assert sorted(reversed_result["created"]) == sorted(e["reversed_source_server_id"]
                                                        for e in reversed_result["servers"])
    pairs = _failback_pairs(reversed_result)

    # The FAILBACK servers were created from the template: their configuration is known without reading it.
    sim.clear_requests()
    stopped_task = drs("drs_launch_config", "stopped", region=PRIMARY, servers=pairs, template=applied["template"],
                       from_template=reversed_result["created"], launch_disposition="STOPPED",
                       validate_targets=False)
    stopped_task["check_mode"] = True
    configured = play.run([
        drs("drs_launch_config", "configure", region=PRIMARY, servers=pairs, template=applied["template"],
            from_template=reversed_result["created"], validate_targets=False),
        stopped_task,
    ])
    result = configured.ok("configure")
    assert result["changed"] is False and all(e["from_template"] and not e["changes"] for e in result["servers"])
    stopped = configured.ok("stopped")  # a setting the template does not give is still sent
    assert all(e["changes"] == {"launchDisposition": "STOPPED"} for e in stopped["servers"])
    assert sim.requests(service="drs", operation="GetLaunchConfiguration") == []
    assert mutating(sim) == []
    # and the template's configuration is what DRS really gave them: launch into the originals
    for pair in pairs:
        config = launch_config(sim, pair["source_server_id"], region=PRIMARY)
        assert launch_into_id(config) == pair["target_instance_id"]
        assert config["copyPrivateIp"] is False and config["targetInstanceTypeRightSizingMethod"] == "NONE"

    # Without from_template each server is read, and the answer is the same. (The originals are not tagged as
    # launch-into targets here, which drs_failback_targets does in failback.yml: validate_targets is off.)
    sim.clear_requests()
    read = play.run([drs("drs_launch_config", "read", region=PRIMARY, servers=pairs,
                         validate_targets=False)]).ok("read")
    assert read["changed"] is False and not any(e["from_template"] for e in read["servers"])
    assert len(sim.requests(service="drs", operation="GetLaunchConfiguration")) == len(pairs)


def test_refusals_come_before_any_change(sim, play):
    summary = sim.load_estate(small_estate(1, 1))
    server = next(iter(summary["servers"].values()))
    pair = {"source_server_id": server["source_server_id"], "target_instance_id": server["target_instance_id"]}
    (template,) = _templates(sim)
    sim.clear_requests()
    run = play.run([
        drs("drs_launch_template", "unknown", region=PRIMARY, template_id=UNKNOWN_TEMPLATE, ignore_errors=True),
        drs("drs_launch_config", "not_in_servers", servers=[pair], template=template,
            from_template=["s-0000000000000000b"], ignore_errors=True),
        drs("drs_launch_config", "no_template", servers=[pair], from_template=[pair["source_server_id"]],
            ignore_errors=True),
        drs("drs_launch_config", "absent", servers=[pair], template=template, state="absent",
            from_template=[pair["source_server_id"]], ignore_errors=True),
    ])
    assert_names_and_remediation(run.failed("unknown"), UNKNOWN_TEMPLATE, template["launchConfigurationTemplateID"])
    assert_names_and_remediation(run.failed("not_in_servers"), "s-0000000000000000b", "from_template")
    assert_names_and_remediation(run.failed("no_template"), pair["source_server_id"], "drs_launch_template")
    assert_names_and_remediation(run.failed("absent"), pair["source_server_id"], "state=absent")
    assert_no_mutation(sim, "refused drs_launch_template / from_template")
    assert _templates(sim) == [template]
