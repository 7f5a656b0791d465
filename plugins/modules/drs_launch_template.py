#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: drs_launch_template
short_description: Make a region's DRS launch configuration template launch failback servers into their originals
version_added: 0.1.0
description:
  - DRS gives every source server it creates in a region its first launch configuration from the region's launch
    configuration template. With C(launchIntoSourceInstance) on, a server that fails back to the previous region
    launches into its source instance, the original instance that keeps its instance ID and private IP.
  - This module sets, in the template of O(region), C(launchIntoSourceInstance=true), C(copyPrivateIp=false) and
    C(copyTags=false) (DRS refuses launch-into with either on), the launch disposition and the right-sizing method.
    Other fields (licensing, post-launch actions, export bucket) are left as they are.
  - The FAILBACK source servers that a reverse replication creates afterwards then need no launch configuration
    call of their own; M(elasticdr.orchestration.drs_launch_config) takes their configuration from the template
    (its O(elasticdr.orchestration.drs_launch_config#module:from_template) option).
  - The template applies to every source server created in the region afterwards. Use it in the primary region,
    where the source servers are the FAILBACK servers of a failback.
  - Reads before it changes anything; a second run changes nothing.
author:
  - elasticdr maintainers (@elasticdr)
options:
  template_id:
    description:
      - The launch configuration template to manage. Omit when the region has exactly one, which is the case unless
        templates were created on purpose.
    type: str
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
- name: Let FAILBACK servers created from now on launch into their original instances
  elasticdr.orchestration.drs_launch_template:
    region: us-east-1
  register: failback_template

- name: Configure the FAILBACK servers; those the reverse replication created need no call
  elasticdr.orchestration.drs_launch_config:
    region: us-east-1
    servers: "{{ targets.pairs }}"
    template: "{{ failback_template.template }}"
    from_template: "{{ replication.created }}"
"""

RETURN = r"""
template:
  description: The launch configuration template as it is after the run (as it would be, in check mode).
  returned: always
  type: dict
  contains:
    launchConfigurationTemplateID:
      description: Its ID.
      type: str
    launchIntoSourceInstance:
      description: Whether a server failing back launches into its source instance.
      type: bool
changes:
  description: The fields sent (or that would be sent) to UpdateLaunchConfigurationTemplate.
  returned: always
  type: dict
diff:
  description: The managed fields before and after, with --diff.
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback_steps import configure_launch_template
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import argument_spec
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import run_step


def main():
    module = AnsibleAWSModule(
        argument_spec=argument_spec(
            template_id={"type": "str"},
            launch_disposition={"type": "str", "choices": ["STARTED", "STOPPED"], "default": "STARTED"},
            right_sizing={"type": "str", "choices": ["NONE", "BASIC", "IN_AWS"], "default": "NONE"},
        ),
        supports_check_mode=True,
    )
    run_step(module, configure_launch_template)


if __name__ == "__main__":
    main()
