"""One HTTP endpoint for every service: DRS here, everything else through moto.

Requests are identified by their SigV4 credential scope (service and region) and their access key
(account, mapped the way moto maps it, so STS assumed-role credentials act in the role's account).
Every request runs under one lock: simulated work advances first, then the call is served and logged.
"""
from __future__ import annotations

import io
import json
import os
import threading
import time
import uuid
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from . import cloudformation, ec2defaults, ec2serialize, ec2tags
from .clock import Scheduler, SimClock
from .config import SimConfig
from .drs.models import DRSRegistry
from .drs.responses import DRSResponse
from .faults import FaultInjector, drop_response
from .iam import quotas as iam_quotas
from .iam.enforcer import IAMEnforcer
from .requestlog import RequestLog


class Runtime:
    """Everything the simulator knows besides moto's own backends."""

    def __init__(self, time_scale: float = 1.0, config: SimConfig | None = None, iam_enforce: bool | None = None):
        self.lock = threading.RLock()
        self.clock = SimClock(time_scale)
        self.scheduler = Scheduler(self.clock)
        self.config = config or SimConfig()
        self.faults = FaultInjector()
        self.log = RequestLog()
        self.drs = DRSRegistry(self)
        self.iam = IAMEnforcer(self, iam_enforce)
        self.estate_summary: dict | None = None

    def reset(self):
        """Forget all DRS state, faults, logged requests and settings, and bring simulated time back to
        real time at the same time scale (moto's reset does the rest)."""
        self.config = SimConfig()
        self.clock = SimClock(self.clock.time_scale)
        self.scheduler = Scheduler(self.clock)
        self.faults.remove()
        self.log.clear()
        self.drs.reset()
        self.iam.reset()
        self.estate_summary = None


def _credential_scope(environ):
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if "Credential=" not in auth:
        return None, None, None
    try:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0]
        access_key, _date, region, service, _ = scope.split("/")
    except ValueError:
        return None, None, None
    return access_key, region, service


def _account_for(environ, access_key):
    # Same precedence as moto's BaseResponse.get_current_account.
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    if environ.get("HTTP_X_MOTO_ACCOUNT_ID"):
        return environ["HTTP_X_MOTO_ACCOUNT_ID"]
    from moto.iam.models import get_account_id_from

    return get_account_id_from(access_key or "AKIAEXAMPLE")


def _read_body(environ) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    if length:
        body = stream.read(length)
    elif environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


_SIGNING_TO_SERVICE = {"monitoring": "cloudwatch"}


