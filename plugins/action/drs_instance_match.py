# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""drs_instance_match on the controller: the matcher runs in the play's process (plugin_utils/controller.py)."""

from ansible_collections.elasticdr.orchestration.plugins.module_utils import matching
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import argument_spec
from ansible_collections.elasticdr.orchestration.plugins.plugin_utils.controller import ControllerStep
from ansible_collections.elasticdr.orchestration.plugins.plugin_utils.controller import display


class ActionModule(ControllerStep):
    ARGUMENT_SPEC = argument_spec(include_source_options=True, **matching.ARGUMENT_SPEC)
    MUTUALLY_EXCLUSIVE = matching.MUTUALLY_EXCLUSIVE

    def step(self, connections, params, check_mode):
        return matching.match_servers(connections, params, warn=display.warning)
