# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""drs_wave_plan on the controller: the plan is a computation on the inventory with no AWS call, so it runs in
the play's own process (as set_fact does) instead of starting a Python process for the module."""

from ansible.plugins.action import ActionBase

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import DROrchestrationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.wave_plan import ARGUMENT_SPEC
from ansible_collections.elasticdr.orchestration.plugins.module_utils.wave_plan import inventory_hosts
from ansible_collections.elasticdr.orchestration.plugins.module_utils.wave_plan import plan_waves


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        hosts = args.get("hosts")
        if hosts is None:
            # The play's own inventory, as the controller sees it (hostvars are templated on access).
            hostvars = task_vars.get("hostvars") or {}
            names = (task_vars.get("groups") or {}).get("all") or []
            hosts = inventory_hosts({n: hostvars.get(n) or {} for n in names}, names, task_vars.get("inventory_hostname"))
        try:
            plan = plan_waves(hosts, args.get("only"))
        except DROrchestrationError as error:
            result.update(failed=True, msg=str(error), error=error.to_dict())
            return result
        result.update(changed=False, waves=plan["waves"],
                      hosts_by_wave={str(w): h for w, h in plan["hosts_by_wave"].items()})
        return result