def _operation_for(environ, body: bytes) -> str:
    """The operation name of a moto-served request, whatever its protocol."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    path = environ.get("PATH_INFO", "")
    if "/operation/" in path:  # smithy-rpc-v2-cbor (CloudWatch)
        return path.rsplit("/operation/", 1)[1].strip("/")
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return query["Action"][0]
    if body and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        form = parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return form["Action"][0]
    return f"{environ.get('REQUEST_METHOD', 'GET')} {path}"


class SimulatorApp:
    """The WSGI application behind `python -m drs_simulator serve`."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        cloudformation.install()
        ec2tags.install()
        ec2defaults.install()
        iam_quotas.install()
        ec2serialize.install()
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.drs = DRSResponse(runtime.drs)
        from .control import ControlAPI

        self.control = ControlAPI(runtime)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_simulator/"):
            with self.runtime.lock:
                self.runtime.scheduler.run_due()
                status, headers, body = self.control.handle(environ)
            return _respond(start_response, status, headers, body)
        if path.startswith("/moto-api/reset"):
            with self.runtime.lock:
                self.runtime.reset()
                return [b"".join(self.moto(environ, start_response))]
        access_key, region, signing_name = _credential_scope(environ)
        if signing_name is None:
            with self.runtime.lock:
                return [b"".join(self.moto(environ, start_response))]
        service = _SIGNING_TO_SERVICE.get(signing_name, signing_name)
        with self.runtime.lock:
            self.runtime.scheduler.run_due()
            account = _account_for(environ, access_key)
            body = _read_body(environ)
            self.runtime.iam.identify(access_key, account, environ.get("HTTP_X_AMZ_SECURITY_TOKEN"))
            if service == "drs":
                return self._serve_drs(environ, start_response, body, account, region)
            from .idempotency import serve as idempotent  # honours the model's idempotency tokens
            return idempotent(self.runtime, service, account, region, environ, body, start_response,
                              lambda respond: self._serve_moto(environ, respond, body, service, account, region))

    def _serve_drs(self, environ, start_response, body, account, region):
        from .drs import shapes

        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        try:
            operation = shapes.route(method, path)[0]
        except Exception:
            operation = path.strip("/").split("/")[0] or "Unknown"
        started = time.perf_counter()
        denial = self.runtime.iam.authorize("drs", operation, environ, body, account, region)
        fault = denial or self.runtime.faults.request_fault("drs", operation, account, region)
        if fault is not None:
            status, headers, payload = _drs_fault_response(fault)
        else:
            status, headers, payload, operation = self.drs.dispatch(
                method, path, environ.get("QUERY_STRING", ""), body, account, region)
            fault = self.runtime.faults.response_fault("drs", operation, account, region, status)
        self.runtime.log.record(service="drs", operation=operation, account=account, region=region,
                                status=status, sim_time=self.runtime.clock.now(),
                                fault=_fault_id(fault), seconds=time.perf_counter() - started)
        headers.setdefault("x-amzn-RequestId", str(uuid.uuid4()))
        if fault is not None and getattr(fault, "type", None) == "response_lost":
            drop_response(environ)
        return _respond(start_response, status, headers, payload)

    def _serve_moto(self, environ, start_response, body, service, account, region):
        started = time.perf_counter()
        operation = _operation_for(environ, body)
        denial = self.runtime.iam.authorize(service, operation, environ, body, account, region)
        fault = denial or self.runtime.faults.request_fault(service, operation, account, region)
        if fault is None and service == "iam" and operation == "SimulatePrincipalPolicy":
            from .iam.requests import request_params

            status, xml = self.runtime.iam.simulate_principal_policy(request_params(environ, body))
            self.runtime.log.record(service=service, operation=operation, account=account, region=region,
                                    status=status, sim_time=self.runtime.clock.now(),
                                    seconds=time.perf_counter() - started)
            return _respond(start_response, status, {"Content-Type": "text/xml"}, xml.encode())
        if fault is not None:
            status, headers, payload = _moto_fault_response(fault, service, environ)
            self.runtime.log.record(service=service, operation=operation, account=account, region=region,
                                    status=status, sim_time=self.runtime.clock.now(), fault=_fault_id(fault),
                                    seconds=time.perf_counter() - started)
            return _respond(start_response, status, headers, payload)
        captured = {}

        def capture(status_line, headers, exc_info=None):
            captured["status"] = int(status_line.split(" ", 1)[0])
            return start_response(status_line, headers, exc_info)

        payload = b"".join(self.moto(environ, capture))
        lost = self.runtime.faults.response_fault(service, operation, account, region, captured.get("status", 500))
        self.runtime.log.record(service=service, operation=operation, account=account, region=region,
                                status=captured.get("status", 500), sim_time=self.runtime.clock.now(),
                                fault=_fault_id(lost), seconds=time.perf_counter() - started)
        if lost is not None:
            drop_response(environ)
        return [payload]


def _respond(start_response, status, headers, body: bytes):
    reason = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request",
              402: "Payment Required", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
              409: "Conflict", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
              503: "Service Unavailable", 504: "Gateway Timeout"}.get(status, "Status")
    headers = dict(headers)
    headers["Content-Length"] = str(len(body))
    start_response(f"{status} {reason}", list(headers.items()))
    return [body]


