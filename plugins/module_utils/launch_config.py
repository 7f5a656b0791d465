# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Planning DRS launch configurations for launch into an existing instance.

Planning (what should change) is separate from doing (DRSClient.update_launch_configuration), so check
mode and --diff fall out of the plan. Rules, docs/DRS_BEHAVIOUR.md section 4: copyPrivateIp and copyTags must be
off when launchIntoEC2InstanceID is set (IP preservation comes from the target's own network interface);
right-sizing NONE keeps DRS from rewriting the instance type.
"""

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.elasticdr.orchestration.plugins.module_utils.drs import launch_into_target
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import has_launch_into_tag
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ValidationError

LAUNCH_DISPOSITIONS = ("STARTED", "STOPPED")
RIGHT_SIZING_METHODS = ("NONE", "BASIC", "IN_AWS")
# Get/UpdateLaunchConfiguration take one server each. A few calls in flight keep the configuration of a large
# wave short, far below DRS's request rate; a throttled call is retried with backoff by the client.
CONCURRENT_CALLS = 4
# Fields of a launch configuration the collection manages, and how they compare.
MANAGED_FIELDS = ("launchDisposition", "targetInstanceTypeRightSizingMethod", "copyPrivateIp", "copyTags",
                  "licensing", "postLaunchEnabled", "launchIntoInstanceProperties")


class LaunchSettings:
    """The launch settings wanted for every server of one drs_launch_config call."""

    def __init__(self, launch_into=True, launch_disposition="STARTED", right_sizing="NONE", copy_private_ip=False,
                 copy_tags=False, os_byol=None, post_launch_enabled=None):
        self.launch_into = launch_into
        self.launch_disposition = launch_disposition
        self.right_sizing = right_sizing
        self.copy_private_ip = copy_private_ip
        self.copy_tags = copy_tags
        self.os_byol = os_byol
        self.post_launch_enabled = post_launch_enabled

    def validate(self):
        if self.launch_disposition not in LAUNCH_DISPOSITIONS:
            raise ConfigurationError(f"launch_disposition must be one of {', '.join(LAUNCH_DISPOSITIONS)}.")
        if self.right_sizing not in RIGHT_SIZING_METHODS:
            raise ConfigurationError(f"right_sizing must be one of {', '.join(RIGHT_SIZING_METHODS)}.")
        if self.launch_into:
            for option, value in (("copy_private_ip", self.copy_private_ip), ("copy_tags", self.copy_tags)):
                if value:
                    raise ConfigurationError(
                        f"{option}=true cannot be combined with launch into an existing instance.",
                        remediation=f"Remove {option} (or set it to false): with launch-into the recovered server "
                                    "keeps the target's own network interface, private IP and tags, and DRS "
                                    "refuses to launch into a target with copyPrivateIp or copyTags on.")


def desired_configuration(current, settings, target_instance_id=None):
    """The managed fields as they should be, given the current launch configuration."""
    desired = {
        "launchDisposition": settings.launch_disposition,
        "targetInstanceTypeRightSizingMethod": settings.right_sizing,
        "copyPrivateIp": bool(settings.copy_private_ip) and not settings.launch_into,
        "copyTags": bool(settings.copy_tags) and not settings.launch_into,
        "licensing": dict(current.get("licensing") or {"osByol": False}),
        "postLaunchEnabled": current.get("postLaunchEnabled", False),
        "launchIntoInstanceProperties": (
            {"launchIntoEC2InstanceID": target_instance_id} if settings.launch_into else {}),
    }
    if settings.os_byol is not None:
        desired["licensing"] = {"osByol": bool(settings.os_byol)}
    if settings.post_launch_enabled is not None:
        desired["postLaunchEnabled"] = bool(settings.post_launch_enabled)
    return desired


def managed_view(configuration):
    """The managed fields of a launch configuration, normalised for comparison and diff."""
    view = {}
    for field in MANAGED_FIELDS:
        value = configuration.get(field)
        if field == "launchIntoInstanceProperties":
            target = launch_into_target(configuration)
            value = {"launchIntoEC2InstanceID": target} if target else {}
        elif field in ("copyPrivateIp", "copyTags", "postLaunchEnabled"):
            value = bool(value)
        elif field == "licensing":
            value = {"osByol": bool((value or {}).get("osByol"))}
        view[field] = value
    return view


def plan_update(current, desired):
    """(changes for UpdateLaunchConfiguration, before, after); changes is empty when nothing differs."""
    before = managed_view(current)
    after = dict(before)
    changes = {}
    for field, value in desired.items():
        if before.get(field) != value:
            changes[field] = value
            after[field] = value
    return changes, before, after


# Fields of the region's launch configuration template the collection manages for failback. The template gives
# every new source server of its region its first launch configuration; launchIntoSourceInstance makes DRS launch
# a server that fails back to the previous region or AZ into its source instance (docs/DRS_BEHAVIOUR.md section 4).
TEMPLATE_FIELDS = ("launchIntoSourceInstance", "launchDisposition", "targetInstanceTypeRightSizingMethod",
                   "copyPrivateIp", "copyTags")


def template_view(template):
    """The managed fields of a launch configuration template, normalised for comparison and diff."""
    view = {}
    for field in TEMPLATE_FIELDS:
        value = (template or {}).get(field)
        view[field] = bool(value) if field in ("launchIntoSourceInstance", "copyPrivateIp", "copyTags") else value
    return view


def choose_template(templates, template_id, region):
    """The template to manage: the one named, or the region's only one; else a ConfigurationError."""
    ids = [t.get("launchConfigurationTemplateID") for t in templates]
    if template_id:
        for template in templates:
            if template.get("launchConfigurationTemplateID") == template_id:
                return template
        raise ConfigurationError(
            f"No launch configuration template {template_id} in {region}.", server=template_id,
            remediation=f"Give one of the region's templates ({', '.join(ids) or 'none'}) as template_id.")
    if not templates:
        raise ConfigurationError(
            f"{region} has no DRS launch configuration template.", server=region,
            remediation="Initialize DRS in the region (the DRS console's set-up, or InitializeService), which creates "
                        "it, then run again.")
    if len(templates) > 1:
        raise ConfigurationError(
            f"{region} has {len(templates)} launch configuration templates: {', '.join(ids)}.", server=region,
            remediation="Name the one DRS applies to new source servers with template_id.")
    return templates[0]


def plan_template(template, settings):
    """(changes for UpdateLaunchConfigurationTemplate, before, after) so that new FAILBACK servers launch into
    their source instance with `settings` (a validated LaunchSettings with launch_into on). Empty changes: the
    template is already right."""
    desired = {
        "launchIntoSourceInstance": True,
        "launchDisposition": settings.launch_disposition,
        "targetInstanceTypeRightSizingMethod": settings.right_sizing,
        "copyPrivateIp": False,
        "copyTags": False,
    }
    before = template_view(template)
    changes = {field: value for field, value in desired.items() if before.get(field) != value}
    return changes, before, dict(before, **changes)


def configuration_from_template(template, source_instance_id):
    """The launch configuration DRS gives a source server it creates from `template`, as far as the managed fields
    go. With launchIntoSourceInstance the server launches into its source instance (source_instance_id) when it
    fails back to the previous region."""
    template = template or {}
    launch_into = {"launchIntoEC2InstanceID": source_instance_id} if (
        template.get("launchIntoSourceInstance") and source_instance_id) else {}
    return {
        "launchDisposition": template.get("launchDisposition"),
        "targetInstanceTypeRightSizingMethod": template.get("targetInstanceTypeRightSizingMethod"),
        "copyPrivateIp": bool(template.get("copyPrivateIp")),
        "copyTags": bool(template.get("copyTags")),
        "licensing": dict(template.get("licensing") or {"osByol": False}),
        "postLaunchEnabled": bool(template.get("postLaunchEnabled")),
        "launchIntoInstanceProperties": launch_into,
    }


def for_each_server(function, items, workers=CONCURRENT_CALLS):
    """[function(item) for item in items], with up to `workers` calls in flight, results in the order of items.
    The first exception is raised once the calls in flight have ended."""
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(function, items))


