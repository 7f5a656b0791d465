#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: drs_failback_targets
short_description: Prepare the original instances as the launch-into targets of a failback, and pair them
version_added: 0.1.0
description:
  - Run in the primary region (O(region)), where the original instances are and where the failback launches.
  - Checks every original instance in O(servers) before any change, that is it exists and is not terminated, and
    either carries C(AWSDRS=AllowLaunchingIntoThisInstance) or may be tagged (O(tag=true)). DRS launches only into a
    tagged instance.
  - With O(tag=true), tags the original instances that lack the tag. The only instances tagged are the ones given,
    which M(elasticdr.orchestration.drs_failback_info) takes from DRS's own record of the protected instance
    (C(identificationHints.awsInstanceID)) or from the failover's execution record. The module never stops, starts
    or changes an instance otherwise.
  - With O(require_failback_servers=true), pairs each original instance with the C(FAILBACK) source server that
    replicates its recovery instance back (found by the instance it protects, not by
    C(reversedDirectionSourceServerArn), which goes stale across repeated cycles) and returns RV(pairs) for
    M(elasticdr.orchestration.drs_launch_config), M(elasticdr.orchestration.drs_recovery) and
    M(elasticdr.orchestration.drs_ip_validate). A server without one fails the module (in check mode it is listed
    in RV(unpaired), as reverse replication would create it).
  - Every problem is reported with the server at fault and what to do, before any change.
author:
  - elasticdr maintainers (@elasticdr)
options:
  servers:
    description:
      - The servers, each a dict with C(name), C(source_server_id), C(original_instance_id),
        C(original_private_ip) and C(recovery_instance_id). RV(elasticdr.orchestration.drs_failback_info#module:servers)
        can be passed as they are.
    type: list
    elements: dict
    required: true
  tag:
    description:
      - Tag the original instances that lack C(AWSDRS=AllowLaunchingIntoThisInstance). When false, an untagged original
        fails the module before any change, naming the instance and the command that tags it.
    type: bool
    default: true
  require_failback_servers:
    description:
      - Pair every server with its C(FAILBACK) source server in O(region) (one DescribeSourceServers); fail for a
        server that has none. When false, only the original instances are checked (and tagged).
    type: bool
    default: true
attributes:
  check_mode:
    details: Reads and checks everything, and returns the instances it would tag; tags nothing.
  diff_mode:
    support: full
    details: The C(AWSDRS) tag of each original instance before and after.
extends_documentation_fragment:
  - elasticdr.orchestration.cross_account
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
  - elasticdr.orchestration.attributes
"""

EXAMPLES = r"""
- name: Check (and tag) the original instances before anything else of the wave changes
  elasticdr.orchestration.drs_failback_targets:
    region: us-east-1
    servers: "{{ found.servers }}"
    require_failback_servers: false

- name: Pair the FAILBACK servers with the original instances, once reverse replication is CONTINUOUS
  elasticdr.orchestration.drs_failback_targets:
    region: us-east-1
    servers: "{{ found.servers }}"
  register: targets

- name: Launch each FAILBACK server into its original instance
  elasticdr.orchestration.drs_launch_config:
    region: us-east-1
    servers: "{{ targets.pairs }}"
"""

RETURN = r"""
servers:
  description: One entry per original instance.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The server's name.
      type: str
    source_server_id:
      description: The server's original source server (recovery region).
      type: str
    instance_id:
      description: The original instance.
      type: str
    state:
      description: Its EC2 state.
      type: str
    private_ip:
      description: Its primary private IP now.
      type: str
    tagged_before:
      description: Whether it carried C(AWSDRS=AllowLaunchingIntoThisInstance) before.
      type: bool
    to_tag:
      description: Whether it is (or would be, in check mode) tagged by this run.
      type: bool
    failback_source_server_id:
      description: The C(FAILBACK) source server that launches into it.
      type: str
    error:
      description: What is wrong with it, with a remediation.
      type: dict
tagged:
  description: The instances tagged (in check mode, that would be tagged).
  returned: always
  type: list
  elements: str
pairs:
  description:
    - The failback launches, each with C(name), C(source_server_id) (the C(FAILBACK) server), C(target_instance_id) (the
      original instance), C(target_private_ip) (the IP it must keep) and C(original_source_server_id).
  returned: always
  type: list
  elements: dict
unpaired:
  description: The servers that are not paired yet (check mode), with the reason.
  returned: always
  type: list
  elements: dict
original_instance_ids:
  description: The original instances of RV(pairs), for re-protecting them once they have failed back.
  returned: always
  type: list
  elements: str
diff:
  description: The C(AWSDRS) tag per original instance, with --diff.
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback_steps import prepare_originals
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import argument_spec
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import run_step


def main():
    module = AnsibleAWSModule(
        argument_spec=argument_spec(
            servers={"type": "list", "elements": "dict", "required": True},
            tag={"type": "bool", "default": True},
            require_failback_servers={"type": "bool", "default": True},
        ),
        supports_check_mode=True,
    )
    run_step(module, prepare_originals)


if __name__ == "__main__":
    main()
