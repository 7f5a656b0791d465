"""DRS errors as the service sends them: status, ``x-amzn-ErrorType`` and the modelled body members.

The table of shapes and status codes follows the botocore model (docs/DRS_BEHAVIOUR.md section 1).
"""
from __future__ import annotations


class DRSError(Exception):
    """A modelled DRS error; ``body()`` gives the JSON members, ``headers()`` the extra headers."""

    code = "InternalServerException"
    status = 500

    def __init__(self, message: str, **members):
        super().__init__(message)
        self.message = message
        self.members = {k: v for k, v in members.items() if v is not None}
        self.retry_after = self.members.pop("retry_after", None)

    def body(self) -> dict:
        body = {"message": self.message}
        body.update(self.members)
        return body

    def headers(self) -> dict:
        headers = {"x-amzn-ErrorType": self.code}
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class ValidationException(DRSError):
    code = "ValidationException"
    status = 400

    def __init__(self, message, reason="fieldValidationFailed", field_list=None):
        members = {"code": "ValidationException", "reason": reason}
        if field_list:
            members["fieldList"] = field_list
        super().__init__(message, **members)


class UninitializedAccountException(DRSError):
    code = "UninitializedAccountException"
    status = 400

    def __init__(self, account_id: str, region: str):
        super().__init__(
            f"Account {account_id} is not initialized for Elastic Disaster Recovery in {region}. "
            "Call InitializeService in this account and region first.",
            code="UninitializedAccountException",
        )


class ServiceQuotaExceededException(DRSError):
    code = "ServiceQuotaExceededException"
    status = 402

    def __init__(self, message, quota_code, resource_type=None, resource_id=None):
        super().__init__(
            message,
            code="ServiceQuotaExceededException",
            serviceCode="drs",
            quotaCode=quota_code,
            resourceType=resource_type,
            resourceId=resource_id,
        )


class AccessDeniedException(DRSError):
    code = "AccessDeniedException"
    status = 403

    def __init__(self, message="User is not authorized to perform this action"):
        super().__init__(message, code="AccessDeniedException")


class ResourceNotFoundException(DRSError):
    code = "ResourceNotFoundException"
    status = 404

    def __init__(self, resource_type: str, resource_id: str, message: str | None = None):
        super().__init__(
            message or f"{resource_type} {resource_id} not found",
            code="ResourceNotFoundException",
            resourceId=resource_id,
            resourceType=resource_type,
        )


class ConflictException(DRSError):
    code = "ConflictException"
    status = 409

    def __init__(self, message, resource_type=None, resource_id=None, condition="CONFLICT"):
        # The `code` member of a real ConflictException carries undocumented condition text;
        # clients must match on the class and resourceType (docs/DRS_BEHAVIOUR.md section 1).
        super().__init__(message, code=condition, resourceId=resource_id, resourceType=resource_type)


class ThrottlingException(DRSError):
    code = "ThrottlingException"
    status = 429

    def __init__(self, message="Rate exceeded", retry_after=1):
        super().__init__(message, serviceCode="drs", quotaCode="drs-api-rate", retry_after=retry_after)


class InternalServerException(DRSError):
    code = "InternalServerException"
    status = 500

    def __init__(self, message="An internal error occurred", retry_after=None):
        super().__init__(message, retry_after=retry_after)


class NotImplementedOperation(ValidationException):
    """An operation of the DRS model that the simulator does not implement."""

    def __init__(self, operation: str):
        super().__init__(
            f"The DRS simulator does not implement {operation}. "
            "See docs/simulator.md for the implemented operations.",
            reason="unknownOperation",
        )
