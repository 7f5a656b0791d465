# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Retries for every AWS call the collection makes: AWSRetry's codes, plus DRS's own, honouring Retry-After.

DRS publishes no request rates, so throttling can happen on any operation; its ThrottlingException and
InternalServerException carry a Retry-After header (docs/DRS_BEHAVIOUR.md section 1). botocore's own retries
ignore that header, so the clients the collection builds disable them and retry here instead.

A call that changes something and is not idempotent (StartRecovery, ReverseReplication, SSM SendCommand, ...)
is never sent again blindly after its response was lost: a read timeout, a connection closed before the
response, or a 5xx may follow a request the service did process. Such a call goes through
call_non_idempotent() with an effect_lookup, which looks for what the first call did (the job it started,
the server it created, the command it sent) before any new attempt, and adopts it when found. Only errors
proving that the request was not processed (no connection made, throttling) are retried without looking.
"""

import functools
import random
import time

try:
    from botocore.exceptions import ClientError
    from botocore.exceptions import ConnectionClosedError
    from botocore.exceptions import ConnectTimeoutError
    from botocore.exceptions import EndpointConnectionError
    from botocore.exceptions import ReadTimeoutError
except ImportError:  # modules report the missing SDK themselves
    ClientError = ConnectionClosedError = ConnectTimeoutError = EndpointConnectionError = ReadTimeoutError = None

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# Transient by nature: throttling and server-side faults of the services the collection calls.
RETRYABLE_CODES = frozenset(
    [
        "ThrottlingException",  # DRS, DynamoDB, SSM, CloudWatch
        "Throttling",  # query protocol services (STS, IAM, CloudFormation)
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",  # EC2
        "ProvisionedThroughputExceededException",  # DynamoDB
        "RequestThrottled",
        "InternalServerException",  # DRS
        "InternalServerError",  # DynamoDB
        "InternalError",  # EC2, query services
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "Unavailable",
        "RequestTimeout",
        "RequestTimeoutException",
        "IDPCommunicationError",
    ]
)


def error_code(error):
    return getattr(error, "response", {}).get("Error", {}).get("Code")


def retry_after_seconds(error):
    """The Retry-After the service asked for, in seconds, or None."""
    response = getattr(error, "response", None) or {}
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}) or {}
    value = headers.get("retry-after")
    if value is None:
        value = response.get("retryAfterSeconds")
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def is_retryable(error, extra_codes=None):
    """Whether calling again could succeed: throttling, 5xx and dropped connections are transient;
    validation, access, conflict and not-found errors are not."""
    transport = tuple(c for c in (ConnectionClosedError, EndpointConnectionError, ConnectTimeoutError,
                                  ReadTimeoutError) if c)
    if transport and isinstance(error, transport):
        return True
    if ClientError is None or not isinstance(error, ClientError):
        return False
    code = error_code(error)
    if code in RETRYABLE_CODES or (extra_codes and code in extra_codes):
        return True
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    return status >= 500


# Refusals made before any processing: the request can be sent again as it is. A throttled request is turned
# away by the rate limiter (DRS documents ThrottlingException as "the request was denied due to request
# throttling"); EC2's RequestLimitExceeded comes with status 503, so the code decides, not the status.
NOT_PROCESSED_CODES = frozenset(
    [
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
    ]
)


def response_lost(error):
    """Whether the request may have been processed although no success response arrived: the connection was
    made (EndpointConnectionError and ConnectTimeoutError mean it never was, so nothing was sent) and then
    the response timed out or the connection closed, or the service answered a 5xx other than throttling."""
    never_connected = tuple(c for c in (EndpointConnectionError, ConnectTimeoutError) if c)
    if never_connected and isinstance(error, never_connected):
        return False
    lost = tuple(c for c in (ConnectionClosedError, ReadTimeoutError) if c)
    if lost and isinstance(error, lost):
        return True
    if ClientError is None or not isinstance(error, ClientError):
        return False
    if error_code(error) in NOT_PROCESSED_CODES:
        return False
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    return status >= 500


class RetryPolicy:
    """How the collection retries: up to `retries` attempts in all, each wait the larger of a jittered
    exponential backoff and the service's Retry-After (capped at max_retry_after, so a misbehaving endpoint
    cannot stall a failover for long).

    Used as a decorator (an idempotent call: every transient failure is retried), and by run() with
    idempotent=False and an effect_lookup for a call that must not be repeated blindly.
    """

    def __init__(self, retries=10, delay=1.0, backoff=2.0, max_delay=30.0, max_retry_after=120.0,
                 catch_extra_error_codes=None, sleep=time.sleep):
        self.retries = retries
        self.delay = delay
        self.backoff = backoff
        self.max_delay = max_delay
        self.max_retry_after = max_retry_after
        self.catch_extra_error_codes = catch_extra_error_codes
        self.sleep = sleep

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            return self.run(lambda: func(*args, **kwargs))

        return wrapper

    def wait_for(self, error, attempt):
        backoff_wait = random.uniform(0, min(self.max_delay, self.delay * self.backoff ** (attempt - 1)))
        asked = retry_after_seconds(error)
        return backoff_wait if asked is None else max(min(asked, self.max_retry_after), backoff_wait)

    def run(self, call, idempotent=True, effect_lookup=None):
        """call() until it succeeds, a permanent error, or the attempts run out.

        idempotent=False: after an error where the response may have been lost (response_lost), the call is
        not made again before effect_lookup() (a read) has looked for its effect; what the lookup returns,
        if not None, is taken as the call's response. Without an effect_lookup such an error is raised as it
        is: calling again could do the work twice.
        """
        attempt = 0
        while True:
            try:
                return call()
            except Exception as error:  # pylint: disable=broad-except
                attempt += 1
                retryable = is_retryable(error, self.catch_extra_error_codes)
                lost = retryable and not idempotent and response_lost(error)
                if lost and effect_lookup is None:
                    raise
                if not retryable:
                    raise
                if attempt >= self.retries and not lost:
                    raise
                self.sleep(self.wait_for(error, attempt))
                if lost:
                    found = effect_lookup()
                    if found is not None:
                        return found
                if attempt >= self.retries:
                    raise


def call_non_idempotent(client, operation, effect_lookup, **params):
    """client.<operation>(**params) for an operation that must not run twice, retried by the client's
    RetryPolicy (the one AWSConnector builds it with) with idempotent=False and effect_lookup.

    A client without a RetryPolicy (a test double, or a connector given another retry decorator) is called
    with aws_retry=True as every other call is: its own retry applies.
    """
    policy = getattr(client, "retry", None)
    method = getattr(client, operation)
    if not isinstance(policy, RetryPolicy):
        return method(aws_retry=True, **params)
    # Without aws_retry the wrapper calls botocore directly: the policy below is the only retry.
    return policy.run(lambda: method(**params), idempotent=False, effect_lookup=effect_lookup)


class DRSRetry(AWSRetry):
    """AWSRetry whose waits honour Retry-After and which also retries dropped connections."""

    @staticmethod
    def found(response_code, catch_extra_error_codes=None):
        return response_code in RETRYABLE_CODES or AWSRetry.found(response_code, catch_extra_error_codes)

    @classmethod
    def honour_retry_after(cls, retries=10, delay=1.0, backoff=2.0, max_delay=30.0, max_retry_after=120.0,
                           catch_extra_error_codes=None, sleep=time.sleep):
        """Decorator (a RetryPolicy): retry transient failures up to `retries` attempts in all."""
        return RetryPolicy(retries=retries, delay=delay, backoff=backoff, max_delay=max_delay,
                           max_retry_after=max_retry_after, catch_extra_error_codes=catch_extra_error_codes,
                           sleep=sleep)
