"""HTTP routes, mounted at ``/api/v1/telephony/``.

* ``POST /webhooks/{provider}`` -- public (no token): the provider adapter verifies the signature;
  403 and nothing written when it does not, 400 for a malformed body, 503 when the deployment lacks
  a setting the provider needs (Twilio's ``webhook_url``);
* ``POST /click-to-call``, ``GET /calls``, ``GET /stats`` -- behind the API token. A provider that
  cannot be reached is a 502 with a generic message (the detail is logged, never returned).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from crmkit import NotFoundError, ValidationError, to_dict
from crmkit.web import document, public, read_json_body, request_services

from . import config
from .calls import click_to_call, list_calls, require_stats
from .ingest import ingest
from .sms_webhooks import routes as sms_routes
from .providers import WebhookRequest, providers_of
from .stats import stats


if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm


CLICK_TO_CALL: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {"to": {"type": "string", "maxLength": 100, "description": "a phone number, any format"},
                   "contact_id": {"description": "call the contact's first phone (instead of to)"},
                   "extension": {"type": "string", "maxLength": 100,
                                 "description": "the extension to ring (default: the user's own)"}}}
CALL_REQUESTED: dict[str, Any] = {
    "type": "object", "properties": {"requested": {"type": "boolean"},
                                     "call": {"type": ["object", "null"], "description": "the call, when the "
                                              "provider answers with one at once"}}}


def routes(crm: "Crm") -> list[BaseRoute]:
    """The plugin's routes for ``crm``."""

    async def webhook(request: Request) -> Response:
        provider = providers_of(crm).get(request.path_params["provider"])
        if provider is None:
            raise NotFoundError(f"no telephony provider {request.path_params['provider']!r}")
        hook = WebhookRequest(url=str(request.url), headers={k.lower(): v for k, v in request.headers.items()},
                              body=await request.body())

        def run() -> dict[str, Any]:
            events = provider.parse_webhook(crm, config.load(crm), hook)
            done = [ingest(crm, e) for e in events]
            return {"received": len(done), "changed": sum(d.changed for d in done),
                    "calls": [d.call.id for d in done]}

        return await _answer(run)

    async def place_call(request: Request) -> Response:
        """Ring the user's extension, then dial a number or a contact's first phone."""
        services = request_services(request)
        body = await read_json_body(request, CLICK_TO_CALL)

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
        document(Route("/click-to-call", place_call, methods=["POST"]), body=CLICK_TO_CALL, response=CALL_REQUESTED,
                 status=202, errors=(403, 502, 503)),
        Route("/calls", list_route, methods=["GET"]),
        Route("/stats", stats_route, methods=["GET"]),
        *sms_routes(crm),
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


async def _answer(run: Any, status: int = 200) -> Response:
    """``run()``'s result as JSON, run in a thread. Its errors are crmkit's to answer: 4xx as they are,
    502 (provider unavailable) and 503 (not configured, with Retry-After), any other a plain 500."""
    return JSONResponse(await run_in_threadpool(run), status_code=status)
