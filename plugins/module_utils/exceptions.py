# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The errors an operator sees: each names the server at fault, the cause and what to do about it."""

from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError


class DROrchestrationError(Exception):
    """Base of every error the collection raises on purpose.

    ``to_dict()`` is what modules return under ``error``/``errors`` and what execution records store.
    """

    remediation = "Check the error details and the DRS console, then run the play again."

    def __init__(self, message, server=None, cause=None, remediation=None, details=None):
        super().__init__(message)
        self.message = message
        self.server = server
        self.cause = cause
        if remediation:
            self.remediation = remediation
        self.details = details or {}

    def to_dict(self):
        return {
            "error": type(self).__name__,
            "message": self.message,
            "server": self.server,
            "cause": None if self.cause is None else str(self.cause),
            "remediation": self.remediation,
            "details": dict(self.details),
        }

    def __str__(self):
        text = self.message
        if self.server and self.server not in text:
            text = f"{self.server}: {text}"
        return f"{text} Remediation: {self.remediation}"


class ConfigurationError(DROrchestrationError):
    """Bad or contradictory input: an option, a pair, an inventory variable."""

    remediation = "Correct the named option or inventory variable and run the play again."


class InstanceMatchingError(DROrchestrationError):
    """A source server that cannot be paired with exactly one valid launch-into target."""

    remediation = (
        "Give the target instance in the recovery region the same Name tag as the source instance "
        "(or add an explicit pair), tag it AWSDRS=AllowLaunchingIntoThisInstance and stop it."
    )


class ValidationError(DROrchestrationError):
    """A pair or a server that fails a readiness check."""

    remediation = "Fix the failed check named in the details before starting the recovery."


class RecoveryError(DROrchestrationError):
    """A recovery, drill or failback launch that failed for a server."""

    remediation = (
        "Read the job log entry in the details (rawError), fix the cause, and run the play again with the "
        "same execution id: servers already launched are not launched again."
    )


class ReplicationError(DROrchestrationError):
    """Replication (or reverse replication) that is not healthy enough to recover from."""

    remediation = (
        "Check the replication state in the DRS console; a STALLED or DISCONNECTED server needs its "
        "agent and network path to the staging area fixed before recovery."
    )


class AgentInstallationError(DROrchestrationError):
    """The DRS replication agent could not be installed on a recovery instance."""

    remediation = (
        "Make sure the instance runs the SSM agent with an instance profile that allows SSM, has outbound "
        "HTTPS to the DRS and S3 endpoints of the region, and retry the agent installation."
    )


class PrivateIPMismatchError(DROrchestrationError):
    """A recovered or failed-back instance that did not keep the private IP it must keep."""

    remediation = (
        "Launch-into preserves an IP only through the target's own network interface: check that the launch "
        "configuration points at the right target instance and that nothing replaced its primary network "
        "interface, then relaunch the server."
    )

    def __init__(self, message, server=None, expected_ip=None, actual_ip=None, **kwargs):
        details = dict(kwargs.pop("details", None) or {})
        details.update({"expected_ip": expected_ip, "actual_ip": actual_ip})
        super().__init__(message, server=server, details=details, **kwargs)
        self.expected_ip = expected_ip
        self.actual_ip = actual_ip


class CrossAccountError(DROrchestrationError):
    """A role that could not be assumed in another account."""

    remediation = (
        "Check that the role exists, that its trust policy allows the orchestrating principal, and that the "
        "ExternalId given matches the sts:ExternalId condition of the trust policy."
    )


class StateStoreError(DROrchestrationError):
    """The DynamoDB state tables are missing or refuse a write."""

    remediation = "Create the state tables with the state_tables playbook (or point drs_state_table_prefix at them)."


class LockError(DROrchestrationError):
    """Another run holds the protection group's lock."""

    remediation = (
        "Wait for the other run to finish. If it died, break its lease explicitly with drs_break_lock=true "
        "after making sure it is not running."
    )


class JobTimeoutError(RecoveryError):
    """A wave whose jobs did not complete within the wait timeout."""

    remediation = (
        "DRS jobs keep running after a timeout. Rerun the play with the same execution id to adopt the "
        "running jobs, or raise drs_wait_timeout."
    )


class DRSAPIError(AnsibleAWSError):
    """A failed AWS call, carrying the operation, the error code and whether retrying could help."""

    def __init__(self, message=None, exception=None, **kwargs):
        super().__init__(message=message, exception=exception, **kwargs)
        response = getattr(exception, "response", None) or {}
        self.code = response.get("Error", {}).get("Code")
        self.status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")

    def to_dict(self):
        """The shape of DROrchestrationError.to_dict, for records and summaries; the message has AWS's own
        (code, operation, reason), as AnsibleAWSError's str() gives it."""
        return {"error": "DRSAPIError", "message": str(self), "server": None, "cause": self.code,
                "remediation": None, "details": {"code": self.code, "status": self.status}}


class StepFailed(Exception):
    """A step of the engine (one module's body) failed: error, a DROrchestrationError, and the result the
    module returns with the failure. module_support.run_module turns it into the module's fail_json."""

    def __init__(self, error, result):
        super().__init__(str(error))
        self.error = error
        self.result = result
