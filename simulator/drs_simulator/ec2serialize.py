"""moto's EC2 response serializer with the same output, built in a fraction of the time.

moto 5.2.5 builds every EC2 response with its generic, model-driven serializer (`moto/core/serialize.py`,
`EC2Serializer`): it walks the botocore output shape and, for every member of every structure, asks an
`XFormedAttributePicker` which attribute of the Python object holds the value. The picker works out the
candidate attribute names from six alias rules (explicit `Meta.serialization_aliases`, the shape's name,
the key itself, the key less its parent shape's name, the key less the object's class name, the model's
serialization name; each also in snake_case) and then matches the member's path against every response
transformer of the service. It does that afresh for each member of each object: one DescribeInstances
page of 1,000 instances is about 145,000 such look-ups. The result is then written as XML by
`xmltodict.unparse` through a SAX generator, one method call per element. Together that took about 4 s
for a page of 1,000 instances on a slow core, where the backend's own filtering took 0.05 s.

`FastEC2Serializer` is moto's `EC2Serializer` with these steps done differently, same results (on the
same slow core, 0.6 s instead of 2.8 s for that page, byte for byte the same body):

- **Candidate names are worked out once.** Every input of the alias rules is part of a memo key: the
  object's class, the member key, the member shape and its parent structure shape (moto shapes are
  cached and compared by identity), and the object's explicit alias for the key, if any. The candidates
  themselves come from moto's own `get_possible_keys`, so their order is moto's. The value is still read
  from the object on every call, trying the candidates in that order the way moto's `get_value` reads
  them (an item of an object that has `__getitem__`, else an attribute; a dotted path through moto's
  `get_value` itself): an attribute that one object has and another of the same class lacks is found
  exactly as before. The response transformer that applies to a member path is found once per response
  (the service's transformer table is read at the time of each response, as moto does), and so is the
  serializer method for each shape type.
- **XML is written straight into a list of strings.** `unparse` gives what `xmltodict.unparse(...,
  short_empty_elements=True)` gives, character for character, for the values the serializer produces
  (dictionaries, lists, strings, booleans, integers, floats, None, `@` attributes with plain values,
  `#text`). Anything else (pretty printing, comments, namespace maps, byte strings, other iterables or
  types, a name xmltodict would refuse) raises `Unsupported`, and that body is written by xmltodict.

Backend work (filters, pagination, the instances chosen) is moto's, untouched: only the writing of the
response changes.

Any picker or alias set other than moto's default one makes `get_value` use moto's own code. The
environment variable `DRS_SIMULATOR_FAST_EC2_SERIALIZER=0` leaves moto's serializer in place.
"""
from __future__ import annotations

import os
from xml.sax.saxutils import quoteattr

from moto.core import serialize as _serialize
from moto.core.serialize import (
    DEFAULT_ALIAS_PROVIDERS,
    AttributePickerContext,
    EC2Serializer,
    XFormedAttributePicker,
)
from moto.core.utils import MISSING

ENV_SWITCH = "DRS_SIMULATOR_FAST_EC2_SERIALIZER"

_ABSENT = object()
_NO_TRANSFORM = object()
# The alias rules the memo knows the inputs of (moto's default list, in moto's order).
_KNOWN_ALIAS_PROVIDERS = tuple(DEFAULT_ALIAS_PROVIDERS)

# (object class, key, shape, parent shape, explicit alias) -> candidate attribute names, in moto's order.
_candidates: dict = {}
# Counts how often the candidates had to be worked out (by moto's code): tests read it.
stats = {"candidate_resolutions": 0, "fast_bodies": 0, "xmltodict_bodies": 0}


class Unsupported(Exception):
    """A body `unparse` cannot prove it writes as xmltodict would."""


