"""Idempotency tokens, read from the botocore model of each request's service and operation.

An input member with the model's ``idempotencyToken`` trait (EC2 RunInstances/CreateVolume ``ClientToken``,
CloudFormation CreateStack ``ClientRequestToken``, DynamoDB TransactWriteItems ``ClientRequestToken``, DRS
``clientToken`` of the recovery-plan calls, ...) makes a repeated request with the same token and the same
input return the original result without doing the work again; the same token with a different input is
refused with the error the service documents:

- EC2: ``IdempotentParameterMismatch`` (EC2 API reference, "Ensuring idempotency": "If you repeat a request
  with the same client token but change another request parameter, Amazon EC2 returns an
  IdempotentParameterMismatch error").
- DynamoDB: ``IdempotentParameterMismatchException`` (TransactWriteItems API reference); a token is valid
  for 10 minutes, after which the request is new.
- CloudFormation: ``TokenAlreadyExistsException`` (modelled error of CreateStack and the other calls with a
  ``ClientRequestToken``).
- DRS: ``ConflictException`` (AWS documents no answer for DRS; docs/DRS_BEHAVIOUR.md section 11).
- Any other service: the operation's modelled error whose name says idempotent/token mismatch, else
  ``IdempotentParameterMismatch``.

Only successful answers are remembered: a request that failed (including an injected fault) may be retried
with its token and is served again. boto3 fills an unset token with a fresh UUID per call, so ordinary
traffic never repeats a token.
"""
from __future__ import annotations

import functools
import json
import time
from urllib.parse import parse_qs

import botocore.session

# Seconds a token is remembered, by service (DynamoDB documents 10 minutes); others keep it for the run.
TOKEN_LIFETIME = {"dynamodb": 600.0}
# Members the API reference documents as idempotency tokens although the model gives them no trait:
# CloudFormation's ClientRequestToken ("A unique identifier for this CreateStack request. Specify this token
# if you plan to retry requests so that CloudFormation knows that you're not attempting to create a stack
# with the same name", CreateStack API reference; likewise UpdateStack, DeleteStack and the stack-set calls).
DOCUMENTED_TOKENS = {"cloudformation": "ClientRequestToken"}
_MISMATCH_NAMES = ("IdempotentParameterMismatchException", "IdempotentParameterMismatch", "TokenAlreadyExistsException")


class TokenMismatch(Exception):
    """The same idempotency token with a different input."""

    def __init__(self, operation, member, token):
        super().__init__(f"The idempotency token {member}={token!r} was already used for a {operation} request "
                         f"with different parameters. Use a new token for a different request, or repeat the "
                         f"original request unchanged.")
        self.operation, self.member, self.token = operation, member, token


class Store:
    """Remembered successful answers: (service, account, region, operation, token) -> (fingerprint, answer)."""

    def __init__(self):
        self._entries: dict = {}

    def clear(self):
        self._entries.clear()

    def has(self, key):
        return key in self._entries

    def lookup(self, key, fingerprint, operation, member, now):
        """The remembered answer for key, None for a new request; TokenMismatch for a different input."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        remembered, answer, stored_at = entry
        lifetime = TOKEN_LIFETIME.get(key[0])
        if lifetime is not None and now - stored_at > lifetime:
            del self._entries[key]
            return None
        if remembered != fingerprint:
            raise TokenMismatch(operation, member, key[-1])
        return answer

    def remember(self, key, fingerprint, answer, now):
        self._entries[key] = (fingerprint, answer, now)


@functools.lru_cache(maxsize=64)
def _service_model(service):
    try:
        return botocore.session.get_session().get_service_model(service)
    except Exception:  # a service botocore does not know has no tokens to honour
        return None


@functools.lru_cache(maxsize=1024)
def token_member(service, operation):
    """(member name, wire name) of the operation's top-level idempotency-token member, or None."""
    # The trait, read from the installed model, decides; DOCUMENTED_TOKENS adds what the model leaves out.
    model = _service_model(service)
    if model is None:
        return None
    try:
        shape = model.operation_model(operation).input_shape
    except Exception:
        return None
    if shape is None:
        return None
    for name, member in shape.members.items():
        if member.metadata.get("idempotencyToken") or DOCUMENTED_TOKENS.get(service) == name:
            if model.protocol == "ec2":
                wire = member.serialization.get("queryName") or _capitalize(member.serialization.get("name")) or name
            else:
                wire = member.serialization.get("name", name)
            return name, wire
    return None


