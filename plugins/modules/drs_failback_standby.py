#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: drs_failback_standby
short_description: After a failback, return the recovery region to standby
version_added: 0.1.0
description:
  - Run once the original instances run again in the primary region and are re-protected. Until then the recovery
    instances in the recovery region (with launch-into, the pre-provisioned targets) still run with the same private
    IPs as the originals, and the C(FAILBACK) source servers in the primary region still replicate them.
  - Stops the replication of each C(FAILBACK) source server in the primary region (O(source_region)) first, then
    stops each recovery instance in the recovery region (O(region)), as the DRS failback clean-up order requires.
  - Never terminates an instance and never calls C(TerminateRecoveryInstances); only instances tagged
    C(AWSDRS=AllowLaunchingIntoThisInstance) are stopped, and they stay the targets of the next failover.
  - Everything is checked before any change; a recovery instance that is missing, terminated or untagged fails the
    module naming the server. A second run changes nothing.
author:
  - elasticdr maintainers (@elasticdr)
options:
  servers:
    description:
      - The servers of the wave, each a dict with C(name), C(failback_source_server_id) (the C(FAILBACK) source
        server in the primary region) and C(recovery_instance_id) (the recovery instance in the recovery region).
    type: list
    elements: dict
    required: true
  stop_replication:
    description: Stop the replication of the C(FAILBACK) source servers.
    type: bool
    default: true
  stop_instances:
    description: Stop the recovery instances.
    type: bool
    default: true
attributes:
  check_mode:
    details: Reports what would be stopped.
extends_documentation_fragment:
  - elasticdr.orchestration.cross_account
  - elasticdr.orchestration.primary_region
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
  - elasticdr.orchestration.attributes
"""

EXAMPLES = r"""
- name: Back to standby in the recovery region once wave 1 has failed back
  elasticdr.orchestration.drs_failback_standby:
    region: us-west-2
    source_region: us-east-1
    servers:
      - name: db-01
        failback_source_server_id: s-0123456789abcdef0
        recovery_instance_id: i-0123456789abcdef0
"""

RETURN = r"""
servers:
  description: One entry per server.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The server's name.
      type: str
    failback_source_server_id:
      description: The C(FAILBACK) source server.
      type: str
    replication_state:
      description: Its replication state before this run.
      type: str
    recovery_instance_id:
      description: The recovery instance.
      type: str
    instance_state:
      description: Its EC2 state before this run.
      type: str
    actions:
      description: What was (in check mode, would be) done, C(stop_replication) and C(stop_instance).
      type: list
      elements: str
replication_stopped:
  description: The C(FAILBACK) source servers whose replication was (would be) stopped.
  returned: always
  type: list
  elements: str
instances_stopped:
  description: The recovery instances that were (would be) stopped.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback_steps import return_to_standby
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import argument_spec
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import run_step


def main():
    module = AnsibleAWSModule(
        argument_spec=argument_spec(
            include_source_options=True,
            servers={"type": "list", "elements": "dict", "required": True},
            stop_replication={"type": "bool", "default": True},
            stop_instances={"type": "bool", "default": True},
        ),
        supports_check_mode=True,
    )
    run_step(module, return_to_standby)


if __name__ == "__main__":
    main()
