#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: drs_drill_cleanup
short_description: Clean up after a DRS drill into launch-into targets without terminating anything
version_added: 0.1.0
description:
  - For each server given, reads its DRS recovery instances (C(DescribeRecoveryInstances)). For each one that is a
    drill (C(isDrill=true)), stops its EC2 instance (the launch-into target) and waits until it is stopped, then
    calls C(DisconnectRecoveryInstance) and C(DeleteRecoveryInstance), which remove the DRS record and keep the EC2
    instance.
  - Never calls C(TerminateRecoveryInstances) and never terminates an EC2 instance. With launch into an existing
    instance the recovery instance B(is) the pre-provisioned target, and terminating it would destroy the target.
  - Only instances tagged C(AWSDRS=AllowLaunchingIntoThisInstance) are ever stopped.
  - Everything is read and checked before the first change. The module fails and changes nothing when it finds
    a recovery instance that is not a drill (unless O(non_drill_instances) says otherwise), a running instance
    that is not a tagged launch-into target (a drill launched as a new instance), or a recovery instance that is
    replicating back (failback). The error names every server at fault.
  - Idempotent. A server with no recovery instance left is reported as C(NOTHING_TO_CLEAN). A stopped target is
    not stopped again, and a disconnected recovery instance is only deleted. A second run changes nothing.
  - What it leaves, on purpose. The target keeps the drill's recovered volumes, which the next drill or failover
    swaps again. The volumes the target had before the drill stay in the account, detached. DRS does not document
    what happens to them. The DRS simulator keeps them tagged C(drs:replaced-on-instance=<target>). Delete them
    once you no longer need them, or attach them back by hand to return the target to its earlier disks.
author:
  - elasticdr maintainers (@elasticdr)
options:
  servers:
    description:
      - The servers to clean up, each a dict with C(source_server_id) and optionally C(name) and
        C(target_instance_id). The entries of RV(elasticdr.orchestration.drs_instance_match#module:pairs),
        C(invalid), C(unmatched) and C(ambiguous) can be passed as they are.
      - An entry without C(source_server_id), such as a requested name with no DRS source server, is reported as
        C(NOT_MATCHED) and left alone. A source server given twice is cleaned up once.
    type: list
    elements: dict
    required: true
  non_drill_instances:
    description:
      - What to do with a recovery instance that is not a drill (C(isDrill=false)). Such an instance is a real
        recovery, which may be running production after a failover.
      - C(refuse) fails before any change and names those servers. C(skip) leaves them as they are and reports
        them as C(SKIPPED). C(clean) stops, disconnects and deletes them like drills. It never terminates them.
    type: str
    choices: [refuse, skip, clean]
    default: refuse
attributes:
  check_mode:
    details: Reads and checks everything and returns what would be stopped, disconnected and deleted, without any
      change.
notes:
  - The clean-up needs C(drs:DescribeRecoveryInstances), C(drs:DisconnectRecoveryInstance),
    C(drs:DeleteRecoveryInstance), C(ec2:DescribeInstances) and C(ec2:StopInstances) in the recovery account.
    It does not need C(drs:TerminateRecoveryInstances) or C(ec2:TerminateInstances). Deny those to the role to
    be safe.
extends_documentation_fragment:
  - elasticdr.orchestration.cross_account
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
  - elasticdr.orchestration.attributes
"""

EXAMPLES = r"""
- name: Match the drilled wave with its targets
  elasticdr.orchestration.drs_instance_match:
    region: us-west-2
    source_region: us-east-1
    names: "{{ groups['wave_1'] }}"
  register: match

- name: Stop the targets and remove the drill's recovery instances
  elasticdr.orchestration.drs_drill_cleanup:
    region: us-west-2
    servers: "{{ match.pairs + match.invalid + match.unmatched + match.ambiguous }}"
  register: cleanup

- name: Clean up two servers, leaving alone any that were really recovered
  elasticdr.orchestration.drs_drill_cleanup:
    region: us-west-2
    servers:
      - source_server_id: s-0123456789abcdef0
      - source_server_id: s-0123456789abcdef1
    non_drill_instances: skip
"""

RETURN = r"""
servers:
  description: One entry per recovery instance found, and one per server with none.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The server's name, or its source server ID.
      type: str
    source_server_id:
      description: The DRS source server.
      type: str
    source_instance_id:
      description: Its source instance, when the entry given had it (drs_instance_match results do).
      type: str
    source_private_ip:
      description: The source instance's private IP, when the entry given had it.
      type: str
    recovery_instance_id:
      description: The recovery instance, which is the EC2 instance ID.
      type: str
    target_instance_id:
      description: The recovery instance's EC2 instance, the launch-into target.
      type: str
    target_private_ip:
      description: Its primary private IP.
      type: str
    is_drill:
      description: Whether the recovery instance is a drill.
      type: bool
    job_id:
      description: The job that launched it.
      type: str
    instance_state:
      description: The EC2 state of the instance (C(stopped) after the clean-up; C(not-found) when it is gone).
      type: str
    actions:
      description: What was (or, in check mode, would be) done, in order. Any of C(stop), C(disconnect) and
        C(delete).
      type: list
      elements: str
    cleanup_status:
      description: C(CLEANED), C(WOULD_CLEAN) (check mode), C(NOTHING_TO_CLEAN), C(SKIPPED) (not a drill, left
        alone), C(NOT_MATCHED) (no source server) or C(FAILED).
      type: str
    note:
      description: Why a server was left alone, or anything unusual about it.
      type: str
    error:
      description: For a failed server, the error with its cause and remediation.
      type: dict
stopped:
  description: Instances stopped (or that would be stopped) before their recovery instances were removed.
  returned: always
  type: list
  elements: str
disconnected:
  description: Recovery instances disconnected (or that would be).
  returned: always
  type: list
  elements: str
deleted:
  description: Recovery instances deleted (or that would be).
  returned: always
  type: list
  elements: str
counts:
  description: Servers per cleanup status (cleaned, would_clean, nothing_to_clean, skipped, not_matched, failed).
  returned: always
  type: dict
wave_status:
  description: C(COMPLETED) when no server failed, C(FAILED) when all did, C(PARTIAL) otherwise.
  returned: always
  type: str
records:
  description:
    - The servers shaped for the execution record (the O(elasticdr.orchestration.drs_execution#module:servers)
      option). Each record keeps the cleanup status in C(launch_status).
  returned: always
  type: list
  elements: dict
summary:
  description: A one-screen summary, a headline and a line per server.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.elasticdr.orchestration.plugins.module_utils.drill_cleanup import clean_up
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import argument_spec
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import run_step


def main():
    module = AnsibleAWSModule(
        argument_spec=argument_spec(
            servers={"type": "list", "elements": "dict", "required": True},
            non_drill_instances={"type": "str", "choices": ["refuse", "skip", "clean"], "default": "refuse"},
        ),
        supports_check_mode=True,
    )
    run_step(module, clean_up)


if __name__ == "__main__":
    main()