def _capitalize(text):
    return text[:1].upper() + text[1:] if text else text


def mismatch_error(service, operation):
    """(error code, HTTP status) the service answers a token reused with a different input."""
    if service == "ec2":
        return "IdempotentParameterMismatch", 400
    model = _service_model(service)
    if model is not None:
        errors = model.operation_model(operation).error_shapes
        for wanted in _MISMATCH_NAMES:
            for shape in errors:
                if shape.name == wanted:
                    meta = shape.metadata.get("error") or {}
                    return meta.get("code", shape.name), int(meta.get("httpStatusCode", 400))
    return "IdempotentParameterMismatch", 400


def request_token(service, operation, environ, body):
    """(member, token, fingerprint of the whole input) of a moto-served request, or None without a token."""
    found = token_member(service, operation)
    if found is None:
        return None
    member, wire = found
    if environ.get("HTTP_X_AMZ_TARGET"):  # JSON protocols: the input is the body
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            return None
        token = params.get(wire) if isinstance(params, dict) else None
        fingerprint = json.dumps(params, sort_keys=True)
    elif environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded") or \
            "Action=" in environ.get("QUERY_STRING", ""):
        params = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        for key, values in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items():
            params.setdefault(key, []).extend(values)
        token = (params.get(wire) or [None])[0]
        fingerprint = json.dumps(sorted((k, sorted(v)) for k, v in params.items()))
    else:  # REST and CBOR protocols: none of the operations the project uses carries a token there
        return None
    if not token:
        return None
    return member, token, fingerprint


def _error_body(service, environ, code, status, message):
    from xml.sax.saxutils import escape

    request_id = "idempotency-" + format(int(time.time() * 1000), "x")
    if service == "ec2":
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{code}</Code>"
                f"<Message>{escape(message)}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>")
        return {"Content-Type": "text/xml"}, body.encode()
    if environ.get("HTTP_X_AMZ_TARGET"):
        model = _service_model(service)
        version = (model.metadata.get("jsonVersion") if model is not None else None) or "1.0"
        return ({"Content-Type": f"application/x-amz-json-{version}", "x-amzn-ErrorType": code},
                json.dumps({"__type": code, "message": message}).encode())
    body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>")
    return {"Content-Type": "text/xml"}, body.encode()


def serve(runtime, service, account, region, environ, body, start_response, serve_fresh):
    """Answer a moto-served request: replay, refuse, or serve it fresh with serve_fresh(start_response)."""
    from .server import _operation_for, _respond

    operation = _operation_for(environ, body)
    found = request_token(service, operation, environ, body)
    if found is None:
        return serve_fresh(start_response)
    member, token, fingerprint = found
    store = runtime.drs.idempotency
    key = (service, account, region, operation, token)
    now = runtime.clock.now().timestamp()
    started = time.perf_counter()
    iam = getattr(runtime, "iam", None)
    if store.has(key) and iam is not None:
        # A caller not allowed the call gets the denial, never a remembered answer.
        denial = iam.authorize(service, operation, environ, body, account, region)
        if denial is not None:
            from .server import _moto_fault_response

            status, headers, payload = _moto_fault_response(denial, service, environ)
            _log(runtime, service, operation, account, region, status, started)
            return _respond(start_response, status, headers, payload)
    try:
        answer = store.lookup(key, fingerprint, operation, member, now)
    except TokenMismatch as mismatch:
        code, status = mismatch_error(service, operation)
        headers, payload = _error_body(service, environ, code, status, str(mismatch))
        _log(runtime, service, operation, account, region, status, started)
        return _respond(start_response, status, headers, payload)
    if answer is not None:
        status, headers, payload = answer
        _log(runtime, service, operation, account, region, status, started)
        return _respond(start_response, status, dict(headers), payload)
    captured = {}

    def capture(status_line, headers, exc_info=None):
        captured["status"] = int(status_line.split(" ", 1)[0])
        captured["headers"] = [(k, v) for k, v in headers if k.lower() != "content-length"]
        return start_response(status_line, headers, exc_info)

    payload = b"".join(serve_fresh(capture))
    if 200 <= captured.get("status", 500) < 300:
        store.remember(key, fingerprint, (captured["status"], captured["headers"], payload), now)
    return [payload]


def _log(runtime, service, operation, account, region, status, started):
    runtime.log.record(service=service, operation=operation, account=account, region=region, status=status,
                       sim_time=runtime.clock.now(), seconds=time.perf_counter() - started)
