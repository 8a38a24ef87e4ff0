"""A small JSON-Schema validator for exactly the keywords our OpenAPI document uses.

The request schemas in the OpenAPI document are the ones checked here, so the
document and the server cannot disagree. Supported: ``type`` (a name or a list),
``enum``, ``properties``, ``required``, ``additionalProperties`` (bool),
``items``, ``maxItems``, ``minLength``, ``maxLength``, ``minimum``, ``maximum``,
``pattern`` and ``format`` (``date``, ``date-time``). Every string is also
refused if it holds a NUL character or an unpaired surrogate (the databases
cannot store them).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from functools import lru_cache
from typing import Any, Mapping

from ..core.errors import ValidationError

Schema = Mapping[str, Any]

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "integer": (int,), "boolean": (bool,),
    "null": (type(None),), "number": (int, float),
}
_NAMES = {dict: "object", list: "array", str: "string", int: "integer", bool: "boolean", float: "number",
          type(None): "null"}


def check_string(value: str, where: str) -> None:
    """Refuse what no database stores: NUL characters and unpaired surrogates."""
    if "\x00" in value:
        raise ValidationError(f"{where}: contains a NUL character", field=where)
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError(f"{where}: is not valid Unicode text", field=where) from None


def validate(value: Any, schema: Schema, where: str = "body") -> None:
    """Raise :class:`ValidationError` naming the first field of ``value`` that ``schema`` refuses."""
    types = schema.get("type")
    if types is not None:
        names = (types,) if isinstance(types, str) else tuple(types)
        if not _is_type(value, names):
            got = _NAMES.get(type(value), type(value).__name__)
            raise ValidationError(f"{where}: expected {' or '.join(names)}, got {got}", field=_field(where))
    if value is None:
        return
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(map(str, schema["enum"]))
        raise ValidationError(f"{where}: {value!r} is not one of {allowed}", field=_field(where))
    if isinstance(value, str):
        _string(value, schema, where)
    elif isinstance(value, int) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise ValidationError(f"{where}: must be at least {schema['minimum']}", field=_field(where))
        if "maximum" in schema and value > schema["maximum"]:
            raise ValidationError(f"{where}: must be at most {schema['maximum']}", field=_field(where))
    elif isinstance(value, dict):
        _object(value, schema, where)
    elif isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise ValidationError(f"{where}: at most {schema['maxItems']} items", field=_field(where))
        items = schema.get("items", {})
        for i, item in enumerate(value):
            validate(item, items, f"{where}[{i}]")


def _is_type(value: Any, names: tuple[str, ...]) -> bool:
    for name in names:
        if name in ("integer", "number") and isinstance(value, bool):
            continue
        if isinstance(value, _TYPES[name]):
            return True
    return False


def _string(value: str, schema: Schema, where: str) -> None:
    check_string(value, where)
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        raise ValidationError(f"{where}: longer than {schema['maxLength']} characters", field=_field(where))
    if "minLength" in schema and len(value) < schema["minLength"]:
        raise ValidationError(f"{where}: shorter than {schema['minLength']} characters", field=_field(where))
    if "pattern" in schema and not _regex(schema["pattern"]).search(value):  # said in words, not the pattern
        expected = schema.get("description") or "in the form this field takes (see /api/v1/openapi.json)"
        raise ValidationError(f"{where}: {value[:100]!r} is not {expected}", field=_field(where))
    fmt = schema.get("format")
    if fmt == "date-time":
        parse_datetime(value, where)
    elif fmt == "date":
        parse_date(value, where)


def _object(value: dict[str, Any], schema: Schema, where: str) -> None:
    props: Mapping[str, Schema] = schema.get("properties", {})
    for name in schema.get("required", ()):
        if name not in value:
            raise ValidationError(f"{_join(where, name)}: is required", field=_field(_join(where, name)))
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        path = _join(where, key)
        sub = props.get(key)
        if sub is None:
            if extra is False:
                known = ", ".join(props) or "none"
                raise ValidationError(f"{path}: unknown field (known: {known})", field=_field(path))
            check_string(key, path)
            if isinstance(extra, Mapping):
                validate(item, extra, path)
            else:
                _walk(item, path)
            continue
        validate(item, sub, path)


def _walk(value: Any, where: str) -> None:
    """Check every string in a free-form value."""
    if isinstance(value, str):
        check_string(value, where)
    elif isinstance(value, dict):
        for k, v in value.items():
            check_string(k, where)
            _walk(v, _join(where, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _walk(v, f"{where}[{i}]")


def parse_datetime(value: str, where: str) -> datetime:
    """An aware datetime from ISO text (naive or out-of-range values refused)."""
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise ValidationError(f"{where}: {value!r} needs a timezone (e.g. Z or +02:00)", field=_field(where))
        return parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise ValidationError(f"{where}: {value!r} is not an ISO 8601 date-time", field=_field(where)) from None


def parse_date(value: str, where: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{where}: {value!r} is not a date (YYYY-MM-DD)", field=_field(where)) from None


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _join(where: str, key: str) -> str:
    return key if where == "body" else f"{where}.{key}"


def _field(where: str) -> str:
    return where
