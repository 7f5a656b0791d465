"""Check a raw DRS JSON body (as it came off the wire, before botocore parses it) against the botocore model.

botocore's parser is lenient: it drops members it does not know, never checks enums or patterns, and
would turn an epoch number into a timestamp. A client built on a stricter SDK (or on the next model
version) would not be so forgiving, so the conformance suite checks the wire itself: types, required
members, enum values, string patterns (``re.fullmatch``, as the model's patterns are whole-value
patterns), length and range limits, ISO-8601 timestamp strings (docs/DRS_BEHAVIOUR.md section 1) and no
members the shape does not define. Every problem names its JSON path, e.g. ``$.items[0].arn``.
"""
from __future__ import annotations

import datetime as _dt
import functools
import re

import botocore.session

# Limits of the botocore DRS model that contradict the model itself. The checker waives such a limit only
# for a value that matches the shape's own pattern; everything else about the value is still checked.
MODEL_ERRATA = {
    ("EbsVolumeID", "max"): "max 19 contradicts the pattern vol-([0-9a-fA-F]{8}|[0-9a-fA-F]{17}), which admits "
                            "the 21-character IDs of every current EC2 volume",
}

# An ISO-8601 date-time as DRS sends it; docs/DRS_BEHAVIOUR.md section 1: `Z` or an explicit offset such as `+00:00`.
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


@functools.lru_cache(maxsize=1)
def service_model():
    return botocore.session.get_session().get_service_model("drs")


def output_shape(operation: str):
    return service_model().operation_model(operation).output_shape


def error_shape(code: str):
    shape = service_model().shape_for(code)
    if not shape.metadata.get("exception"):
        raise ValueError(f"{code} is not an error shape of the DRS model")
    return shape


def check_output(operation: str, body) -> list[str]:
    """Problems of a raw success body of `operation`; an operation without output must send no members."""
    shape = output_shape(operation)
    if shape is None:
        return [] if body in (None, {}) else [f"$: {operation} has no output shape but the body is {body!r}"]
    return check(shape, body)


def check_error(code: str, body) -> list[str]:
    """Problems of a raw error body against the modelled error shape `code` (e.g. ValidationException)."""
    return check(error_shape(code), body)


def check(shape, value, path: str = "$") -> list[str]:
    problems: list[str] = []
    _check(shape, value, path, problems)
    return problems


def body_members(shape) -> dict:
    """Wire name -> member shape of the members a structure carries in the JSON body (not headers/URI)."""
    out = {}
    for name, member in shape.members.items():
        if member.serialization.get("location"):
            continue
        out[member.serialization.get("name", name)] = member
    return out


def _check(shape, value, path, problems):
    kind = shape.type_name
    meta = shape.metadata
    if value is None:
        # Unset members are omitted on the wire; an explicit null is not a value of any shape.
        problems.append(f"{path}: null (an unset member must be omitted) for {shape.name} ({kind})")
        return
    if kind == "structure":
        if not isinstance(value, dict):
            return problems.append(f"{path}: expected an object for {shape.name}, got {_kind(value)}")
        members = body_members(shape)
        for required in shape.required_members:
            wire = shape.members[required].serialization.get("name", required)
            if wire in members and wire not in value:
                problems.append(f"{path}.{wire}: required member of {shape.name} is missing")
        for key, item in value.items():
            if key not in members:
                problems.append(f"{path}.{key}: not a member of {shape.name} "
                                f"(members: {', '.join(sorted(members)) or 'none'})")
                continue
            _check(members[key], item, f"{path}.{key}", problems)
        if meta.get("union") and len(value) != 1:
            problems.append(f"{path}: union {shape.name} must set exactly one member, got {sorted(value)}")
    elif kind == "list":
        if not isinstance(value, list):
            return problems.append(f"{path}: expected a list for {shape.name}, got {_kind(value)}")
        _check_range(meta, len(value), path, problems, f"{shape.name} length")
        for index, item in enumerate(value):
            _check(shape.member, item, f"{path}[{index}]", problems)
    elif kind == "map":
        if not isinstance(value, dict):
            return problems.append(f"{path}: expected an object (map) for {shape.name}, got {_kind(value)}")
        _check_range(meta, len(value), path, problems, f"{shape.name} size")
        for key, item in value.items():
            _check(shape.key, key, f"{path}<key {key!r}>", problems)
            _check(shape.value, item, f"{path}[{key!r}]", problems)
    elif kind == "string":
        if not isinstance(value, str):
            return problems.append(f"{path}: expected a string for {shape.name}, got {_kind(value)} {value!r}")
        pattern = meta.get("pattern")
        matches = not pattern or re.fullmatch(pattern, value) is not None
        if not matches:
            problems.append(f"{path}: {value!r} does not match the pattern of {shape.name}: {pattern}")
        waived = {limit for (name, limit) in MODEL_ERRATA if name == shape.name} if pattern and matches else set()
        _check_range({k: v for k, v in meta.items() if k not in waived}, len(value), path, problems,
                     f"{shape.name} length")
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} is not a value of enum {shape.name} ({', '.join(shape.enum)})")
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return problems.append(f"{path}: expected an integer for {shape.name}, got {_kind(value)} {value!r}")
        _check_range(meta, value, path, problems, f"{shape.name} value")
    elif kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{path}: expected a number for {shape.name}, got {_kind(value)} {value!r}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{path}: expected a boolean for {shape.name}, got {_kind(value)} {value!r}")
    elif kind == "timestamp":
        # DRS timestamps are ISO-8601 strings, never epoch numbers (docs/DRS_BEHAVIOUR.md section 1).
        if not isinstance(value, str):
            return problems.append(f"{path}: expected an ISO-8601 timestamp string for {shape.name}, "
                                   f"got {_kind(value)} {value!r}")
        if not _ISO_DATETIME.fullmatch(value) or _parse_iso(value) is None:
            problems.append(f"{path}: {value!r} is not an ISO-8601 date-time ({shape.name})")
    elif kind == "blob":
        if not isinstance(value, str):
            problems.append(f"{path}: expected a base64 string for {shape.name}, got {_kind(value)}")
    else:
        problems.append(f"{path}: the checker does not know shape type {kind} ({shape.name})")


def _check_range(meta, size, path, problems, what):
    if "min" in meta and size < meta["min"]:
        problems.append(f"{path}: {what} {size} is below the minimum {meta['min']}")
    if "max" in meta and size > meta["max"]:
        problems.append(f"{path}: {what} {size} is above the maximum {meta['max']}")


def _parse_iso(text):
    try:
        return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _kind(value) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", int: "integer",
            float: "number"}.get(type(value), type(value).__name__)
