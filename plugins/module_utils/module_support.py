# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What every module of the collection shares: the cross-account options, the clients built from them,
and one way of reporting errors."""

from ansible.module_utils.basic import env_fallback

from ansible_collections.elasticdr.orchestration.plugins.module_utils.connection import AWSConnector
from ansible_collections.elasticdr.orchestration.plugins.module_utils.drs import DRSClient
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import EC2Client
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import DRSAPIError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import DROrchestrationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import StepFailed
from ansible_collections.elasticdr.orchestration.plugins.module_utils.state_store import StateStore

CROSS_ACCOUNT_ARGS = {
    "target_role_arn": {"type": "str"},
    "external_id": {"type": "str", "no_log": True},
    "require_external_id": {"type": "bool", "default": True},
}
# Only for the modules that also call the primary region (doc fragment primary_region).
PRIMARY_REGION_ARGS = {
    "source_region": {"type": "str"},
    "source_role_arn": {"type": "str"},
    "source_external_id": {"type": "str", "no_log": True},
}


def argument_spec(include_source_options=False, **specific):
    spec = dict(CROSS_ACCOUNT_ARGS)
    # The ExternalId is a secret the inventory does not publish: fall back to DRS_EXTERNAL_ID in the environment.
    spec["external_id"] = dict(spec["external_id"], fallback=(env_fallback, ["DRS_EXTERNAL_ID"]))
    if include_source_options:
        spec.update(PRIMARY_REGION_ARGS)
    spec.update(specific)
    return spec


class Connections:
    """The DRS and EC2 clients of the recovery region (target account) and of the primary region."""

    def __init__(self, module, servers_per_job=None, params=None, connector=None):
        """From a module, or (module None) from params with a connector, as the drs_wave action builds them."""
        self.module = module
        params = module.params if module is not None else params
        self.connector = connector or AWSConnector.from_module(
            module, require_external_id=params.get("require_external_id", True))
        self.target_role = (params.get("target_role_arn"), params.get("external_id"))
        self.source_role = (params.get("source_role_arn"), params.get("source_external_id"))
        self.source_region = params.get("source_region")
        self.servers_per_job = servers_per_job
        self._region = None

    @property
    def region(self):
        return self._region or self.connector.region

    def swapped(self):
        """The same clients seen from the other side: the primary region (as the source role) is the region the
        clients act in, and the recovery region (as the target role) its source, as a failback sees them."""
        other = Connections.__new__(Connections)
        other.module, other.connector, other.servers_per_job = self.module, self.connector, self.servers_per_job
        other.target_role, other.source_role = self.source_role, self.target_role
        other._region = self._require_source_region()
        other.source_region = self.region
        return other

    def _require_source_region(self):
        if not self.source_region:
            raise ConfigurationError("source_region is required for this operation.",
                                     remediation="Set source_region to the primary region (drs_primary_region).")
        return self.source_region

    def client(self, service):
        """Any client of the region the connections act in, as the target role."""
        role, external_id = self.target_role
        return self.connector.client(service, region=self.region, role_arn=role, external_id=external_id)

    def recovery_drs(self):
        client = self.client("drs")
        if self.servers_per_job:
            return DRSClient(client, servers_per_job=self.servers_per_job)
        return DRSClient(client)

    def recovery_ec2(self):
        return EC2Client(self.client("ec2"))

    def source_ec2(self):
        role, external_id = self.source_role
        return EC2Client(self.connector.client("ec2", region=self._require_source_region(), role_arn=role,
                                               external_id=external_id))

    def source_drs(self):
        role, external_id = self.source_role
        return DRSClient(self.connector.client("drs", region=self._require_source_region(), role_arn=role,
                                               external_id=external_id))

    def state_store(self, prefix):
        """The DynamoDB state tables <prefix>-*, which live in the recovery region (target account)."""
        return StateStore(self.client("dynamodb"), prefix)


def run_module(module, body):
    """Run body(module) -> result dict; turn the collection's errors into a clear failure."""
    try:
        result = body(module)
    except StepFailed as failure:
        module.fail_json(msg=str(failure.error), error=failure.error.to_dict(), **failure.result)
    except DROrchestrationError as error:
        module.fail_json(msg=str(error), error=error.to_dict())
    except DRSAPIError as error:
        extra = {k: v for k, v in error.kwargs.items() if k in ("started_jobs", "refused_servers")}
        if error.exception is not None:
            module.fail_json_aws(error.exception, msg=error.message, **extra)
        module.fail_json(msg=error.message, **extra)
    module.exit_json(**result)


def run_step(module, step):
    """Run one step of the engine as the module's body: step(connections, params, check_mode=..., diff=...), the
    function the module is a thin face of (failback_steps, drill_cleanup)."""
    run_module(module, lambda module_: step(Connections(module_), module_.params, check_mode=module_.check_mode,
                                            diff=module_._diff))  # pylint: disable=protected-access
