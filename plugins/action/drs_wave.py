# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""drs_wave on the controller: the plays run with connection local, so the wave engine runs in this process
instead of a module process (plugin_utils/controller.py). A wave then costs no Python start and no import of
boto3 beside the play's own, the clients and the assumed role are built once for the whole wave, and progress
lines are shown while the jobs run (a module shows nothing until it ends). docs/ARCHITECTURE.md gives the
measurements."""

from ansible_collections.elasticdr.orchestration.plugins.module_utils import wave_engine
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import argument_spec
from ansible_collections.elasticdr.orchestration.plugins.plugin_utils.controller import ControllerStep
from ansible_collections.elasticdr.orchestration.plugins.plugin_utils.controller import display

# What a wave that did not complete returns.
FAILURE_KEYS = ("failed", "msg", "changed", "wave", "wave_status", "counts", "skipped", "blocked", "next_wave_running")


class ActionModule(ControllerStep):
    ARGUMENT_SPEC = argument_spec(include_source_options=True, **wave_engine.ARGUMENT_SPEC)

    def step(self, connections, params, check_mode):
        outcome = wave_engine.run(connections, params, check_mode=check_mode,
                                  show=lambda line: display.display(f"drs_wave {line}"))
        for line in outcome.get("summary") or []:
            display.display(line)
        if outcome.get("failed"):
            # The summary is shown and the record written: the failure says what happened and how to go on, without
            # the whole record in the output: the record itself is in DynamoDB (report.yml, drs_execution_info).
            outcome = {k: outcome.get(k) for k in FAILURE_KEYS if k in outcome}
        if "wave_status" in outcome:
            # The job artifacts AWX passes on (docs/AWX.md): per wave, its status and counts. A wave that did not
            # complete fails the task, whose stats are not published: the play's rescue publishes waves_result.
            outcome["waves_result"] = {str(outcome["wave"]): {"status": outcome["wave_status"],
                                                              "counts": outcome["counts"]}}
            if not outcome.get("failed"):
                outcome["ansible_stats"] = {"data": {"drs_waves_result": outcome["waves_result"]}, "per_host": False,
                                            "aggregate": True}
        return outcome
