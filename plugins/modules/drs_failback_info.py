#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: drs_failback_info
short_description: Find what a failover left for failback between regions
version_added: 0.1.0
description:
  - For each server named in O(names), finds what the failover left in the recovery region (O(region)) that a
    failback needs, that is its DRS source server, the original instance in the primary region with the private
    IP it had when it was protected, the recovery instance (with launch-into, the target instance, now running
    in the recovery region) with its private IP, and the staging account.
  - With O(failover_execution_id), reads the failover's execution record in the state tables (the private IPs
    captured at failover), and confirms each recovery instance in DRS. Without it, reads DRS alone (the
    C(FAILOVER) source server tagged C(Name=<name>), its C(recoveryInstanceId), the original instance and the IP
    DRS recorded).
  - Fails, naming each server and what to do, when a name cannot fail back (not failed over, several source servers
    with that name, a drill instance, a recovery instance whose EC2 instance is gone, no recorded IP). The result is
    returned either way.
  - Also returns the lists that the other failback modules take (RV(originals), RV(recovery_instance_ids),
    RV(agent_servers)). The module only reads.
author:
  - elasticdr maintainers (@elasticdr)
options:
  names:
    description: The servers (their C(Name) tag, the inventory host names) of the wave.
    type: list
    elements: str
    required: true
  failover_execution_id:
    description:
      - The failover execution whose record says what was recovered. Omit it to read DRS instead.
    type: str
  protection_group:
    description: With O(failover_execution_id), refuse a record of another protection group.
    type: str
  table_prefix:
    description: The prefix of the state tables (with O(failover_execution_id)).
    type: str
    default: drs-orchestration
extends_documentation_fragment:
  - elasticdr.orchestration.cross_account
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
  - elasticdr.orchestration.attributes
"""

EXAMPLES = r"""
- name: What failover left for wave 1, from DRS
  elasticdr.orchestration.drs_failback_info:
    region: us-west-2
    names: [db-01, db-02]
  register: found

- name: The same, from the failover's execution record
  elasticdr.orchestration.drs_failback_info:
    region: us-west-2
    names: [db-01, db-02]
    failover_execution_id: shop-failover-20260615T150000Z-123456
    protection_group: shop
  register: found

- name: The original instances must still have their private IPs
  elasticdr.orchestration.drs_ip_validate:
    region: us-east-1
    servers: "{{ found.originals }}"
    expect: target
"""

RETURN = r"""
servers:
  description: One entry per server that can fail back.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The server's name.
      type: str
    source_server_id:
      description: Its DRS source server in the recovery region.
      type: str
    original_instance_id:
      description: The original instance in the primary region, which failback launches into.
      type: str
    original_private_ip:
      description: The private IP the original instance had when protected (recorded at failover, or by DRS).
      type: str
    recovery_instance_id:
      description: The recovery instance in the recovery region (with launch-into, the target instance).
      type: str
    recovery_private_ip:
      description: Its private IP.
      type: str
    recovery_instance_state:
      description: Its EC2 state as DRS reports it.
      type: str
    staging_account_id:
      description: The staging account of the source server, if it was extended.
      type: str
    reverse_replication_started:
      description: Whether reverse replication of the recovery instance has already been started.
      type: bool
    failback_state:
      description: The recovery instance's C(failback.state) in DRS.
      type: str
    found_in:
      description: C(execution_record) or C(drs).
      type: str
problems:
  description: The names that cannot fail back, each with the reason and an error with a remediation.
  returned: always
  type: list
  elements: dict
originals:
  description:
    - For M(elasticdr.orchestration.drs_ip_validate) with O(elasticdr.orchestration.drs_ip_validate#module:expect=target)
      in the primary region, the original instances with the private IPs they must have.
  returned: always
  type: list
  elements: dict
recovery_instance_ids:
  description: For M(elasticdr.orchestration.drs_reverse_replication), the recovery instances.
  returned: always
  type: list
  elements: str
agent_servers:
  description:
    - For M(elasticdr.orchestration.drs_agent_install), the servers whose reverse replication has not started yet.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback_steps import find_failback
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import argument_spec
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import run_step


def main():
    module = AnsibleAWSModule(
        argument_spec=argument_spec(
            names={"type": "list", "elements": "str", "required": True},
            failover_execution_id={"type": "str"},
            protection_group={"type": "str"},
            table_prefix={"type": "str", "default": "drs-orchestration"},
        ),
        supports_check_mode=True,
    )
    run_step(module, find_failback)


if __name__ == "__main__":
    main()
