"""Query parameters: list filters (``field`` and ``field__op``), ``limit`` and ``cursor``.

The filter parameters of a list are generated from the service's filterable
columns (typed by the column) and the deployment's custom fields (typed by the
field), so new filters in the core appear in the API and its document.
"""

from __future__ import annotations

import re
from difflib import get_close_matches
from typing import TYPE_CHECKING, Any, Iterable, Mapping
from urllib.parse import parse_qsl

from sqlalchemy import Boolean, Date, Integer, String, Text

from ..core.errors import ValidationError
from ..core.services.userref import USER_COLUMNS
from ..core.types import UTCDateTime
from .errors import BadRequest
from .operation import INT32, Param, Schema
from .validate import parse_date, parse_datetime, validate

if TYPE_CHECKING:  # pragma: no cover
    from ..core.customfields import CustomField
    from ..core.services.base import Service

MAX_PAGE = 500
ORDERED_OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in")
EQUALITY_OPS = ("eq", "ne", "in")
_CURSOR = r"^[A-Za-z0-9_.:=-]{1,200}$"
_INTEGER = re.compile(r"-?[0-9]+")

LIMIT = Param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 50},
              "page size (1 to 500, default 50)")
CURSOR = Param("cursor", {"type": "string", "pattern": _CURSOR, "description": "a cursor from a previous page"},
               "`next_cursor` of the previous page")
PAGING = (LIMIT, CURSOR)


def _int_schema(lo: int = -INT32 - 1, hi: int = INT32) -> Schema:
    return {"type": "integer", "minimum": lo, "maximum": hi}


def column_schema(column: Any) -> tuple[Schema, tuple[str, ...]]:
    """The filter schema and operators of a table column."""
    t = column.type
    if isinstance(t, UTCDateTime):
        return {"type": "string", "format": "date-time"}, ORDERED_OPS
    if isinstance(t, Date):
        return {"type": "string", "format": "date"}, ORDERED_OPS
    if isinstance(t, Boolean):
        return {"type": "boolean"}, ("eq",)
    if isinstance(t, Integer) and column.name in USER_COLUMNS:  # a user: an id or an e-mail address
        return {"type": ["integer", "string"], "minimum": 1, "maximum": INT32, "maxLength": 254}, EQUALITY_OPS
    if isinstance(t, Integer):
        lo = 1 if column.primary_key or column.foreign_keys or column.name.endswith("_id") else -INT32 - 1
        return _int_schema(lo), ORDERED_OPS if column.primary_key else EQUALITY_OPS
    if isinstance(t, (String, Text)):
        length = getattr(t, "length", None) or 2000
        return {"type": "string", "maxLength": length}, EQUALITY_OPS
    return {"type": "string", "maxLength": 2000}, EQUALITY_OPS


def custom_filter_schema(field: "CustomField") -> tuple[Schema, tuple[str, ...]]:
    kind = field.type
    if kind == "integer":
        return _int_schema(), ORDERED_OPS
    if kind == "decimal":
        return {"type": "string", "pattern": r"^-?[0-9]{1,15}(\.[0-9]{1,10})?$",
                "description": "a decimal number such as 12.5"}, ORDERED_OPS
    if kind == "date":
        return {"type": "string", "format": "date"}, ORDERED_OPS
    if kind == "datetime":
        return {"type": "string", "format": "date-time"}, ORDERED_OPS
    if kind == "boolean":
        return {"type": "boolean"}, ("eq",)
    if kind == "choice":
        return {"type": "string", "enum": list(field.choices)}, EQUALITY_OPS
    return {"type": "string", "maxLength": field.max_length if kind == "text" else 254}, EQUALITY_OPS


def filter_params(name: str, schema: Schema, ops: Iterable[str], description: str = "") -> list[Param]:
    out = []
    for op in ops:
        key = name if op == "eq" else f"{name}__{op}"
        if op == "in":
            out.append(Param(key, {"type": "array", "items": schema, "maxItems": 100},
                             f"{description or name}: any of these (comma-separated)"))
        else:
            out.append(Param(key, schema, f"{description or name}: {op}" if op != "eq" else (description or name)))
    return out


def order_param(service: "Service[Any]") -> Param:
    """``order``: a sortable field, ``-`` in front for descending (default ``id``)."""
    values = [v for k in service.sortable for v in (k, f"-{k}")]
    return Param("order", {"type": "string", "enum": values, "default": "id"},
                 "sort order: a field, `-field` for descending; ties by id, stable across pages")


