# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""drs_wave on the controller: the plays run with connection local, so the wave engine runs in this process
instead of a module process. A wave then costs no Python start and no import of boto3 beside the play's own,
the clients and the assumed role are built once for the whole wave, and progress lines are shown while the
jobs run (a module shows nothing until it ends). docs/ARCHITECTURE.md gives the measurements."""

try:
    import botocore
except ImportError:  # the module's own import check reports it
    botocore = None

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.amazon.aws.plugins.module_utils.botocore import _aws_connection_info
from ansible_collections.amazon.aws.plugins.module_utils.modules import aws_argument_spec

from ansible_collections.elasticdr.orchestration.plugins.module_utils import wave_engine
from ansible_collections.elasticdr.orchestration.plugins.module_utils.connection import AWSConnector
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import DRSAPIError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import DROrchestrationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import Connections
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import argument_spec

display = Display()
# What a wave that did not complete returns.
FAILURE_KEYS = ("failed", "msg", "changed", "wave", "wave_status", "counts", "skipped", "blocked", "next_wave_running")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        spec = dict(aws_argument_spec(), **argument_spec(include_source_options=True, **wave_engine.ARGUMENT_SPEC))
        _validation, params = self.validate_argument_spec(argument_spec=spec)
        label = "drs_wave"

        def show(line):
            display.display(f"{label} {line}")

        try:
            region, endpoint_url, connect_kwargs = _aws_connection_info(params)
            connector = AWSConnector(region=region, endpoint_url=endpoint_url, connect_kwargs=connect_kwargs,
                                     require_external_id=params["require_external_id"])
            connections = Connections(None, servers_per_job=params["servers_per_job"], params=params,
                                      connector=connector)
            outcome = wave_engine.run(connections, params, check_mode=bool(self._task.check_mode), show=show)
        except DROrchestrationError as error:
            result.update(failed=True, msg=str(error), error=error.to_dict())
            return result
        except DRSAPIError as error:
            result.update(failed=True, msg=str(error), error=error.to_dict())
            return result
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
            result.update(failed=True, msg=f"AWS call failed: {error}")
            return result
        for line in outcome.get("summary") or []:
            display.display(line)
        if outcome.get("failed"):
            # The summary is shown and the record written: the failure says what happened and how to go on, without
            # the whole record in the output: the record itself is in DynamoDB (report.yml, drs_execution_info).
            outcome = {k: outcome.get(k) for k in FAILURE_KEYS if k in outcome}
        result.update(outcome)
        if "wave_status" in outcome:
            # The job artifacts AWX passes on (docs/AWX.md): per wave, its status and counts. A wave that did not
            # complete fails the task, whose stats are not published: the play's rescue publishes waves_result.
            result["waves_result"] = {str(outcome["wave"]): {"status": outcome["wave_status"],
                                                             "counts": outcome["counts"]}}
            if not outcome.get("failed"):
                result["ansible_stats"] = {"data": {"drs_waves_result": result["waves_result"]}, "per_host": False,
                                           "aggregate": True}
        return result
