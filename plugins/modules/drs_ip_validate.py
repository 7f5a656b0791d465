#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: drs_ip_validate
short_description: Capture and validate private-IP preservation of recovered and failed-back instances
version_added: 0.1.0
description:
  - Reads the current primary private IP of each instance in O(servers) (one batched read in O(region)) and
    compares it with the IP it must have, that is the target's private IP captured before the recovery
    (O(expect=target)), the source's (O(expect=source)), or both.
  - With O(capture_only=true) it only returns the current IPs, to record them before anything changes.
  - A mismatch fails the module with a PrivateIPMismatchError per server (expected and actual IP and a
    remediation), unless O(fail_on_mismatch=false).
  - The module only reads.
author:
  - elasticdr maintainers (@elasticdr)
options:
  servers:
    description:
      - The instances to check, each a dict with C(instance_id) (or C(recovery_instance_id), or
        C(target_instance_id)), C(target_private_ip) and/or C(source_private_ip), and optionally C(name) and
        C(source_server_id). Pairs from M(elasticdr.orchestration.drs_instance_match) can be passed as they are.
    type: list
    elements: dict
    required: true
  expect:
    description: Which captured IP each instance must have now.
    type: str
    choices: [target, source, both]
    default: target
  fail_on_mismatch:
    description: Fail when any instance does not have the expected IP.
    type: bool
    default: true
  capture_only:
    description: Only read and return the current IPs.
    type: bool
    default: false
extends_documentation_fragment:
  - elasticdr.orchestration.cross_account
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
  - elasticdr.orchestration.attributes
"""

EXAMPLES = r"""
- name: Check that every recovered server kept its target's private IP
  elasticdr.orchestration.drs_ip_validate:
    region: us-west-2
    servers: "{{ match.pairs }}"
    expect: target

- name: Before failback, report (without failing) which originals would come back with another IP
  elasticdr.orchestration.drs_ip_validate:
    region: us-east-1
    servers: "{{ originals }}"
    expect: source
    fail_on_mismatch: false
  register: before_failback
"""

RETURN = r"""
results:
  description: One entry per instance.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The name given.
      type: str
    instance_id:
      description: The instance checked.
      type: str
    actual_ip:
      description: Its primary private IP now.
      type: str
    target_private_ip:
      description: The captured target IP.
      type: str
    source_private_ip:
      description: The captured source IP.
      type: str
    preserved:
      description: Whether it has the expected IP.
      type: bool
    error:
      description: The PrivateIPMismatchError for a mismatch.
      type: dict
mismatches:
  description: The entries of RV(results) that do not have the expected IP.
  returned: always
  type: list
  elements: dict
preservation_rate:
  description: Percentage of instances with the expected IP.
  returned: always
  type: float
  sample: 100.0
captured:
  description: Instance ID to current private IP.
  returned: always
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback_steps import check_private_ips
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import argument_spec
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import run_step


def main():
    module = AnsibleAWSModule(
        argument_spec=argument_spec(
            servers={"type": "list", "elements": "dict", "required": True},
            expect={"type": "str", "choices": ["target", "source", "both"], "default": "target"},
            fail_on_mismatch={"type": "bool", "default": True},
            capture_only={"type": "bool", "default": False},
        ),
        supports_check_mode=True,
    )
    run_step(module, check_private_ips)


if __name__ == "__main__":
    main()
