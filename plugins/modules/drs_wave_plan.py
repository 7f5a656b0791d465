#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: drs_wave_plan
short_description: Check the inventory's wave contract and order the waves
version_added: 0.1.0
description:
  - Checks that every protected server (inventory host) has exactly one integer C(drs_wave), consistent with its
    C(wave_<n>) group, and returns the waves in ascending order with their hosts, limited to O(only) when given.
  - Every host at fault is named in one error, before anything else runs. Makes no AWS call.
  - Its action plugin plans on the controller, in the play's own process, without starting the module.
author:
  - elasticdr maintainers (@elasticdr)
options:
  hosts:
    description:
      - The inventory hosts, by name, each a dict with C(drs_wave) and C(groups) (its group names).
      - Omitted, the action plugin reads the play's inventory itself, every host but the one the play runs on
        (unless that host has a C(drs_wave) or is in a C(wave_<n>) group).
    type: dict
  only:
    description: Limit the plan to these waves (the C(drs_waves) extra variable).
    type: list
    elements: raw
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: all
"""

EXAMPLES = r"""
- name: Plan the waves
  elasticdr.orchestration.drs_wave_plan:
    hosts: "{{ dict(groups['all'] | zip(groups['all'] | map('extract', hostvars) | map('dict2items') | list)) }}"
  register: plan
"""

RETURN = r"""
waves:
  description: The waves to run, ascending.
  returned: success
  type: list
  elements: int
  sample: [1, 2, 3]
hosts_by_wave:
  description: The hosts of each wave, by wave number.
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import DROrchestrationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.wave_plan import plan_waves


def main():
    module = AnsibleModule(
        argument_spec={"hosts": {"type": "dict"}, "only": {"type": "list", "elements": "raw"}},
        supports_check_mode=True,
    )
    if module.params["hosts"] is None:
        module.fail_json(msg="hosts is required when drs_wave_plan runs without its action plugin (on a remote host).")
    try:
        plan = plan_waves(module.params["hosts"], module.params["only"])
    except DROrchestrationError as error:
        module.fail_json(msg=str(error), error=error.to_dict())
    module.exit_json(changed=False, waves=plan["waves"],
                     hosts_by_wave={str(w): h for w, h in plan["hosts_by_wave"].items()})


if __name__ == "__main__":
    main()
