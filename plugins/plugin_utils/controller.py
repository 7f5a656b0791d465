# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugins that run a step of module_utils in the controller process instead of a module process.

The plays run with connection local, so the module's process would run on the same machine: the controller
runs the same function directly, with the module's options (amazon.aws's connection options and their
environment fallbacks, the cross-account options, the module's own) and the same error reporting. A call then
costs no Python start and no second import of boto3 (docs/ARCHITECTURE.md, "Where the engine runs, and why")."""

try:
    import botocore
except ImportError:  # the module's own import check reports it
    botocore = None

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.amazon.aws.plugins.module_utils.botocore import _aws_connection_info
from ansible_collections.amazon.aws.plugins.module_utils.modules import aws_argument_spec

from ansible_collections.elasticdr.orchestration.plugins.module_utils.connection import AWSConnector
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import DRSAPIError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import DROrchestrationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import StepFailed
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import Connections

display = Display()


class ControllerStep(ActionBase):
    """Subclasses set ARGUMENT_SPEC (the module's, without amazon.aws's common options), MUTUALLY_EXCLUSIVE, and
    step(connections, params, check_mode) returning the module's result."""

    TRANSFERS_FILES = False
    _requires_connection = False
    ARGUMENT_SPEC = {}
    MUTUALLY_EXCLUSIVE = None

    def step(self, connections, params, check_mode):
        raise NotImplementedError

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, params = self.validate_argument_spec(argument_spec=dict(aws_argument_spec(), **self.ARGUMENT_SPEC),
                                                          mutually_exclusive=self.MUTUALLY_EXCLUSIVE)
        try:
            region, endpoint_url, connect_kwargs = _aws_connection_info(params)
            connector = AWSConnector(region=region, endpoint_url=endpoint_url, connect_kwargs=connect_kwargs,
                                     require_external_id=params["require_external_id"])
            connections = Connections(None, servers_per_job=params.get("servers_per_job"), params=params,
                                      connector=connector)
            result.update(self.step(connections, params, bool(self._task.check_mode)))
        except StepFailed as failure:
            result.update(failure.result, failed=True, msg=str(failure.error), error=failure.error.to_dict())
        except (DROrchestrationError, DRSAPIError) as error:
            result.update(failed=True, msg=str(error), error=error.to_dict())
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
            result.update(failed=True, msg=f"AWS call failed: {error}")
        return result
