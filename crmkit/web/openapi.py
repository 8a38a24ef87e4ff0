"""The OpenAPI 3.1 document, generated from the same operations the server routes."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from starlette.routing import BaseRoute, Mount, Route

from .idempotency import KEY_SCHEMA
from .endpoint import IF_MATCH_SCHEMA
from .operation import ID_SCHEMA, Operation, Param, route_doc
from .schemas import ERROR

if TYPE_CHECKING:  # pragma: no cover
    from ..core.app import Crm

PREFIX = "/api/v1"
PUBLIC_ATTRIBUTE = "crmkit_public"  # set by crmkit.web.public(route): no token, so no security requirement
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
    params = _path_params(op.path) + _query_params(op.query)
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
    responses: dict[str, Any] = {str(op.status): success, **_error_responses(op.error_statuses())}
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


def _error_responses(statuses: Iterable[int]) -> dict[str, Any]:
    return {str(status): {"description": _ERROR_TEXT.get(status, "Error"),
                          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            for status in statuses}


def _query_params(query: Sequence[Param]) -> list[dict[str, Any]]:
    out = []
    for p in query:
        entry: dict[str, Any] = {"name": p.name, "in": "query", "required": p.required, "schema": dict(p.schema)}
        if p.description:
            entry["description"] = p.description
        if p.schema.get("type") == "array":
            entry.update(style="form", explode=False)
        out.append(entry)
    return out


def _plugin_operation(name: str, route: Route, method: str) -> dict[str, Any]:
    """A plugin route's entry: described by :func:`crmkit.web.operation.document`, or only its path."""
    public = bool(getattr(route, PUBLIC_ATTRIBUTE, False))
    described = route_doc(route)
    doc: dict[str, Any] = {"operationId": f"{name}_{route.name}_{method.lower()}", "tags": [name],
                           "parameters": _path_params(route.path)}
    if public:
        doc["security"] = []
    if described is None:
        text = (route.endpoint.__doc__ or route.name or "").strip()
        doc["summary"] = text.splitlines()[0] if text else ""
        doc["responses"] = {"default": {"description": f"defined by the {name} plugin"}}
        return doc
    doc["summary"] = described.summary
    doc["parameters"] += _query_params(described.query)
    success: dict[str, Any] = {"description": "OK" if described.status == 200 else "Created"}
    if described.response is not None:
        success["content"] = {"application/json": {"schema": described.response}}
    doc["responses"] = {str(described.status): success,
                        **_error_responses(described.error_statuses(public=public, path=route.path))}
    if described.body is not None:
        doc["requestBody"] = {"required": described.body_required,
                              "content": {"application/json": {"schema": described.body}}}
    return doc


def _link_created_cards(ops: Sequence[Operation], paths: dict[str, dict[str, Any]]) -> None:
    """OpenAPI links from each create (``POST /deals`` answering 201) to the operations on the card it
    made (``/deals/{id}``, ``/deals/{id}/move``, ...): clients and stateful tests follow them."""
    for create in ops:
        if create.method != "POST" or create.status != 201 or "{" in create.path:
            continue
        links = {
            op.operation_id: {"operationId": op.operation_id, "parameters": {"id": "$response.body#/id"}}
            for op in ops if op.path.startswith(create.path + "/{id:int}")
        }
        if links:
            paths[openapi_path(create.path)]["post"]["responses"][str(create.status)]["links"] = links


def _plugin_paths(name: str, routes: Sequence[BaseRoute], prefix: str) -> Iterable[tuple[str, str, dict[str, Any]]]:
    for route in routes:
        if isinstance(route, Route):
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                path = prefix + _CONVERTER.sub(lambda m: "{" + m.group(1) + "}", route.path)
                yield path, method.lower(), _plugin_operation(name, route, method)
        elif isinstance(route, Mount):
            yield from _plugin_paths(name, route.routes, prefix + route.path)


def build(crm: "Crm", ops: Sequence[Operation], plugins: dict[str, Sequence[BaseRoute]]) -> dict[str, Any]:
    """The OpenAPI document of ``ops`` and the plugins' routes."""
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        paths.setdefault(openapi_path(op.path), {})[op.method.lower()] = _operation(op)
    _link_created_cards(ops, paths)
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
