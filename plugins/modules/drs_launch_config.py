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
attributes:
  diff_mode:
    support: full
extends_documentation_fragment:
  - elasticdr.orchestration.cross_account
  - elasticdr.orchestration.launch_configuration
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
  - elasticdr.orchestration.attributes
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

from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import LaunchSettings
from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import configure_servers
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import Connections
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import argument_spec
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import run_module


def configure(module):
    params = module.params
    settings = LaunchSettings(
        launch_into=params["state"] == "present", launch_disposition=params["launch_disposition"],
        right_sizing=params["right_sizing"], copy_private_ip=params["copy_private_ip"], copy_tags=params["copy_tags"],
        os_byol=params["os_byol"], post_launch_enabled=params["post_launch_enabled"])
    connections = Connections(module)
    return configure_servers(connections.recovery_drs, connections.recovery_ec2, params["servers"], settings,
                             from_template=params["from_template"], template=params["template"],
                             validate_targets=params["validate_targets"], check_mode=module.check_mode,
                             diff=module._diff)  # pylint: disable=protected-access


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
