"""The botocore DRS model as the simulator's contract: routing, input validation, output shaping.

botocore only checks required members, types and minimums on the client; list maxima, ID patterns
and enum values reach the server (docs/DRS_BEHAVIOUR.md section 1), so the simulator checks them here,
from the same model the clients use.
"""
from __future__ import annotations

import datetime as _dt
import functools
import json
import re
from urllib.parse import parse_qs

import botocore.session

from .exceptions import NotImplementedOperation, ValidationException


@functools.lru_cache(maxsize=1)
def service_model():
    return botocore.session.get_session().get_service_model("drs")


@functools.lru_cache(maxsize=1)
def _routes():
    """(method, compiled path regex, operation name) for every operation of the model."""
    routes = []
    model = service_model()
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = http["requestUri"].split("?")[0]
        pattern = re.sub(r"\{(\w+)\+?\}", r"(?P<\1>.+)", uri)
        routes.append((http["method"], re.compile(f"^{pattern}$"), name))
    return routes


def route(method: str, path: str) -> tuple[str, dict]:
    """Return the operation a request names and its URI labels; unknown paths are modelled errors."""
    for route_method, regex, name in _routes():
        match = regex.match(path)
        if match and route_method == method:
            return name, match.groupdict()
    raise NotImplementedOperation(f"{method} {path}")


def parse_request(operation: str, labels: dict, query_string: str, body: bytes) -> dict:
    """Collect an operation's input from the body, the URI labels and the query string."""
    op_model = service_model().operation_model(operation)
    params: dict = {}
    if body:
        try:
            params = json.loads(body)
        except ValueError as exc:
            raise ValidationException(f"Request body is not valid JSON: {exc}", reason="cannotParse") from exc
        if not isinstance(params, dict):
            raise ValidationException("Request body must be a JSON object", reason="cannotParse")
    shape = op_model.input_shape
    if shape is None:
        return params
    query = parse_qs(query_string, keep_blank_values=True)
    for member_name, member in shape.members.items():
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", member_name)
        if location == "uri" and wire_name in labels:
            params[member_name] = labels[wire_name]
        elif location == "querystring" and wire_name in query:
            values = query[wire_name]
            if member.type_name == "list":
                params[member_name] = values
            elif member.type_name in ("integer", "long"):
                try:
                    params[member_name] = int(values[0])
                except ValueError as exc:
                    raise ValidationException(
                        f"{member_name} must be an integer", field_list=[{"name": member_name, "message": "not an integer"}]
                    ) from exc
            else:
                params[member_name] = values[0]
    return params


def validate(shape, value, path: str, errors: list) -> None:
    """Check value against a botocore shape the way the service does; append {name, message} items."""
    if value is None:
        return
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if not isinstance(value, dict):
            errors.append({"name": path, "message": "must be an object"})
            return
        for required in shape.required_members:
            if value.get(required) is None:
                errors.append({"name": _join(path, required), "message": "is required"})
        if meta.get("union") and len([k for k in value if value[k] is not None]) > 1:
            errors.append({"name": path, "message": "exactly one member may be set"})
        for key, item in value.items():
            if key in shape.members:
                validate(shape.members[key], item, _join(path, key), errors)
    elif kind == "list":
        if not isinstance(value, list):
            errors.append({"name": path, "message": "must be a list"})
            return
        _check_size(meta, len(value), path, errors, "items")
        for index, item in enumerate(value):
            validate(shape.member, item, f"{path}[{index}]", errors)
    elif kind == "map":
        if not isinstance(value, dict):
            errors.append({"name": path, "message": "must be a map"})
            return
        _check_size(meta, len(value), path, errors, "entries")
        for key, item in value.items():
            validate(shape.key, key, f"{path}.<key>", errors)
            validate(shape.value, item, f"{path}[{key}]", errors)
    elif kind == "string":
        if not isinstance(value, str):
            errors.append({"name": path, "message": "must be a string"})
            return
        _check_size(meta, len(value), path, errors, "characters")
        if "pattern" in meta and not re.fullmatch(meta["pattern"], value):
            errors.append({"name": path, "message": f"must match pattern {meta['pattern']}"})
        if shape.enum and value not in shape.enum:
            errors.append({"name": path, "message": f"must be one of {', '.join(shape.enum)}"})
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append({"name": path, "message": "must be an integer"})
            return
        if "min" in meta and value < meta["min"]:
            errors.append({"name": path, "message": f"must be at least {meta['min']}"})
        if "max" in meta and value > meta["max"]:
            errors.append({"name": path, "message": f"must be at most {meta['max']}"})
    elif kind == "boolean":
        if not isinstance(value, bool):
            errors.append({"name": path, "message": "must be a boolean"})


def _check_size(meta, size, path, errors, unit):
    if "min" in meta and size < meta["min"]:
        errors.append({"name": path, "message": f"must have at least {meta['min']} {unit}"})
    if "max" in meta and size > meta["max"]:
        errors.append({"name": path, "message": f"must have at most {meta['max']} {unit}"})


def _join(path, name):
    return f"{path}.{name}" if path else name


def validate_input(operation: str, params: dict) -> None:
    shape = service_model().operation_model(operation).input_shape
    if shape is None:
        return
    errors: list = []
    validate(shape, params, "", errors)
    if errors:
        detail = "; ".join(f"{e['name']} {e['message']}" for e in errors[:5])
        raise ValidationException(f"Invalid request: {detail}", field_list=errors)


def timestamp(value: _dt.datetime) -> str:
    """ISO-8601 string with milliseconds and Z, the form DRS sends (never an epoch number)."""
    value = value.astimezone(_dt.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def duration(seconds: float) -> str:
    """ISO-8601 duration such as PT42S, the form of lagDuration."""
    seconds = max(0, int(round(seconds)))
    return f"PT{seconds}S"


def to_wire(value):
    """Drop unset members and turn datetimes into DRS timestamp strings."""
    if isinstance(value, dict):
        return {k: to_wire(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [to_wire(v) for v in value]
    if isinstance(value, _dt.datetime):
        return timestamp(value)
    return value
