# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The steps of a failback wave, each a function of (connections, params, check_mode, diff) with the options and
result its module documents: the failback engine (failback_engine) runs them in order in one process, and each
module (drs_failback_info, drs_ip_validate, drs_failback_targets, drs_agent_install, drs_launch_template,
drs_reverse_replication, drs_failback_standby) is a thin face of one. A step that fails raises StepFailed with the
error and the result its module returns with the failure."""

from ansible_collections.elasticdr.orchestration.plugins.module_utils.agent import AgentInstaller
from ansible_collections.elasticdr.orchestration.plugins.module_utils.agent import SSMClient
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import AgentInstallationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import PrivateIPMismatchError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ReplicationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import StepFailed
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ValidationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback import ReverseReplication
from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback_standby import RecoveryRegionStandby
from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback_wave import FailbackFinder
from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback_wave import OriginalInstances
from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback_wave import pairs_of
from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback_wave import views
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ip_validation import capture
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ip_validation import check
from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import LaunchSettings
from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import choose_template
from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import plan_template

TAG = "AWSDRS"


def find_failback(connections, params, check_mode=False, diff=False):
    store = connections.state_store(params["table_prefix"]) if params["failover_execution_id"] else None
    found = FailbackFinder(connections.recovery_drs(), store).find(
        params["names"], params["failover_execution_id"], params["protection_group"])
    result = dict(changed=False, **found, **views(found["servers"]))
    if found["problems"]:
        problems = found["problems"]
        error = ValidationError(
            f"{len(problems)} of {len(params['names'])} server(s) cannot fail back: "
            + "; ".join(f"{p['name']}: {p['reason']}" for p in problems),
            server=", ".join(p["name"] for p in problems),
            remediation=" ".join(dict.fromkeys(p["error"]["remediation"] for p in problems)),
            details={"problems": problems})
        raise StepFailed(error, result)
    return result


def prepare_originals(connections, params, check_mode=False, diff=False):
    drs = connections.recovery_drs() if params["require_failback_servers"] else None
    originals = OriginalInstances(connections.recovery_ec2(), drs)
    try:
        entries = originals.plan(params["servers"], tag=params["tag"],
                                 require_failback_servers=params["require_failback_servers"],
                                 check_mode=check_mode)
    except ValidationError as error:
        servers = error.details.pop("servers", [])
        raise StepFailed(error, dict(changed=False, servers=servers, tagged=[], pairs=[],
                         unpaired=[], original_instance_ids=[]))
    tagged = [e["instance_id"] for e in entries if e.get("to_tag")]
    if not check_mode:
        originals.apply(entries)
    pairs, unpaired = pairs_of(entries, check_mode=check_mode) if params["require_failback_servers"] else ([], [])
    result = {"changed": bool(tagged), "servers": entries, "tagged": tagged, "pairs": pairs, "unpaired": unpaired,
              "original_instance_ids": [p["target_instance_id"] for p in pairs]}
    if diff:
        value = "AllowLaunchingIntoThisInstance"
        result["diff"] = {
            "before": {e["instance_id"]: {TAG: value if e.get("tagged_before") else None} for e in entries},
            "after": {e["instance_id"]: {TAG: value} for e in entries},
        }
    return result


def install_agents(connections, params, check_mode=False, diff=False):
    if params["wait_timeout"] <= 0 or params["poll_interval"] <= 0:
        raise ConfigurationError("wait_timeout and poll_interval must be > 0.")
    ssm = SSMClient(connections.client("ssm"))
    installer = AgentInstaller(ssm, connections.recovery_ec2(), connections.region)
    entries = installer.plan(params["servers"])
    if check_mode:
        return {"changed": bool(entries), "servers": entries, "installed": [], "failed": [], "timed_out": False,
                "errors": []}
    installer.send(entries, params["wait_timeout"])
    timed_out = installer.wait(entries, params["wait_timeout"], params["poll_interval"])
    errors = [e["error"] for e in entries if e.get("error")]
    result = {
        "changed": any(e.get("command_id") for e in entries), "servers": entries,
        "installed": [e["instance_id"] for e in entries if e.get("status") == "Success"],
        "failed": [e["instance_id"] for e in entries if e.get("error")], "timed_out": timed_out, "errors": errors,
    }
    if errors:
        summary = AgentInstallationError(
            f"DRS agent installation failed on {len(errors)} of {len(entries)} instance(s): "
            + " ".join(f"[{e['message']} Remediation: {e['remediation']}]" for e in errors),
            server=", ".join(e["server"] for e in errors), remediation="See each instance's remediation above.",
            details={"errors": errors})
        raise StepFailed(summary, result)
    return result


def configure_launch_template(connections, params, check_mode=False, diff=False):
    settings = LaunchSettings(launch_disposition=params["launch_disposition"], right_sizing=params["right_sizing"])
    settings.validate()
    drs = connections.recovery_drs()
    template = choose_template(drs.describe_launch_configuration_templates(), params["template_id"], connections.region)
    changes, before, after = plan_template(template, settings)
    template_id = template["launchConfigurationTemplateID"]
    result_template = dict(template, **changes)
    if changes and not check_mode:
        result_template = drs.update_launch_configuration_template(template_id, changes) or result_template
    result = {"changed": bool(changes), "changes": changes, "template": result_template}
    if diff:
        result["diff"] = {"before": before, "after": after}
    return result


def reverse_replication(connections, params, check_mode=False, diff=False):
    workflow = ReverseReplication(connections.recovery_drs(), connections.source_drs())
    entries = workflow.plan(params["recovery_instance_ids"], params["execution_id"], params["wave"])
    if check_mode:
        started = [e["recovery_instance_id"] for e in entries if e["needs_start"]]
        workflow.observe(entries, params["lag_threshold"])
        return {"changed": bool(started), "servers": entries, "started": started, "created": [],
                "all_ready": all(e["ready"] for e in entries), "timed_out": False}
    started = workflow.start(entries)
    created = [e["reversed_source_server_id"] for e in entries if e.get("created")]
    timed_out = False
    if params["wait"]:
        entries, timed_out, _polls = workflow.wait(entries, params["lag_threshold"], params["wait_timeout"],
                                                   params["poll_interval"])
    else:
        workflow.observe(entries, params["lag_threshold"])
    result = {"changed": bool(started), "servers": entries, "started": started, "created": created,
              "all_ready": all(e["ready"] for e in entries), "timed_out": timed_out}
    if timed_out:
        late = [e for e in entries if not e["ready"]]
        error = ReplicationError(
            f"{len(late)} failback server(s) not ready after {params['wait_timeout']} s: "
            + ", ".join(f"{e['recovery_instance_id']} ({e['replication_state']}, lag {e['lag_seconds']})" for e in late[:10]),
            server=late[0]["recovery_instance_id"],
            remediation="Reverse replication keeps going: rerun to wait again, or raise wait_timeout. A STALLED "
                        "server needs its network path to the staging area in the origin region fixed.")
        raise StepFailed(error, result)
    return result


def return_to_standby(connections, params, check_mode=False, diff=False):
    primary_drs = connections.source_drs() if params["stop_replication"] else None
    standby_ = RecoveryRegionStandby(primary_drs, connections.recovery_ec2())
    try:
        entries = standby_.plan(params["servers"], stop_replication=params["stop_replication"],
                                stop_instances=params["stop_instances"])
    except ValidationError as error:
        servers = error.details.pop("servers", [])
        raise StepFailed(error, dict(changed=False, servers=servers,
                         replication_stopped=[], instances_stopped=[]))
    if check_mode:
        replication = [e["failback_source_server_id"] for e in entries if "stop_replication" in e["actions"]]
        stopped = [e["recovery_instance_id"] for e in entries if "stop_instance" in e["actions"]]
    else:
        replication, stopped = standby_.apply(entries)
    return {"changed": bool(replication or stopped), "servers": entries, "replication_stopped": replication,
            "instances_stopped": stopped}


def check_private_ips(connections, params, check_mode=False, diff=False):
    pairs = []
    for item in params["servers"]:
        instance_id = item.get("instance_id") or item.get("recovery_instance_id") or item.get("target_instance_id")
        if not instance_id:
            raise ConfigurationError("Every entry of servers needs instance_id (or recovery_instance_id or "
                                     "target_instance_id).", server=item.get("name") or item.get("source_server_id"))
        pairs.append(dict(item, instance_id=instance_id))
    ec2 = connections.recovery_ec2()
    if params["capture_only"]:
        actual = capture(ec2, [p["instance_id"] for p in pairs])
        results = [{"name": p.get("name"), "source_server_id": p.get("source_server_id"), "instance_id": p["instance_id"],
                    "actual_ip": actual.get(p["instance_id"])} for p in pairs]
        return {"changed": False, "results": results, "mismatches": [], "preservation_rate": None, "captured": actual}
    result = dict(check(ec2, pairs, params["expect"]), changed=False)
    results, mismatches = result["results"], result["mismatches"]
    if mismatches and params["fail_on_mismatch"]:
        first = mismatches[0]["error"]
        error = PrivateIPMismatchError(
            f"{len(mismatches)} of {len(results)} instance(s) did not keep the expected private IP; first: "
            f"{first['message']}", server=first["server"], expected_ip=first["details"]["expected_ip"],
            actual_ip=first["details"]["actual_ip"])
        raise StepFailed(error, result)
    return result
