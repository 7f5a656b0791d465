#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: drs_reverse_replication
short_description: Start reverse replication of recovery instances and wait until failback is ready
version_added: 0.1.0
description:
  - For each recovery instance in the recovery region (O(region)), starts DRS reverse replication, which
    creates a C(FAILBACK)-direction source server in the origin account and region (O(source_region)).
  - Recovery instances that already replicate back are adopted, not started again; failback servers are found
    by the protected instance ID (C(identificationHints.awsInstanceID)), since the
    C(reversedDirectionSourceServerArn) link goes stale across repeated cycles.
  - A failback server whose replication was stopped (as the standby after a failback leaves it) is started again,
    for the next failback of the same instance.
  - Waits until every failback source server is C(CONTINUOUS) with a lag under O(lag_threshold) seconds.
  - With O(execution_id), a failback server that this execution (and O(wave)) has already launched, or is
    launching, is past reverse replication. It is neither started again nor waited for, so a rerun of an
    interrupted failback goes on from where it stopped.
  - Returns, per server, the staging account the original source server replicated through, which failback needs.
author:
  - elasticdr maintainers (@elasticdr)
options:
  recovery_instance_ids:
    description: The recovery instances to replicate back (with launch-into, the target instance IDs).
    type: list
    elements: str
    required: true
  wait:
    description: Wait until every failback server is ready.
    type: bool
    default: true
  lag_threshold:
    description: The replication lag, in seconds, under which a failback server is ready.
    type: float
    default: 60
  wait_timeout:
    description: Seconds to wait; on timeout the module fails and returns each server's state.
    type: int
    default: 7200
  poll_interval:
    description: Seconds between polls (one batched DescribeSourceServers per poll).
    type: float
    default: 30
  execution_id:
    description:
      - The execution whose failback launch jobs (tagged by M(elasticdr.orchestration.drs_recovery)) are looked for
        in O(source_region), one batched C(DescribeJobs) read.
      - Without it, every failback server must replicate to be ready.
    type: str
  wave:
    description: With O(execution_id), only the jobs of this wave count.
    type: str
attributes:
  check_mode:
    details: Reports which recovery instances would start reverse replication and the state of those that already do.
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
- name: Replicate the recovered wave back to us-east-1 and wait until it can fail back
  elasticdr.orchestration.drs_reverse_replication:
    region: us-west-2
    source_region: us-east-1
    recovery_instance_ids: "{{ wave1.servers | map(attribute='recovery_instance_id') | list }}"
    lag_threshold: 60
  register: reverse
"""

RETURN = r"""
servers:
  description: One entry per recovery instance.
  returned: always
  type: list
  elements: dict
  contains:
    recovery_instance_id:
      description: The recovery instance.
      type: str
    original_source_server_id:
      description: The source server it was recovered from.
      type: str
    original_instance_id:
      description: The protected instance in the primary region, which failback launches back into.
      type: str
    staging_account_id:
      description: The staging account of the original source server, if it was extended.
      type: str
    reversed_source_server_id:
      description: The FAILBACK source server in the origin region.
      type: str
    reversed_source_server_arn:
      description: Its ARN.
      type: str
    replication_state:
      description: Its data replication state.
      type: str
    lag_seconds:
      description: Its replication lag.
      type: float
    ready:
      description: Whether it is CONTINUOUS with a lag under O(lag_threshold), or already failed back.
      type: bool
    failed_back:
      description: Whether O(execution_id) has already launched (or is launching) this failback server.
      type: bool
started:
  description: Recovery instances whose reverse replication this run started (or would start).
  returned: always
  type: list
  elements: str
created:
  description:
    - The FAILBACK source servers this run created (IDs, in the origin region). DRS gave each its launch
      configuration from the origin region's launch configuration template; see
      M(elasticdr.orchestration.drs_launch_template). Empty in check mode.
  returned: always
  type: list
  elements: str
all_ready:
  description: Whether every failback server is ready.
  returned: always
  type: bool
timed_out:
  description: Whether waiting ended on O(wait_timeout).
  returned: always
  type: bool
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback_steps import reverse_replication
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import argument_spec
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import run_step


def main():
    module = AnsibleAWSModule(
        argument_spec=argument_spec(
            include_source_options=True,
            recovery_instance_ids={"type": "list", "elements": "str", "required": True},
            wait={"type": "bool", "default": True},
            lag_threshold={"type": "float", "default": 60},
            wait_timeout={"type": "int", "default": 7200},
            poll_interval={"type": "float", "default": 30},
            execution_id={"type": "str"},
            wave={"type": "str"},
        ),
        required_if=[],
        supports_check_mode=True,
    )
    run_step(module, reverse_replication)


if __name__ == "__main__":
    main()
