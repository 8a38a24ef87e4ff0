"""crmkit's HTTP interface: the JSON API (``create_app``) and what plugin routes use.

Public (the rest of ``crmkit.web`` is internal):

* ``public(route)`` -- a route reachable without a bearer token (a webhook that checks a signature);
* ``request_user_id(request)``, ``request_services(request)`` -- the token's user and their services;
* ``read_json_body(request, schema)`` -- the request's JSON object, with the core routes' rules;
* ``document(route, body=..., response=..., status=..., query=..., errors=...)`` -- describe a plugin
  route in the deployment's OpenAPI document (``schema_of(RecordClass)`` gives a record's JSON schema);
* the HTTP errors, raised from a route (or a service it calls) and answered as
  ``{"error": {"code", "message", "field"?}}`` with their status: :class:`~crmkit.ValidationError` (422)
  and the other :class:`~crmkit.CrmError` classes, ``BadRequest`` (400), ``Unauthorized`` (401),
  ``RequestTimeout`` (408), ``PayloadTooLarge`` (413), ``UnsupportedMediaType`` (415),
  ``TooManyRequests`` (429), ``BadGateway`` (502) and ``ServiceUnavailable`` (503). Any
  ``CrmError`` with status 502, 503 or 504 keeps its status; another 5xx is a generic 500.
"""

from __future__ import annotations

from .app import create_app, public, request_services, request_user_id
from .errors import (
    BadGateway, BadRequest, PayloadTooLarge, RequestTimeout, ServiceUnavailable, TooManyRequests, Unauthorized,
    UnsupportedMediaType,
)
from .jsonbody import read_json_body
from .operation import Ctx, Operation, Param, Result, document, schema_of

__all__ = ["BadGateway", "BadRequest", "Ctx", "Operation", "Param", "PayloadTooLarge", "RequestTimeout", "Result",
           "ServiceUnavailable", "TooManyRequests", "Unauthorized", "UnsupportedMediaType", "create_app", "document",
           "public", "read_json_body", "request_services", "request_user_id", "schema_of"]
