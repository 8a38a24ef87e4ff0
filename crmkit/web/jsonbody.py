"""Reading a JSON request body: one set of rules for core and plugin routes.

    from crmkit.web import read_json_body

    async def record_payment(request):
        body = await read_json_body(request, {"type": "object", "additionalProperties": False,
                                              "required": ["amount"],
                                              "properties": {"amount": {"type": "string", "maxLength": 20}}})

The rules (the same as the core operations' bodies):

* ``Content-Type`` must be ``application/json`` (or a ``+json`` type): 415 otherwise;
* the body's size (413) and the time it may take to arrive (408) are bounded by the app's
  middleware before a route runs;
* malformed JSON, ``NaN``/``Infinity``, a number too large for a float, nesting deeper than
  :data:`MAX_DEPTH` arrays/objects: 400;
* anything but a JSON object: 422 naming ``body``; a string holding a NUL character or a lone
  surrogate (``"\\ud800"``), anywhere in the body: 422 naming the field;
* with ``schema``, the object is validated by :func:`crmkit.web.validate.validate` (types, unknown
  fields, bounds: 422 naming the field).
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request

from ..core.errors import ValidationError
from .errors import BadRequest, UnsupportedMediaType
from .validate import Schema, validate

MAX_DEPTH = 32
"""Arrays and objects nested deeper than this are refused (400): no handler needs more, and
every recursive walk over the value stays far from Python's recursion limit."""

_OBJECT: Schema = {"type": "object"}


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is out of range")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests arrays/objects more than ``limit`` levels (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def parse_json(raw: bytes) -> Any:
    """The JSON value of ``raw`` (:class:`~crmkit.web.errors.BadRequest`, a 400, if it is not valid,
    has NaN/Infinity or a number beyond a float, or nests deeper than :data:`MAX_DEPTH`)."""
    try:
        value = json.loads(raw, parse_constant=_constant, parse_float=_float)
    except RecursionError:
        raise BadRequest(f"the body is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise BadRequest(f"the body is not valid JSON: {str(exc)[:200]}") from None
    if _deeper_than(value, MAX_DEPTH):
        raise BadRequest(f"the body is nested deeper than {MAX_DEPTH} levels")
    return value


def is_json(content_type: str | None) -> bool:
    """Whether a ``Content-Type`` header is JSON (``application/json``, or a ``+json`` type)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


async def read_json_body(request: Request, schema: Schema | None = None, *, required: bool = True) -> dict[str, Any]:
    """The request's JSON object, read by the rules in this module's docstring.

    :param schema: a JSON schema for the object (the keywords :mod:`crmkit.web.validate` knows);
        without one, any object is taken (its strings still checked).
    :param required: an empty body is a 422 naming ``body``; with ``False`` it reads as ``{}``.
    """
    raw = await request.body()
    if not raw.strip():
        if required:
            raise ValidationError("body: a JSON object is required", field="body")
        return {}
    content_type = request.headers.get("content-type")
    if not is_json(content_type):
        media = (content_type or "").split(";", 1)[0].strip()[:100]
        raise UnsupportedMediaType(f"Content-Type must be application/json, not {media or 'missing'}")
    body = parse_json(raw)
    if not isinstance(body, dict):
        validate(body, _OBJECT)  # 422: "body: expected object, got array"
    validate(body, schema or _OBJECT)
    return body  # type: ignore[no-any-return]
