#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: drs_launch_config
short_description: Configure DRS to launch into existing instances, for many source servers at once
version_added: 0.1.0
description:
  - Sets (O(state=present)) or clears (O(state=absent)) C(launchIntoInstanceProperties.launchIntoEC2InstanceID)
    in the DRS launch configuration of each server in O(servers), together with the launch disposition,
    right-sizing method, licensing and post-launch settings.
  - With launch-into, C(copyPrivateIp) and C(copyTags) are always turned off, and asking for them is refused;
    the recovered server keeps the target's own network interface, private IP and tags, and DRS refuses to
    launch into a target otherwise.
  - Everything is read and checked before anything changes (every source server exists, every target exists in
    the recovery region and carries C(AWSDRS=AllowLaunchingIntoThisInstance)); only servers whose managed
    settings differ are updated, so a second run changes nothing.
author:
  - elasticdr maintainers (@elasticdr)
options:
  servers:
    description:
      - The servers to configure, each a dict with C(source_server_id) (required), C(target_instance_id)
        (required with O(state=present)) and optionally C(name).
      - The RV(elasticdr.orchestration.drs_instance_match#module:pairs) returned by
        M(elasticdr.orchestration.drs_instance_match) can be passed as they are; other keys are ignored.
    type: list
    elements: dict
    required: true
  state:
    description:
      - C(present) launches into the C(target_instance_id) of each server; C(absent) clears launch-into, so DRS would
        launch new instances.
    type: str
    choices: [present, absent]
    default: present
  launch_disposition:
    description: Whether DRS starts the recovered instance (C(STARTED)) or leaves it stopped (C(STOPPED)).
    type: str
    choices: [STARTED, STOPPED]
    default: STARTED
  right_sizing:
    description:
      - C(targetInstanceTypeRightSizingMethod). C(NONE) keeps the target's instance type, the practice with
        launch-into.
    type: str
    choices: [NONE, BASIC, IN_AWS]
    default: NONE
  copy_private_ip:
    description:
      - C(copyPrivateIp). Only allowed with O(state=absent); refused with launch-into.
    type: bool
    default: false
  copy_tags:
    description:
      - C(copyTags). Only allowed with O(state=absent); refused with launch-into.
    type: bool
    default: false
  os_byol:
    description:
      - C(licensing.osByol), bring your own license. DRS allows it with launch-into only for Linux or dedicated
        tenancy. Omit to keep the current setting.
    type: bool
  post_launch_enabled:
    description: C(postLaunchEnabled). Omit to keep the current setting.
    type: bool
  from_template:
    description:
      - Source server IDs, among O(servers), that DRS created from the launch configuration template O(template)
        and whose launch configuration nothing has changed since, that is the C(FAILBACK) servers that a reverse
        replication of this run created, each paired with its original instance (the pairs of
        M(elasticdr.orchestration.drs_failback_targets)).
      - Their current launch configuration is the template's (with C(launchIntoSourceInstance), launch into the
        original instance, the server's C(target_instance_id)) instead of being read one server at a time, so a
        server whose template settings are already right costs no DRS call at all.
    type: list
    elements: str
    default: []
  template:
    description:
      - The launch configuration template of the region, as RV(elasticdr.orchestration.drs_launch_template#module:template)
        returns it. Required when O(from_template) is not empty.
    type: dict
  validate_targets:
    description:
      - Check before any change that every target exists in the recovery region and carries the
        C(AWSDRS=AllowLaunchingIntoThisInstance) tag.
    type: bool
    default: true
extends_documentation_fragment:
  - elasticdr.orchestration.cross_account
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: all
  action_group:
    membership:
      - elasticdr.orchestration.drs
"""

EXAMPLES = r"""
- name: Launch each matched server into its target
  elasticdr.orchestration.drs_launch_config:
    region: us-west-2
    servers: "{{ match.pairs }}"
    launch_disposition: STARTED

- name: Clear launch-into (DRS would launch new instances again)
  elasticdr.orchestration.drs_launch_config:
    region: us-west-2
    state: absent
    servers:
      - source_server_id: s-0123456789abcdef0
"""

RETURN = r"""
servers:
  description: One entry per server.
  returned: always
  type: list
  elements: dict
  contains:
    source_server_id:
      description: The source server.
      type: str
    name:
      description: The name given for it.
      type: str
    changed:
      description: Whether its launch configuration changed (or would change in check mode).
      type: bool
    from_template:
      description: Whether its current configuration was taken from O(template) rather than read.
      type: bool
    changes:
      description: The fields sent to UpdateLaunchConfiguration.
      type: dict
    before:
      description: The managed fields before.
      type: dict
    after:
      description: The managed fields after.
      type: dict
changed_count:
  description: How many servers changed (or would change).
  returned: always
  type: int
diff:
  description: Before and after per source server ID, with --diff.
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import has_launch_into_tag
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ValidationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import LaunchSettings
from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import configuration_from_template
from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import desired_configuration
from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import for_each_server
from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import plan_update
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import Connections
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import argument_spec
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import run_module


def configure(module):
    params = module.params
    settings = LaunchSettings(
        launch_into=params["state"] == "present", launch_disposition=params["launch_disposition"],
        right_sizing=params["right_sizing"], copy_private_ip=params["copy_private_ip"], copy_tags=params["copy_tags"],
        os_byol=params["os_byol"], post_launch_enabled=params["post_launch_enabled"])
    settings.validate()
    servers = [{k: s.get(k) for k in ("source_server_id", "target_instance_id", "name")} for s in params["servers"]]
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

    from_template = set(params["from_template"] or [])
    unknown = sorted(from_template - set(ids))
    if unknown:
        raise ConfigurationError(f"from_template names source servers that are not in servers: {', '.join(unknown)}.",
                                 server=", ".join(unknown), remediation="List in from_template only servers of servers.")
    if from_template and not params["template"]:
        raise ConfigurationError("from_template needs the launch configuration template they were created from.",
                                 server=", ".join(sorted(from_template)),
                                 remediation="Pass template (the template returned by drs_launch_template), or leave "
                                             "from_template empty to read each launch configuration.")
    if from_template and not settings.launch_into:
        raise ConfigurationError("from_template applies to launch into an existing instance only (state=present).",
                                 server=", ".join(sorted(from_template)),
                                 remediation="Leave from_template empty with state=absent.")

    connections = Connections(module)
    drs = connections.recovery_drs()
    known = {s["sourceServerID"] for s in drs.describe_source_servers(ids)}
    missing = [i for i in ids if i not in known]
    if missing:
        raise ConfigurationError(f"No DRS source server {', '.join(missing)} in the recovery region.",
                                 server=", ".join(missing),
                                 remediation="Check the IDs and that region/target_role_arn name the recovery region "
                                             "and account.")
    if settings.launch_into and params["validate_targets"]:
        instances = connections.recovery_ec2().describe_instances(targets)
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
        current = (configuration_from_template(params["template"], server["target_instance_id"]) if templated
                   else read[server["source_server_id"]])
        desired = desired_configuration(current, settings, server["target_instance_id"])
        changes, before, after = plan_update(current, desired)
        planned.append((server, changes))
        results.append({"source_server_id": server["source_server_id"], "name": server["name"],
                        "changed": bool(changes), "changes": changes, "before": before, "after": after,
                        "from_template": templated})
        diff_before[server["source_server_id"]] = before
        diff_after[server["source_server_id"]] = after
    if not module.check_mode:
        for_each_server(lambda update: drs.update_launch_configuration(*update),
                        [(server["source_server_id"], changes) for server, changes in planned if changes])
    changed_count = sum(1 for r in results if r["changed"])
    result = {"changed": changed_count > 0, "servers": results, "changed_count": changed_count}
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = {"before": diff_before, "after": diff_after}
    return result


def main():
    module = AnsibleAWSModule(
        argument_spec=argument_spec(
            servers={"type": "list", "elements": "dict", "required": True},
            state={"type": "str", "choices": ["present", "absent"], "default": "present"},
            launch_disposition={"type": "str", "choices": ["STARTED", "STOPPED"], "default": "STARTED"},
            right_sizing={"type": "str", "choices": ["NONE", "BASIC", "IN_AWS"], "default": "NONE"},
            copy_private_ip={"type": "bool", "default": False},
            copy_tags={"type": "bool", "default": False},
            os_byol={"type": "bool"},
            post_launch_enabled={"type": "bool"},
            from_template={"type": "list", "elements": "str", "default": []},
            template={"type": "dict"},
            validate_targets={"type": "bool", "default": True},
        ),
        supports_check_mode=True,
    )
    run_module(module, configure)


if __name__ == "__main__":
    main()
