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
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError

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
