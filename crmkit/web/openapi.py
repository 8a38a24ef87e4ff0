"""The OpenAPI 3.1 document, generated from the same operations the server routes."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from starlette.routing import BaseRoute, Mount, Route

from .idempotency import KEY_SCHEMA
from .endpoint import IF_MATCH_SCHEMA
from .operation import ID_SCHEMA, Operation
from .schemas import ERROR

if TYPE_CHECKING:  # pragma: no cover
    from ..core.app import Crm

PREFIX = "/api/v1"
_CONVERTER = re.compile(r"\{(\w+)(?::(\w+))?\}")
_ERROR_TEXT = {
    400: "Malformed request (JSON syntax, header, query string)", 401: "Missing or invalid token",
    403: "Not allowed for this user", 404: "No such card or resource",
    408: "The body did not arrive in time (the connection is closed)", 409: "Stale version (If-Match) or a conflict",
    413: "Body too large", 415: "Unsupported Content-Type", 422: "Validation failed (`field` names the input)",
    429: "Too many requests (see Retry-After)",
}


def openapi_path(path: str) -> str:
    return PREFIX + _CONVERTER.sub(lambda m: "{" + m.group(1) + "}", path)


def _path_params(path: str) -> list[dict[str, Any]]:
    out = []
    for m in _CONVERTER.finditer(path):
        schema = dict(ID_SCHEMA) if m.group(2) == "int" else {"type": "string", "maxLength": 200}
        out.append({"name": m.group(1), "in": "path", "required": True, "schema": schema})
    return out


def _operation(op: Operation) -> dict[str, Any]:
    params = _path_params(op.path)
    for p in op.query:
        entry: dict[str, Any] = {"name": p.name, "in": "query", "required": p.required, "schema": dict(p.schema)}
        if p.description:
            entry["description"] = p.description
        if p.schema.get("type") == "array":
            entry.update(style="form", explode=False)
        params.append(entry)
    if op.if_match:
        params.append({"name": "If-Match", "in": "header", "required": False, "schema": IF_MATCH_SCHEMA,
                       "description": "the card's ETag; a stale one gets 409 and changes nothing"})
    if op.idempotent:
        params.append({"name": "Idempotency-Key", "in": "header", "required": False, "schema": KEY_SCHEMA,
                       "description": "a retry with the same key returns the first response"})
    success: dict[str, Any] = {"description": "OK" if op.status == 200 else "Created",
                               "content": {"application/json": {"schema": op.response or {}}}}
    if op.etag:
        success["headers"] = {"ETag": {"description": "the card's version", "schema": {"type": "string"}}}
    responses: dict[str, Any] = {str(op.status): success}
    for status in op.error_statuses():
        responses[str(status)] = {"description": _ERROR_TEXT.get(status, "Error"),
                                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    doc: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary, "tags": [op.tag],
                           "parameters": params, "responses": responses}
    if op.description:
        doc["description"] = op.description
    if op.public:
        doc["security"] = []
    if op.body is not None:
        content = {"application/json": {"schema": op.body}}
        if op.form_encoded:
            content["application/x-www-form-urlencoded"] = {"schema": {
                "type": "object", "additionalProperties": {"type": "string", "maxLength": 5000},
                "properties": {k: {"type": "string", "maxLength": v.get("maxLength", 5000)}
                               for k, v in op.body.get("properties", {}).items()}}}
        doc["requestBody"] = {"required": op.body_required, "content": content}
    return doc


def _plugin_paths(name: str, routes: Sequence[BaseRoute], prefix: str) -> Iterable[tuple[str, str, dict[str, Any]]]:
    for route in routes:
        if isinstance(route, Route):
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                path = prefix + _CONVERTER.sub(lambda m: "{" + m.group(1) + "}", route.path)
                yield path, method.lower(), {
                    "operationId": f"{name}_{route.name}_{method.lower()}",
                    "summary": (route.endpoint.__doc__ or route.name or "").strip().splitlines()[0] if
                    (route.endpoint.__doc__ or route.name) else "",
                    "tags": [name], "parameters": _path_params(route.path),
                    "responses": {"default": {"description": f"defined by the {name} plugin"}},
                }
        elif isinstance(route, Mount):
            yield from _plugin_paths(name, route.routes, prefix + route.path)


def build(crm: "Crm", ops: Sequence[Operation], plugins: dict[str, Sequence[BaseRoute]]) -> dict[str, Any]:
    """The OpenAPI document of ``ops`` and the plugins' routes."""
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        paths.setdefault(openapi_path(op.path), {})[op.method.lower()] = _operation(op)
    for name, routes in plugins.items():
        for path, method, doc in _plugin_paths(name, routes, f"{PREFIX}/{name}"):
            paths.setdefault(path, {})[method] = doc
    from .. import __version__

    return {
        "openapi": "3.1.0",
        "info": {"title": f"{crm.settings.name} API", "version": __version__,
                 "description": "crmkit JSON API. Authenticate with `Authorization: Bearer <token>`."},
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