class FastEC2Serializer(EC2Serializer):
    """`EC2Serializer` with memoized attribute look-up and a direct XML writer; same output."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._transforms: dict = {}
        self._methods: dict = {}
        picker = self._value_picker
        self._fast_pick = (type(picker) is XFormedAttributePicker
                           and tuple(picker.alias_providers) == _KNOWN_ALIAS_PROVIDERS)

    def _serialize(self, serialized, value, shape, key):
        # moto's _serialize, with the method for each shape type looked up once per response.
        type_name = shape.type_name
        method = self._methods.get(type_name)
        if method is None:
            method = getattr(self, f"_serialize_type_{type_name}", self._default_serialize)
            self._methods[type_name] = method
        self.path.append(key if key else shape.name)
        method(serialized, value, shape, key)
        self.path.pop()

    def get_value(self, value, key, shape):
        if not self._fast_pick:
            return super().get_value(value, key, shape)
        picker = self._value_picker
        # ExplicitAlias: obj.Meta.serialization_aliases[key], read from the object as moto reads it.
        explicit = _ABSENT
        meta = getattr(value, "Meta", _ABSENT)
        if meta is not _ABSENT:
            aliases = getattr(meta, "serialization_aliases", _ABSENT)
            if aliases is not _ABSENT and key in aliases:
                explicit = aliases[key]
        parent = getattr(shape, "parent", _ABSENT)
        memo_key = (value.__class__, key, shape, parent, explicit)
        try:
            candidates = _candidates.get(memo_key)
        except TypeError:  # an unhashable explicit alias: moto's own path
            return super().get_value(value, key, shape)
        key_path = ".".join(self.path)
        if candidates is None:
            context = AttributePickerContext(obj=value, key=key, shape=shape,
                                             operation_model=self.operation_model,
                                             service_model=self.operation_model.service_model,
                                             key_path=key_path)
            # (name, read directly): a plain attribute or item name is read here as moto's get_value reads
            # it; a dotted path (or any other key) goes through moto's get_value itself. moto asks the alias
            # rules lazily, up to the first name found; all of them are asked here, and a rule that fails
            # when asked leaves this member to moto's own path.
            try:
                candidates = tuple((name, type(name) is str and "." not in name)
                                   for name in picker.get_possible_keys(context))
            except Exception:
                return super().get_value(value, key, shape)
            _candidates[memo_key] = candidates
            stats["candidate_resolutions"] += 1
        found = MISSING
        if hasattr(value, "__getitem__"):
            for name, direct in candidates:
                if direct:
                    try:
                        found = value[name]
                    except (KeyError, IndexError, TypeError, AttributeError):
                        continue
                    break
                found = _serialize.get_value(value, name, MISSING)
                if found is not MISSING:
                    break
        else:
            for name, direct in candidates:
                found = getattr(value, name, MISSING) if direct else _serialize.get_value(value, name, MISSING)
                if found is not MISSING:
                    break
        if found is MISSING:
            found = None
        member_path = f"{key_path}.{key}"
        transform = self._transforms.get(member_path, _NO_TRANSFORM)
        if transform is _NO_TRANSFORM:
            transform = None
            for transform_path, candidate_transform in picker.response_transformers.items():
                if member_path.endswith(transform_path):
                    transform = candidate_transform
                    break
            self._transforms[member_path] = transform
        if transform is not None:
            found = transform(found)
        return found

    def _serialize_body(self, body):
        if not self.pretty_print:
            try:
                text = unparse(body, full_document=True)
            except Unsupported:
                pass
            else:
                stats["fast_bodies"] += 1
                return text
        stats["xmltodict_bodies"] += 1
        return super()._serialize_body(body)


# ------------------------------------------------------------------------------------------ XML writer
_valid_names: set = set()
_FORBIDDEN_IN_NAMES = set("<>/\"'=")


def _name(name):
    """The element or attribute name as xmltodict writes it, if xmltodict accepts it."""
    if name in _valid_names and type(name) is str:
        return name
    if (type(name) is not str or not name or name[0] in "?!@#" or _FORBIDDEN_IN_NAMES.intersection(name)
            or any(ch.isspace() for ch in name)):
        raise Unsupported(name)
    _valid_names.add(name)
    return name


def _text(value) -> str:
    """xmltodict's string form of a scalar, for the scalar types the serializer produces."""
    kind = type(value)
    if kind is str:
        return value
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return str(value)
    raise Unsupported(kind)


def _escape(text: str) -> str:
    # xml.sax.saxutils.escape without entities: &, then >, then <.
    if "&" in text:
        text = text.replace("&", "&amp;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    return text


def _emit(out: list, key, value, top_level_document: bool) -> None:
    name = _name(key)
    if type(value) is list:
        if top_level_document and len(value) > 1:
            raise Unsupported("document with multiple roots")
        items = value
    elif value is None or type(value) in (dict, str, bool, int, float):
        items = (value,)
    else:
        raise Unsupported(type(value))
    for item in items:
        if item is None:
            out.append(f"<{name}/>")
            continue
        if type(item) is not dict:
            if type(item) is list:
                raise Unsupported("list in a list")
            text = _text(item)
            out.append(f"<{name}>{_escape(text)}</{name}>" if text else f"<{name}/>")
            continue
        attributes = ""
        cdata = None
        children = []
        for child_key, child in item.items():
            if child_key == "#text":
                cdata = None if child is None else _text(child)
                continue
            if type(child_key) is str and child_key.startswith("@"):
                if child_key == "@xmlns" and isinstance(child, dict):
                    raise Unsupported("namespace map")
                attribute = "" if child is None else _text(child)
                attributes += f" {_name(child_key[1:])}={quoteattr(attribute)}"
                continue
            if isinstance(child, list) and not child:
                continue
            children.append((child_key, child))
        if children:
            out.append(f"<{name}{attributes}>")
            for child_key, child in children:
                _emit(out, child_key, child, False)
            if cdata:
                out.append(_escape(cdata))
            out.append(f"</{name}>")
        elif cdata:
            out.append(f"<{name}{attributes}>{_escape(cdata)}</{name}>")
        else:
            out.append(f"<{name}{attributes}/>")


def unparse(body, full_document: bool = True) -> str:
    """`xmltodict.unparse(body, full_document=..., short_empty_elements=True)`, or `Unsupported`."""
    if type(body) is not dict:
        raise Unsupported(type(body))
    out = ['<?xml version="1.0" encoding="utf-8"?>\n'] if full_document else []
    roots = 0
    for key, value in body.items():
        if full_document and roots:
            raise Unsupported("document with more than one root")
        _emit(out, key, value, full_document)
        roots += 1
    if full_document and not roots:
        raise Unsupported("document without a root")
    return "".join(out)


# ------------------------------------------------------------------------------------------ installing
def enabled() -> bool:
    return _serialize.SERIALIZERS.get("ec2") is FastEC2Serializer


def install() -> None:
    """Serve EC2 responses with `FastEC2Serializer`, unless the environment switch says 0."""
    if os.environ.get(ENV_SWITCH, "1").strip().lower() in ("0", "false", "no", "off"):
        return
    _serialize.SERIALIZERS["ec2"] = FastEC2Serializer


def uninstall() -> None:
    """Back to moto's own `EC2Serializer`."""
    _serialize.SERIALIZERS["ec2"] = EC2Serializer