def list_params(service: "Service[Any]", entity: str | None, extra: Iterable[Param] = (),
                skip: Iterable[str] = ()) -> tuple[Param, ...]:
    """Paging plus a filter for every filterable column and custom field of ``service``."""
    params: list[Param] = [*PAGING, order_param(service)]
    skipped = set(skip)
    for name, col in service.filterable.items():
        if name not in skipped:
            schema, ops = column_schema(service.table.c[col])
            params += filter_params(name, schema, ops)
    if entity is not None:
        for fname, field in service.crm.custom_fields.fields(entity).items():
            if fname in service.filterable:
                continue  # a column of the same name wins (as in the service)
            schema, ops = custom_filter_schema(field)
            params += filter_params(fname, schema, ops, f"custom field {fname}")
    params += extra
    return tuple(params)


def _convert(text: str, schema: Schema, where: str) -> Any:
    kind = schema.get("type")
    if isinstance(kind, list) and "integer" in kind and _INTEGER.fullmatch(text):
        kind = "integer"  # an id or an e-mail address: digits are the id
    if kind == "array":
        items = schema.get("items", {})
        return [] if text == "" else [_convert(part, items, where) for part in text.split(",")]
    if kind == "integer":
        if not _INTEGER.fullmatch(text):  # ASCII digits only: int() also reads "²" and "٣"
            raise ValidationError(f"{where}: {text[:100]!r} is not an integer", field=where)
        if len(text) > 20:  # beyond any column; the schema's bounds give the message
            lo, hi = schema.get("minimum", -(2**63)), schema.get("maximum", 2**63 - 1)
            raise ValidationError(f"{where}: must be from {lo} to {hi}", field=where)
        return int(text)
    if kind == "boolean":
        lowered = text.lower()
        if lowered not in ("true", "false", "1", "0"):
            raise ValidationError(f"{where}: {text[:100]!r} is not true or false", field=where)
        return lowered in ("true", "1")
    return text


def _typed(value: Any, schema: Schema, where: str) -> Any:
    """Strings with a date or date-time format become date/datetime objects (after validation)."""
    if isinstance(value, list):
        return [_typed(v, schema.get("items", {}), where) for v in value]
    fmt = schema.get("format")
    if fmt == "date-time":
        return parse_datetime(value, where)
    if fmt == "date":
        return parse_date(value, where)
    return value


def parse_query(raw: bytes, params: Iterable[Param]) -> dict[str, Any]:
    """Parse and validate a query string against ``params`` (unknown names are refused)."""
    if not raw:
        values: list[tuple[str, str]] = []
    else:
        try:
            values = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, max_num_fields=200,
                               encoding="utf-8", errors="replace")
        except ValueError:
            raise BadRequest("too many query parameters") from None
    known: Mapping[str, Param] = {p.name: p for p in params}
    out: dict[str, Any] = {}
    for name, text in values:
        param = known.get(name)
        if param is None:
            if not known:
                raise ValidationError(f"{name[:100]}: this operation takes no query parameters", field=name[:100])
            raise ValidationError(f"{name[:100]}: {unknown_parameter(name, known)}", field=name[:100])
        if name in out:
            raise BadRequest(f"{name}: given more than once", field=name)
        try:
            value = _convert(text, param.schema, name)
            validate(value, param.schema, name)
            out[name] = _typed(value, param.schema, name)
        except ValidationError as exc:  # "ids__in[2]: ..." names the parameter, ids__in
            if exc.field == name:
                raise
            raise ValidationError(exc.message, field=name) from None
    for p in known.values():
        if p.required and p.name not in out:
            raise ValidationError(f"{p.name}: is required", field=p.name)
    return out


def unknown_parameter(name: str, known: Iterable[str]) -> str:
    """Why ``name`` is refused, naming at most a few parameters (a list has hundreds: every
    filter with each operator): the closest ones, else where they are all listed."""
    names = sorted(known)
    if len(names) <= 8:
        return f"unknown query parameter (known: {', '.join(names)})"
    close = get_close_matches(name[:100], names, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    return f"unknown query parameter ({hint}every parameter of this operation is in /api/v1/openapi.json)"


def ordering(query: dict[str, Any]) -> str:
    return str(query.get("order", "id"))


def paging(query: dict[str, Any]) -> tuple[dict[str, Any], int, str | None]:
    """Split a parsed query into (filters, limit, cursor)."""
    filters = dict(query)
    limit = filters.pop("limit", 50)
    cursor = filters.pop("cursor", None)
    filters.pop("order", None)  # read with ``ordering``
    return filters, limit, cursor  # the service checks the cursor (a huge id or a bad datetime: 422)
