# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Retries for every AWS call the collection makes: AWSRetry's codes, plus DRS's own, honouring Retry-After.

DRS publishes no request rates, so throttling can happen on any operation; its ThrottlingException and
InternalServerException carry a Retry-After header (drs-service-facts section 1). botocore's own retries
ignore that header, so the clients the collection builds disable them and retry here instead.
"""

import functools
import random
import time

try:
    from botocore.exceptions import ClientError
    from botocore.exceptions import ConnectionClosedError
    from botocore.exceptions import EndpointConnectionError
    from botocore.exceptions import ReadTimeoutError
except ImportError:  # modules report the missing SDK themselves
    ClientError = ConnectionClosedError = EndpointConnectionError = ReadTimeoutError = None

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
    transport = tuple(c for c in (ConnectionClosedError, EndpointConnectionError, ReadTimeoutError) if c)
    if transport and isinstance(error, transport):
        return True
    if ClientError is None or not isinstance(error, ClientError):
        return False
    code = error_code(error)
    if code in RETRYABLE_CODES or (extra_codes and code in extra_codes):
        return True
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    return status >= 500


class DRSRetry(AWSRetry):
    """AWSRetry whose waits honour Retry-After and which also retries dropped connections."""

    @staticmethod
    def found(response_code, catch_extra_error_codes=None):
        return response_code in RETRYABLE_CODES or AWSRetry.found(response_code, catch_extra_error_codes)

    @classmethod
    def honour_retry_after(cls, retries=10, delay=1.0, backoff=2.0, max_delay=30.0, max_retry_after=120.0,
                           catch_extra_error_codes=None, sleep=time.sleep):
        """Decorator: retry transient failures up to `retries` attempts in all.

        Each wait is the larger of a jittered exponential backoff and the service's Retry-After (capped at
        max_retry_after, so a misbehaving endpoint cannot stall a failover for long).
        """

        def decorator(func):
            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                attempt = 0
                while True:
                    try:
                        return func(*args, **kwargs)
                    except Exception as error:  # pylint: disable=broad-except
                        attempt += 1
                        if attempt >= retries or not is_retryable(error, catch_extra_error_codes):
                            raise
                        backoff_wait = random.uniform(0, min(max_delay, delay * backoff ** (attempt - 1)))
                        asked = retry_after_seconds(error)
                        wait = backoff_wait if asked is None else max(min(asked, max_retry_after), backoff_wait)
                        sleep(wait)

            return wrapper

        return decorator