def _fault_id(fault):
    """The request log's `fault` of an injected fault, or "iam-denied" for a request IAM refused."""
    if fault is None:
        return None
    return getattr(fault, "id", None) or "iam-denied"


def _drs_fault_response(fault):
    from .drs.exceptions import AccessDeniedException, InternalServerException, ThrottlingException

    if fault.type == "throttle":
        error = ThrottlingException(fault.message, retry_after=fault.retry_after)
    elif fault.type == "access_denied":
        error = AccessDeniedException(fault.message)
    else:
        error = InternalServerException(fault.message, retry_after=fault.retry_after)
    status = fault.status if fault.type == "server_error" else error.status
    return status, {"Content-Type": "application/json", **error.headers()}, json.dumps(error.body()).encode()


# Error codes each protocol family uses for the injected request faults.
_THROTTLE_CODES = {"ec2": "RequestLimitExceeded", "dynamodb": "ThrottlingException"}


def _wire_protocol(environ, service):
    """(protocol the client used for this request, service model or None).

    botocore picks the first protocol it supports from a model's `protocols` list (CloudWatch: `json`
    before `smithy-rpc-v2-cbor`), so errors must follow the request, not the model's `protocol`.
    """
    import botocore.session

    try:
        model = botocore.session.get_session().get_service_model(service)
        protocol = model.protocol
    except Exception:
        model, protocol = None, "query"
    if environ.get("HTTP_SMITHY_PROTOCOL") == "rpc-v2-cbor" or "/operation/" in environ.get("PATH_INFO", ""):
        return "smithy-rpc-v2-cbor", model
    if environ.get("HTTP_X_AMZ_TARGET"):
        return "json", model
    if protocol not in ("ec2", "query") and (
            environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded")
            or "Action=" in environ.get("QUERY_STRING", "")):
        return "query", model
    return protocol, model


def _moto_fault_response(fault, service, environ):
    from xml.sax.saxutils import escape

    protocol, model = _wire_protocol(environ, service)
    if fault.type == "throttle":
        code = _THROTTLE_CODES.get(service, "ThrottlingException" if protocol != "query" else "Throttling")
        status = 503 if service == "ec2" else 400
    elif fault.type == "access_denied":
        code = "UnauthorizedOperation" if service == "ec2" else "AccessDeniedException"
        if protocol == "query":
            code = "AccessDenied"
        status = 403 if service != "dynamodb" else 400
    else:
        code = "InternalError" if protocol in ("ec2", "query") else "InternalServerError"
        status = fault.status or 500
    headers = {"Retry-After": str(fault.retry_after)} if fault.type in ("throttle", "server_error") else {}
    request_id = str(uuid.uuid4())
    if protocol == "ec2":
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{code}</Code>"
                f"<Message>{escape(fault.message)}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>")
        return status, {"Content-Type": "text/xml", **headers}, body.encode()
    if protocol == "query":
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{escape(fault.message)}</Message>"
                f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>")
        return status, {"Content-Type": "text/xml", **headers}, body.encode()
    if protocol == "smithy-rpc-v2-cbor":
        from .cbor import dumps

        headers.update({"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"})
        return status, headers, dumps({"__type": code, "message": fault.message})
    json_version = (model.metadata.get("jsonVersion") if model is not None else None) or "1.0"
    headers.update({"Content-Type": f"application/x-amz-json-{json_version}", "x-amzn-ErrorType": code})
    if model is not None and "awsQueryCompatible" in model.metadata:
        # A former query service (CloudWatch) speaking JSON: botocore reports the query error code.
        query_code = {"throttle": "Throttling", "access_denied": "AccessDenied"}.get(fault.type, "InternalError")
        headers["x-amzn-query-error"] = f"{query_code};{'Receiver' if fault.type == 'server_error' else 'Sender'}"
    return status, headers, json.dumps({"__type": code, "message": fault.message}).encode()
