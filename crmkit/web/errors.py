"""HTTP errors as JSON: ``{"error": {"code", "message", "field"?}}``.

Services raise :class:`crmkit.CrmError` subclasses (422, 404, 409, 403); the web
layer adds the protocol errors below. Every error, including Starlette's own 404
and 405 and an unexpected exception, leaves as the same JSON shape.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..core.errors import CrmError
from ..i18n.errors import localize
from ..i18n.web import current_language

log = logging.getLogger("crmkit.web")

JSON_TYPE = "application/json"


class BadRequest(CrmError):
    """The request itself is malformed (JSON syntax, a header, a query string)."""

    code = "bad_request"
    status = 400


class Unauthorized(CrmError):
    code = "unauthorized"
    status = 401


class RequestTimeout(CrmError):
    """The request body did not arrive in time (the middleware answers it, closing the connection)."""

    code = "request_timeout"
    status = 408


class PayloadTooLarge(CrmError):
    code = "payload_too_large"
    status = 413


class UnsupportedMediaType(CrmError):
    code = "unsupported_media_type"
    status = 415


class TooManyRequests(CrmError):
    code = "too_many_requests"
    status = 429


class BadGateway(CrmError):
    """502: a service the request needs (a provider's API, a PBX) failed or could not be reached.
    The message is shown to the caller: keep the detail for the log."""

    code = "bad_gateway"
    status = 502


class ServiceUnavailable(CrmError):
    """503: the deployment cannot serve this now (e.g. a provider is not configured)."""

    code = "service_unavailable"
    status = 503


UPSTREAM_STATUSES = frozenset({502, 503, 504})
"""A :class:`CrmError` with one of these statuses is answered with it, its code and message (a plugin
route chose it); any other 5xx is a generic 500 whose detail goes only to the log."""


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 408: "request_timeout", 409: "conflict", 413: "payload_too_large",
               415: "unsupported_media_type", 422: "validation_error", 429: "too_many_requests"}


def dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def _printable(text: str) -> str:
    """``text`` as valid UTF-8: an error may quote input holding a lone surrogate (``\\ud800``)."""
    if text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_body(status: int, code: str, message: str, field: str | None = None,
               extra: Mapping[str, Any] | None = None) -> bytes:
    lang = current_language()
    if lang is not None and lang != "en":  # the request's language (crmkit.i18n.errors)
        message = localize(message, lang)
    err: dict[str, Any] = {"code": code, "message": _printable(message)}
    if field is not None:
        err["field"] = _printable(field)
    for key, value in (extra or {}).items():  # an error's own members (``merged_into``)
        err.setdefault(key, value)
    return dumps({"error": err})


def error_response(exc: CrmError, headers: Mapping[str, str] | None = None) -> Response:
    """The JSON answer to ``exc``; members its ``to_dict()`` adds and its ``headers`` (if it has any,
    e.g. ``Location``) go with it."""
    status = exc.status if 400 <= exc.status < 500 or exc.status in UPSTREAM_STATUSES else 500
    hdrs = {**(getattr(exc, "headers", None) or {}), **(headers or {})}
    extra = {k: v for k, v in exc.to_dict().items() if k not in ("code", "message", "field")} if status < 500 else {}
    if status == 401:
        hdrs.setdefault("WWW-Authenticate", "Bearer")
    elif status == 503:  # every 503 says when to try again (the error's own figure, else a second)
        hdrs.setdefault("Retry-After", str(getattr(exc, "retry_after", None) or 1))
    return Response(error_body(status, exc.code, exc.message, exc.field, extra), status, hdrs, media_type=JSON_TYPE)


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if exc.status_code != 404 else f"no such resource: {request.url.path}"
    return Response(error_body(exc.status_code, code, str(message)), exc.status_code, dict(exc.headers or {}),
                    media_type=JSON_TYPE)


async def crm_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CrmError)
    if exc.status >= 500 and exc.status not in UPSTREAM_STATUSES:
        log.error("server error on %s %s: %s", request.method, request.url.path, exc.message)
        return Response(error_body(500, "internal_error", "internal server error"), 500, media_type=JSON_TYPE)
    return error_response(exc)


async def server_error_handler(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return Response(error_body(500, "internal_error", "internal server error"), 500, media_type=JSON_TYPE)
