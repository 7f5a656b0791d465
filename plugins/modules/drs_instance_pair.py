#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: drs_instance_pair
short_description: Keep a protection group's instance pairs in the DynamoDB config table
version_added: 0.1.0
description:
  - Adds, updates and removes the instance pairs (source server -> launch-into target) of one protection group in
    the C(<table_prefix>-instance-pairs) table of the recovery region and account.
  - M(elasticdr.orchestration.drs_instance_match) with O(elasticdr.orchestration.drs_instance_match#module:protection_group)
    uses the stored pairs as explicit pairs, so a pair stored here holds even when the Name tags disagree.
  - Every pair is validated before anything is written; one invalid pair (or a target or name given to two pairs)
    fails the task with the pair and the field at fault, and nothing is written.
  - Stored and desired pairs are compared field by field (ignoring C(created_at) and C(updated_at)) and only the
    differences are written, so a second run changes nothing. Check mode writes nothing and predicts the result.
  - The protection group's lock item (held by a running execution) is never read, changed or removed.
author:
  - elasticdr maintainers (@elasticdr)
options:
  protection_group:
    description:
      - The protection group whose pairs are managed (1-128 letters, digits, C(.), C(_) or C(-)).
    type: str
    required: true
  pairs:
    description:
      - With O(state=present), the pairs wanted, each a dict with C(name), C(source_server_id) and
        C(target_instance_id) (required) and optionally C(source_instance_id), C(source_private_ip),
        C(target_private_ip), C(wave), C(source_account_id), C(target_account_id), C(staging_account_id),
        C(source_region), C(recovery_region), C(match_tag) and C(matched_by).
      - Each entry is the whole pair; optional fields left out are removed from the stored pair.
      - The RV(elasticdr.orchestration.drs_instance_match#module:pairs) of
        M(elasticdr.orchestration.drs_instance_match) can be passed as they are; other keys are ignored, and a
        C(wave) given as text (a tag value) is stored as a number.
      - With O(state=absent), the pairs to remove, each with C(source_server_id) or C(name) (compared like Name tags,
        ignoring case and extra whitespace). Pairs that are not stored are left alone.
    type: list
    elements: dict
    required: true
  state:
    description:
      - C(present) adds or updates the pairs given; C(absent) removes them.
    type: str
    choices: [present, absent]
    default: present
  purge:
    description:
      - With O(state=present), also remove the stored pairs of the protection group that are not in O(pairs)
        (with O(pairs=[]), every pair of the group). Refused with O(state=absent).
    type: bool
    default: false
attributes:
  diff_mode:
    support: full
extends_documentation_fragment:
  - elasticdr.orchestration.cross_account
  - elasticdr.orchestration.state_tables
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
  - elasticdr.orchestration.attributes
"""

EXAMPLES = r"""
- name: Match wave 1 with its launch-into targets
  elasticdr.orchestration.drs_instance_match:
    region: us-west-2
    source_region: us-east-1
    names: "{{ groups['wave_1'] }}"
    fail_on_unmatched: true
  register: match

- name: Store the pairs of the protection group
  elasticdr.orchestration.drs_instance_pair:
    region: us-west-2
    protection_group: payments
    pairs: "{{ match.pairs }}"

- name: Pin one server to a target whose Name tag differs
  elasticdr.orchestration.drs_instance_pair:
    region: us-west-2
    protection_group: payments
    pairs:
      - name: legacy-db
        source_server_id: s-0123456789abcdef0
        target_instance_id: i-0fedcba9876543210
        wave: 2

- name: Make the stored pairs exactly these (remove every other pair of the group)
  elasticdr.orchestration.drs_instance_pair:
    region: us-west-2
    protection_group: payments
    pairs: "{{ match.pairs }}"
    purge: true

- name: Remove a pair
  elasticdr.orchestration.drs_instance_pair:
    region: us-west-2
    protection_group: payments
    state: absent
    pairs:
      - name: legacy-db
"""

RETURN = r"""
pairs:
  description: The protection group's pairs after the run (predicted in check mode), sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    protection_group:
      description: The protection group.
      type: str
      sample: payments
    name:
      description: The server's name (its match-tag value).
      type: str
      sample: db-01
    source_server_id:
      description: The DRS source server.
      type: str
      sample: s-0123456789abcdef0
    target_instance_id:
      description: The launch-into target in the recovery region.
      type: str
      sample: i-0fedcba9876543210
    wave:
      description: The wave, when given.
      type: int
      sample: 1
    created_at:
      description: When the pair was first stored (UTC, ISO 8601).
      type: str
    updated_at:
      description: When the pair last changed.
      type: str
added:
  description: The source server IDs of the pairs added (or that would be, in check mode).
  returned: always
  type: list
  elements: str
updated:
  description: The source server IDs of the pairs updated.
  returned: always
  type: list
  elements: str
removed:
  description: The source server IDs of the pairs removed.
  returned: always
  type: list
  elements: str
diff:
  description: With --diff, the pairs that change, before and after, keyed by source server ID (without timestamps).
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import Connections
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import argument_spec
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import run_module
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import iso
from ansible_collections.elasticdr.orchestration.plugins.module_utils.pairs import apply_plan
from ansible_collections.elasticdr.orchestration.plugins.module_utils.pairs import check_protection_group
from ansible_collections.elasticdr.orchestration.plugins.module_utils.pairs import plan_pairs


def manage(module):
    params = module.params
    group = params["protection_group"]
    check_protection_group(group)
    store = Connections(module).state_store(params["table_prefix"])
    plan = plan_pairs(store.get_pairs(group), params["pairs"], group, state=params["state"], purge=params["purge"])
    now = iso()
    if module.check_mode or not plan.changed:
        pairs = plan.pairs_after(now)
    else:
        pairs = apply_plan(store, plan, now)
    result = {"changed": plan.changed, "pairs": pairs, "added": plan.added, "updated": plan.updated,
              "removed": plan.removed}
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = plan.diff()
    return result


def main():
    module = AnsibleAWSModule(
        argument_spec=argument_spec(
            protection_group={"type": "str", "required": True},
            table_prefix={"type": "str", "default": "drs-orchestration"},
            pairs={"type": "list", "elements": "dict", "required": True},
            state={"type": "str", "choices": ["present", "absent"], "default": "present"},
            purge={"type": "bool", "default": False},
        ),
        supports_check_mode=True,
    )
    run_module(module, manage)


if __name__ == "__main__":
    main()
