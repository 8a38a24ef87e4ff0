"""HTTP routes, mounted at ``/api/v1/telephony/``.

* ``POST /webhooks/{provider}`` -- public (no token): the provider adapter verifies the signature;
  403 and nothing written when it does not, 400 for a malformed body, 503 when the deployment lacks
  a setting the provider needs (Twilio's ``webhook_url``);
* ``POST /click-to-call``, ``GET /calls``, ``GET /stats`` -- behind the API token. A provider that
  cannot be reached is a 502 with a generic message (the detail is logged, never returned).
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from crmkit import CrmError, ValidationError, to_dict
from crmkit.web import public, request_services

from . import config
from .calls import click_to_call, list_calls, require_stats
from .ingest import ingest
from .providers import MalformedError, NotConfiguredError, ProviderUnavailableError, WebhookRequest, providers_of
from .stats import stats

log = logging.getLogger("crmkit_telephony.web")

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm


def routes(crm: "Crm") -> list[BaseRoute]:
    """The plugin's routes for ``crm``."""

    async def webhook(request: Request) -> Response:
        provider = providers_of(crm).get(request.path_params["provider"])
        if provider is None:
            return error_response(_NotFound(f"no telephony provider {request.path_params['provider']!r}"))
        hook = WebhookRequest(url=str(request.url), headers={k.lower(): v for k, v in request.headers.items()},
                              body=await request.body())

        def run() -> dict[str, Any]:
            events = provider.parse_webhook(crm, config.load(crm), hook)
            done = [ingest(crm, e) for e in events]
            return {"received": len(done), "changed": sum(d.changed for d in done),
                    "calls": [d.call.id for d in done]}

        return await _answer(run)

    async def place_call(request: Request) -> Response:
        services = request_services(request)
        try:
            body = json.loads(await request.body() or b"{}")
        except (ValueError, RecursionError):  # RecursionError: deeply nested arrays ([[[[...)
            return error_response(MalformedError("the body is not JSON"))
        if not isinstance(body, dict) or set(body) - {"to", "contact_id", "extension"}:
            return error_response(MalformedError("the body is an object with to, contact_id and/or extension"))
        for key in ("to", "extension"):
            if body.get(key) is not None and not isinstance(body[key], str):
                return error_response(ValidationError(f"{key}: expected text", field=key))

        def run() -> dict[str, Any]:
            call = click_to_call(services, to=body.get("to"), contact_id=body.get("contact_id"),
                                 extension=body.get("extension"))
            return {"requested": True, "call": to_dict(call) if call else None}

        return await _answer(run, status=202)

    async def list_route(request: Request) -> Response:
        services = request_services(request)
        q = request.query_params

        def run() -> dict[str, Any]:
            page = list_calls(services, limit=q.get("limit", "50"), cursor=q.get("cursor"), phone=q.get("phone"),
                              user_id=q.get("user_id") or None)
            return {"items": [to_dict(c) for c in page.items], "next_cursor": page.next_cursor}

        return await _answer(run)

    async def stats_route(request: Request) -> Response:
        services = request_services(request)
        q = request.query_params

        def run() -> dict[str, Any]:
            require_stats(services)
            since, until = day_range(q.get("from"), q.get("to"))
            return stats(crm, since=since, until=until)

        return await _answer(run)

    return [
        public(Route("/webhooks/{provider}", webhook, methods=["POST"])),
        Route("/click-to-call", place_call, methods=["POST"]),
        Route("/calls", list_route, methods=["GET"]),
        Route("/stats", stats_route, methods=["GET"]),
    ]


def day_range(start: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
    """``from``/``to`` days (YYYY-MM-DD, inclusive) as a half-open UTC range."""

    def parse(value: str | None, field: str) -> date | None:
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValidationError(f"{field}: a day, YYYY-MM-DD", field=field) from None

    a, b = parse(start, "from"), parse(end, "to")
    if b is not None and b == date.max:  # the day after 9999-12-31 does not exist
        raise ValidationError("to: a day before 9999-12-31", field="to")
    return (datetime.combine(a, time(), timezone.utc) if a else None,
            datetime.combine(b + timedelta(days=1), time(), timezone.utc) if b else None)


def error_response(exc: CrmError) -> Response:
    """``{"error": {"code", "message", "field"?}}`` with the error's status: 4xx, 502 (provider unavailable)
    or 503 (not configured); any other server-side error is a plain 500 whose detail is only logged."""
    if 400 <= exc.status < 500 or isinstance(exc, (ProviderUnavailableError, NotConfiguredError)):
        return JSONResponse({"error": exc.to_dict()}, status_code=exc.status)
    log.error("telephony: %s: %s", type(exc).__name__, exc.message)
    return JSONResponse({"error": {"code": "internal_error", "message": "internal server error"}}, status_code=500)


async def _answer(run: Any, status: int = 200) -> Response:
    try:
        return JSONResponse(await run_in_threadpool(run), status_code=status)
    except CrmError as exc:
        return error_response(exc)


class _NotFound(CrmError):
    code = "not_found"
    status = 404
