# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Retries: transient failures are retried, waits honour Retry-After, permanent errors surface at once."""

import boto3
import botocore.exceptions
import pytest
from botocore.stub import Stubber

from ansible_collections.amazon.aws.plugins.module_utils import cloud
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.elasticdr.orchestration.plugins.module_utils.retry import DRSRetry
from ansible_collections.elasticdr.orchestration.plugins.module_utils.retry import error_code
from ansible_collections.elasticdr.orchestration.plugins.module_utils.retry import is_retryable
from ansible_collections.elasticdr.orchestration.plugins.module_utils.retry import retry_after_seconds

from .fakes import client_error

RETRYABLE = [
    client_error("ThrottlingException", 429),
    client_error("Throttling", 400),
    client_error("RequestLimitExceeded", 503),
    client_error("TooManyRequestsException", 429),
    client_error("InternalServerException", 500),
    client_error("InternalError", 500),
    client_error("ServiceUnavailable", 503),
    client_error("ProvisionedThroughputExceededException", 400),
    client_error("SomethingNew", 502),  # unknown code, but a 5xx
    botocore.exceptions.ConnectionClosedError(endpoint_url="https://drs.us-east-1.amazonaws.com"),
    botocore.exceptions.EndpointConnectionError(endpoint_url="https://drs.us-east-1.amazonaws.com"),
    botocore.exceptions.ReadTimeoutError(endpoint_url="https://drs.us-east-1.amazonaws.com"),
]
PERMANENT = [
    client_error("ValidationException", 400),
    client_error("AccessDeniedException", 403),
    client_error("AccessDenied", 403),
    client_error("ConflictException", 409),
    client_error("ResourceNotFoundException", 404),
    client_error("UninitializedAccountException", 400),
    client_error("ServiceQuotaExceededException", 402),
    client_error("InvalidInstanceID.NotFound", 400),
    ValueError("a bug, not a service error"),
    botocore.exceptions.ParamValidationError(report="missing sourceServerID"),
]


def _name(error):
    return error_code(error) if isinstance(error, botocore.exceptions.ClientError) else type(error).__name__


@pytest.mark.parametrize("error", RETRYABLE, ids=_name)
def test_transient_errors_are_retryable(error):
    assert is_retryable(error)


@pytest.mark.parametrize("error", PERMANENT, ids=_name)
def test_permanent_errors_are_not_retryable(error):
    assert not is_retryable(error)


def test_extra_codes_make_an_error_retryable():
    error = client_error("ConflictException", 409)
    assert is_retryable(error, extra_codes=["ConflictException"])
    assert not is_retryable(error, extra_codes=["OtherException"])


@pytest.mark.parametrize("error,expected", [
    (client_error("ThrottlingException", 429, headers={"retry-after": "7"}), 7.0),
    (client_error("ThrottlingException", 429, headers={"retry-after": "0.5"}), 0.5),
    (client_error("ThrottlingException", 429, retryAfterSeconds="12"), 12.0),  # the modeled member
    (client_error("ThrottlingException", 429, headers={"retry-after": "-3"}), 0.0),
    (client_error("ThrottlingException", 429, headers={"retry-after": "soon"}), None),
    (client_error("ThrottlingException", 429), None),
    (ValueError("no response"), None),
])
def test_retry_after_seconds(error, expected):
    assert retry_after_seconds(error) == expected


class Flaky:
    """Raises the given errors in turn, then returns 'ok'."""

    def __init__(self, *errors):
        self.errors = list(errors)
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return ("ok", args, kwargs)


def test_retries_transient_errors_until_success_and_passes_arguments():
    sleeps = []
    func = Flaky(client_error("ThrottlingException", 429), client_error("InternalServerException", 500),
                 botocore.exceptions.EndpointConnectionError(endpoint_url="https://x"))
    wrapped = DRSRetry.honour_retry_after(retries=5, delay=0.01, sleep=sleeps.append)(func)
    assert wrapped(1, key="v") == ("ok", (1,), {"key": "v"})
    assert func.calls == 4
    assert len(sleeps) == 3


@pytest.mark.parametrize("error", PERMANENT[:5], ids=_name)
def test_permanent_errors_are_raised_at_once_without_sleeping(error):
    sleeps = []
    func = Flaky(error)
    wrapped = DRSRetry.honour_retry_after(retries=5, sleep=sleeps.append)(func)
    with pytest.raises(type(error)) as info:
        wrapped()
    assert info.value is error
    assert func.calls == 1 and sleeps == []