def configure_servers(drs_factory, ec2_factory, items, settings, from_template=None, template=None,
                      validate_targets=True, check_mode=False, diff=False):
    """Configure DRS to launch each server of items ({source_server_id, target_instance_id, name}) into its target
    with settings (LaunchSettings). drs_factory/ec2_factory give the DRSClient/EC2Client of the recovery region
    (built only when needed). Every input is checked before any change; with from_template (source server ids)
    the current configuration of those servers is the template's (drs_launch_template), not read. Returns
    {changed, servers, changed_count[, diff]}, what drs_launch_config documents."""
    settings.validate()
    servers = [{k: s.get(k) for k in ("source_server_id", "target_instance_id", "name")} for s in items]
    for server in servers:
        if not server["source_server_id"]:
            raise ConfigurationError("Every entry of servers needs a source_server_id.", server=server.get("name"))
        if settings.launch_into and not server["target_instance_id"]:
            raise ConfigurationError(
                f"No target_instance_id for {server['name'] or server['source_server_id']}.",
                server=server["name"] or server["source_server_id"],
                remediation="Give each server its launch-into target (drs_instance_match returns them), or use "
                            "state=absent to clear launch-into.")
    ids = [s["source_server_id"] for s in servers]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigurationError(f"Source servers listed more than once: {', '.join(duplicates)}.",
                                 server=", ".join(duplicates))
    targets = [s["target_instance_id"] for s in servers if s["target_instance_id"]]
    claimed = sorted({t for t in targets if targets.count(t) > 1})
    if settings.launch_into and claimed:
        raise ConfigurationError(f"Target instances given to more than one server: {', '.join(claimed)}.",
                                 server=", ".join(claimed), remediation="Give each server its own target instance.")

    from_template = set(from_template or [])
    unknown = sorted(from_template - set(ids))
    if unknown:
        raise ConfigurationError(f"from_template names source servers that are not in servers: {', '.join(unknown)}.",
                                 server=", ".join(unknown), remediation="List in from_template only servers of servers.")
    if from_template and not template:
        raise ConfigurationError("from_template needs the launch configuration template they were created from.",
                                 server=", ".join(sorted(from_template)),
                                 remediation="Pass template (the template returned by drs_launch_template), or leave "
                                             "from_template empty to read each launch configuration.")
    if from_template and not settings.launch_into:
        raise ConfigurationError("from_template applies to launch into an existing instance only (state=present).",
                                 server=", ".join(sorted(from_template)),
                                 remediation="Leave from_template empty with state=absent.")

    drs = drs_factory()
    known = {s["sourceServerID"] for s in drs.describe_source_servers(ids)}
    missing = [i for i in ids if i not in known]
    if missing:
        raise ConfigurationError(f"No DRS source server {', '.join(missing)} in the recovery region.",
                                 server=", ".join(missing),
                                 remediation="Check the IDs and that region/target_role_arn name the recovery region "
                                             "and account.")
    if settings.launch_into and validate_targets:
        instances = ec2_factory().describe_instances(targets)
        bad = []
        for server in servers:
            target = instances.get(server["target_instance_id"])
            label = server["name"] or server["source_server_id"]
            if target is None:
                bad.append(f"{label}: target {server['target_instance_id']} does not exist in the recovery region")
            elif not has_launch_into_tag(target):
                bad.append(f"{label}: target {server['target_instance_id']} lacks AWSDRS=AllowLaunchingIntoThisInstance")
        if bad:
            raise ValidationError("Launch-into targets are not usable: " + "; ".join(bad), server=bad[0].split(":")[0],
                                  remediation="Tag each target AWSDRS=AllowLaunchingIntoThisInstance in the recovery "
                                              "region, or correct the pairs.")

    results, diff_before, diff_after = [], {}, {}
    planned = []
    to_read = [s["source_server_id"] for s in servers if s["source_server_id"] not in from_template]
    read = dict(zip(to_read, for_each_server(drs.get_launch_configuration, to_read)))
    for server in servers:
        templated = server["source_server_id"] in from_template
        current = (configuration_from_template(template, server["target_instance_id"]) if templated
                   else read[server["source_server_id"]])
        desired = desired_configuration(current, settings, server["target_instance_id"])
        changes, before, after = plan_update(current, desired)
        planned.append((server, changes))
        results.append({"source_server_id": server["source_server_id"], "name": server["name"],
                        "changed": bool(changes), "changes": changes, "before": before, "after": after,
                        "from_template": templated})
        diff_before[server["source_server_id"]] = before
        diff_after[server["source_server_id"]] = after
    if not check_mode:
        for_each_server(lambda update: drs.update_launch_configuration(*update),
                        [(server["source_server_id"], changes) for server, changes in planned if changes])
    changed_count = sum(1 for r in results if r["changed"])
    result = {"changed": changed_count > 0, "servers": results, "changed_count": changed_count}
    if diff:
        result["diff"] = {"before": diff_before, "after": diff_after}
    return result
