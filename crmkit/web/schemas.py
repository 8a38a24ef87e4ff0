"""JSON schemas of the API: records (derived from the attrs records), custom fields, errors.

Response schemas are derived from the record classes the services return, so a
field the core adds appears in the document as it appears in the responses.
"""

from __future__ import annotations

import types
import typing
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Mapping, Sequence, Union

import attrs

from ..core.money import Money
from .operation import ID_SCHEMA, INT32, Schema

if TYPE_CHECKING:  # pragma: no cover
    from ..core.app import Crm
    from ..core.customfields import CustomField

MONEY: Schema = {
    "type": "object", "required": ["amount", "currency"],
    "properties": {"amount": {"type": "string"}, "currency": {"type": "string"}},
}
ERROR: Schema = {
    "type": "object", "required": ["error"], "additionalProperties": False,
    "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}},
    }},
}


def nullable(schema: Schema) -> Schema:
    out = dict(schema)
    kind = out.get("type")
    if isinstance(kind, str):
        out["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        out["type"] = [*kind, "null"]
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


def text(max_length: int = 300, *, null: bool = False) -> Schema:
    schema = {"type": "string", "maxLength": max_length}
    return nullable(schema) if null else schema


def ref_id(*, null: bool = True) -> Schema:
    return nullable(ID_SCHEMA) if null else dict(ID_SCHEMA)


DATETIME: Schema = {"type": "string", "format": "date-time"}
DATE: Schema = {"type": "string", "format": "date"}
AMOUNT: Schema = {"type": ["string", "integer", "null"], "pattern": r"^-?[0-9]{1,15}(\.[0-9]{1,4})?$",
                  "minimum": -(10**15) + 1, "maximum": 10**15 - 1,
                  "description": "a decimal amount such as 1200.50 (a point, no thousands separators)"}
CURRENCY: Schema = {"type": ["string", "null"], "pattern": "^[A-Za-z]{3}$",
                    "description": "a three-letter ISO 4217 currency code such as EUR"}
UTM: Schema = {"type": ["object", "null"], "additionalProperties": False,
               "properties": {k: {"type": ["string", "null"], "maxLength": 200}
                              for k in ("source", "medium", "campaign", "term", "content")}}


# -- records --------------------------------------------------------------------------


def _type_schema(tp: Any) -> Schema:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        inner = _type_schema(args[0]) if len(args) == 1 else {}
        return nullable(inner) if type(None) in typing.get_args(tp) else inner
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is str:
        return {"type": "string"}
    if tp is datetime:
        return {"type": "string", "format": "date-time"}
    if tp is date:
        return {"type": "string", "format": "date"}
    if tp is Decimal:
        return {"type": "string"}
    if tp is Money:
        return MONEY
    if origin in (tuple, list, Sequence, typing.Sequence) or tp in (tuple, list):
        args = typing.get_args(tp)
        return {"type": "array", "items": _type_schema(args[0]) if args else {}}
    if origin in (dict, Mapping, typing.Mapping) or tp is dict:
        return {"type": "object"}
    return {}


def record_schema(cls: type, custom: Schema | None = None) -> Schema:
    """The response schema of an attrs record class (every field is always present)."""
    hints = typing.get_type_hints(cls)
    props: dict[str, Schema] = {}
    for field in attrs.fields(cls):
        props[field.name] = _type_schema(hints.get(field.name, Any))
    if custom is not None and "custom" in props:
        props["custom"] = custom
    return {"type": "object", "required": list(props), "properties": props}


def page_schema(item: Schema) -> Schema:
    return {
        "type": "object", "required": ["items", "next_cursor"], "additionalProperties": False,
        "properties": {"items": {"type": "array", "items": item}, "next_cursor": {"type": ["string", "null"]}},
    }


# -- custom fields ----------------------------------------------------------------------


def _custom_value(field: "CustomField") -> Schema:
    kind = field.type
    if kind == "integer":
        lo = int(field.min) if field.min is not None and field.min == int(field.min) else -INT32 - 1
        hi = int(field.max) if field.max is not None and field.max == int(field.max) else INT32
        return {"type": "integer", "minimum": max(lo, -INT32 - 1), "maximum": min(hi, INT32)}
    if kind == "decimal":
        return {"type": ["string", "integer"], "pattern": r"^-?[0-9]{1,15}(\.[0-9]{1,10})?$",
                "minimum": -(10**15) + 1, "maximum": 10**15 - 1, "description": "a decimal number such as 12.5"}
    if kind == "date":
        return dict(DATE)
    if kind == "datetime":
        return dict(DATETIME)
    if kind == "boolean":
        return {"type": "boolean"}
    if kind == "choice":
        return {"type": "string", "enum": list(field.choices)}
    if kind == "user":  # a user's id, as the API answers it
        return dict(ID_SCHEMA)
    if kind == "text":
        return {"type": "string", "maxLength": field.max_length}
    return {"type": "string", "maxLength": 254}  # phone, email


def _custom_out(field: "CustomField") -> Schema:
    kind = field.type
    if kind in ("integer", "user"):  # a user field holds the user's id
        return {"type": "integer"}
    if kind == "boolean":
        return {"type": "boolean"}
    return {"type": "string"}


def custom_write(crm: "Crm", entity: str) -> Schema:
    """The ``custom`` object a create or update accepts (null clears a field)."""
    fields = crm.custom_fields.fields(entity)
    return nullable({"type": "object", "additionalProperties": False,
                     "properties": {name: nullable(_custom_value(f)) for name, f in fields.items()}})


def custom_read(crm: "Crm", entity: str) -> Schema:
    fields = crm.custom_fields.fields(entity)
    return {"type": "object", "properties": {name: _custom_out(f) for name, f in fields.items()}}


def body(properties: Mapping[str, Schema], required: Sequence[str] = ()) -> Schema:
    """A request body: an object with exactly these fields."""
    return {"type": "object", "additionalProperties": False, "properties": dict(properties), "required": list(required)}