def test_waits_at_least_retry_after():
    sleeps = []
    func = Flaky(client_error("ThrottlingException", 429, headers={"retry-after": "7"}),
                 client_error("InternalServerException", 500, headers={"retry-after": "3"}))
    wrapped = DRSRetry.honour_retry_after(retries=5, delay=0.01, max_delay=0.02, sleep=sleeps.append)(func)
    assert wrapped()[0] == "ok"
    assert sleeps[0] >= 7 and sleeps[1] >= 3
    assert sleeps[0] <= 7.02 and sleeps[1] <= 3.02


def test_retry_after_is_capped_by_max_retry_after():
    sleeps = []
    func = Flaky(client_error("ThrottlingException", 429, headers={"retry-after": "3600"}))
    DRSRetry.honour_retry_after(retries=3, delay=0.01, max_delay=0.01, max_retry_after=20, sleep=sleeps.append)(func)()
    assert 20 <= sleeps[0] <= 20.01


def test_backoff_grows_but_stays_below_max_delay():
    sleeps = []
    errors = [client_error("ThrottlingException", 429) for _repeat in range(8)]
    DRSRetry.honour_retry_after(retries=10, delay=1.0, backoff=2.0, max_delay=5.0, sleep=sleeps.append)(Flaky(*errors))()
    assert len(sleeps) == 8
    for attempt, wait in enumerate(sleeps, start=1):
        assert 0 <= wait <= min(5.0, 1.0 * 2.0 ** (attempt - 1))


def test_gives_up_after_retries_attempts_and_raises_the_last_error():
    sleeps = []
    errors = [client_error("ThrottlingException", 429, message=f"try {n}") for n in range(10)]
    func = Flaky(*errors)
    wrapped = DRSRetry.honour_retry_after(retries=4, delay=0.01, sleep=sleeps.append)(func)
    with pytest.raises(botocore.exceptions.ClientError) as info:
        wrapped()
    assert func.calls == 4
    assert len(sleeps) == 3
    assert info.value.response["Error"]["Message"] == "try 3"


def test_found_knows_drs_codes_and_amazon_aws_codes():
    assert DRSRetry.found("ThrottlingException")
    assert DRSRetry.found("InternalServerException")
    assert DRSRetry.found("RequestLimitExceeded")
    assert DRSRetry.found("MyCode", catch_extra_error_codes=["MyCode"])
    assert not DRSRetry.found("ValidationException")
    assert not DRSRetry.found("ConflictException")


def test_jittered_backoff_of_drsretry_retries_drs_throttling(monkeypatch):
    sleeps = []
    monkeypatch.setattr(cloud.time, "sleep", sleeps.append)
    func = Flaky(client_error("ThrottlingException", 429), client_error("InternalServerException", 500))
    assert DRSRetry.jittered_backoff(retries=5, delay=1)(func)()[0] == "ok"
    assert func.calls == 3 and len(sleeps) == 2
    refused = Flaky(client_error("ValidationException", 400))
    with pytest.raises(botocore.exceptions.ClientError):
        DRSRetry.jittered_backoff(retries=5, delay=1)(refused)()
    assert refused.calls == 1


def _stubbed_drs():
    client = boto3.client("drs", region_name="us-east-1", aws_access_key_id="AKIAEXAMPLE",
                          aws_secret_access_key="secret")
    return client, Stubber(client)


def test_retrying_client_honours_the_retry_after_header_of_a_real_drs_error():
    client, stubber = _stubbed_drs()
    sleeps = []
    wrapped = RetryingBotoClientWrapper(client, DRSRetry.honour_retry_after(delay=0.01, sleep=sleeps.append))
    stubber.add_client_error("describe_jobs", "ThrottlingException", "slow down", 429,
                             response_meta={"HTTPHeaders": {"retry-after": "9"}})
    stubber.add_response("describe_jobs", {"items": []})
    with stubber:
        assert wrapped.describe_jobs(aws_retry=True, filters={})["items"] == []
        stubber.assert_no_pending_responses()
    assert len(sleeps) == 1 and sleeps[0] >= 9


def test_retrying_client_does_not_retry_without_aws_retry():
    client, stubber = _stubbed_drs()
    sleeps = []
    wrapped = RetryingBotoClientWrapper(client, DRSRetry.honour_retry_after(sleep=sleeps.append))
    stubber.add_client_error("describe_jobs", "ThrottlingException", "slow down", 429)
    with stubber:
        with pytest.raises(botocore.exceptions.ClientError):
            wrapped.describe_jobs(filters={})
    assert sleeps == []
