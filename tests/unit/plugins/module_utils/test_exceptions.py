# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Every error an operator can see names the server, the cause and what to do."""

import pytest

from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.elasticdr.orchestration.plugins.module_utils import exceptions as exc

from .fakes import client_error

# Listed explicitly so that a new error class without a test shows up in test_every_error_class_is_listed.
ERROR_CLASSES = [
    exc.DROrchestrationError, exc.ConfigurationError, exc.InstanceMatchingError, exc.ValidationError,
    exc.RecoveryError, exc.ReplicationError, exc.AgentInstallationError, exc.PrivateIPMismatchError,
    exc.CrossAccountError, exc.StateStoreError, exc.LockError, exc.JobTimeoutError,
]


def _all_subclasses(cls):
    out = set()
    for sub in cls.__subclasses__():
        out.add(sub)
        out |= _all_subclasses(sub)
    return out


def test_every_error_class_is_listed():
    found = {c for c in _all_subclasses(exc.DROrchestrationError) if c.__module__ == exc.__name__}
    assert found | {exc.DROrchestrationError} == set(ERROR_CLASSES)


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_to_dict_names_server_cause_and_remediation(cls):
    cause = ValueError("the underlying reason")
    error = cls("Something went wrong.", server="web-01", cause=cause, details={"k": 1})
    data = error.to_dict()
    assert data["error"] == cls.__name__
    assert data["message"] == "Something went wrong."
    assert data["server"] == "web-01"
    assert data["cause"] == "the underlying reason"
    assert isinstance(data["remediation"], str) and len(data["remediation"]) > 20
    assert data["remediation"] == cls.remediation
    assert data["details"]["k"] == 1
    # The dict is a copy: changing it does not change the error.
    data["details"]["k"] = 2
    assert error.details["k"] == 1


@pytest.mark.parametrize("cls", ERROR_CLASSES[1:], ids=lambda c: c.__name__)
def test_each_error_class_has_its_own_remediation(cls):
    assert cls.remediation != exc.DROrchestrationError.remediation
    parent = cls.__mro__[1]
    assert cls.remediation != parent.remediation


def test_given_remediation_overrides_the_class_one_for_that_instance_only():
    error = exc.ConfigurationError("bad", remediation="Do this instead.")
    assert error.to_dict()["remediation"] == "Do this instead."
    assert exc.ConfigurationError("bad").to_dict()["remediation"] == exc.ConfigurationError.remediation


def test_to_dict_without_server_or_cause():
    data = exc.ValidationError("not ready").to_dict()
    assert data["server"] is None and data["cause"] is None and data["details"] == {}


def test_str_prefixes_the_server_once_and_ends_with_the_remediation():
    error = exc.RecoveryError("launch failed", server="s-0123456789abcdef0")
    text = str(error)
    assert text.startswith("s-0123456789abcdef0: launch failed")
    assert text.endswith("Remediation: " + exc.RecoveryError.remediation)
    already = exc.RecoveryError("s-0123456789abcdef0 could not launch", server="s-0123456789abcdef0")
    assert str(already).count("s-0123456789abcdef0") == 1


def test_private_ip_mismatch_keeps_both_ips_in_details():
    error = exc.PrivateIPMismatchError("wrong IP", server="db", expected_ip="10.0.0.5", actual_ip="10.0.0.9",
                                       details={"instance_id": "i-0123456789abcdef0"})
    data = error.to_dict()
    assert data["details"] == {"instance_id": "i-0123456789abcdef0", "expected_ip": "10.0.0.5",
                               "actual_ip": "10.0.0.9"}
    assert (error.expected_ip, error.actual_ip) == ("10.0.0.5", "10.0.0.9")
    assert data["server"] == "db" and "network interface" in data["remediation"]


def test_job_timeout_is_a_recovery_error():
    assert issubclass(exc.JobTimeoutError, exc.RecoveryError)
    assert "same execution id" in exc.JobTimeoutError.remediation


def test_drs_api_error_carries_code_status_and_extra_kwargs():
    cause = client_error("ConflictException", 409, "already in a job", "StartRecovery")
    error = exc.DRSAPIError(message="Failed to start a recovery job", exception=cause, started_jobs=["drsjob-1"])
    assert isinstance(error, AnsibleAWSError)
    assert error.code == "ConflictException"
    assert error.status == 409
    assert error.kwargs == {"started_jobs": ["drsjob-1"]}
    assert "Failed to start a recovery job" in str(error) and "already in a job" in str(error)


def test_drs_api_error_without_a_botocore_exception():
    error = exc.DRSAPIError(message="no SDK")
    assert error.code is None and error.status is None and str(error) == "no SDK"
