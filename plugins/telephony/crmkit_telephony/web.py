"""HTTP routes, mounted at ``/api/v1/telephony/``.

* ``POST /webhooks/{provider}`` -- public (no token): the provider adapter verifies the signature;
  403 and nothing written when it does not, 400 for a malformed body;
* ``POST /click-to-call``, ``GET /calls``, ``GET /stats`` -- behind the API token.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from crmkit import CrmError, ValidationError, to_dict
from crmkit.web import public, request_services
from crmkit.web.errors import error_response

from . import config
from .calls import click_to_call, list_calls, require_stats
from .ingest import ingest
from .providers import MalformedError, WebhookRequest, providers_of
from .stats import stats

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
        except ValueError:
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
            limit = q.get("limit", "50")
            user = q.get("user_id")
            page = list_calls(services, limit=int(limit) if limit.isdigit() else -1, cursor=q.get("cursor"),
                              phone=q.get("phone"), user_id=int(user) if user and user.isdigit() else None)
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
    return (datetime.combine(a, time(), timezone.utc) if a else None,
            datetime.combine(b + timedelta(days=1), time(), timezone.utc) if b else None)


async def _answer(run: Any, status: int = 200) -> Response:
    try:
        return JSONResponse(await run_in_threadpool(run), status_code=status)
    except CrmError as exc:
        return error_response(exc)


class _NotFound(CrmError):
    code = "not_found"
    status = 404
