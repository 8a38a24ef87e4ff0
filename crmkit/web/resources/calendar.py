"""The task calendar feed: ``POST /api/v1/users/me/calendar`` makes (or replaces) the secret URL,
``DELETE`` revokes it, and ``GET /calendar/<secret>.ics`` (outside the API, no token: the secret is
the key) serves the feed (:mod:`crmkit.core.calendar`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...core.calendar import PATH, feed_path, render_feed
from ...core.errors import CrmError
from ..errors import error_response
from ..operation import Ctx, Operation

if TYPE_CHECKING:  # pragma: no cover
    from ...core.app import Crm

FEED = {"type": "object", "required": ["url", "path"], "properties": {
    "url": {"type": "string", "description": "the feed's address (shown once: keep it secret)"},
    "path": {"type": "string"}}}
REVOKED = {"type": "object", "required": ["revoked"], "properties": {"revoked": {"type": "boolean"}}}
HEADERS = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def _rotate(ctx: Ctx) -> Any:
    path = feed_path(ctx.services.calendar.rotate())
    return {"url": str(ctx.request.base_url).rstrip("/") + path, "path": path}


def _revoke(ctx: Ctx) -> Any:
    return {"revoked": ctx.services.calendar.revoke()}


def operations(crm: "Crm") -> list[Operation]:
    return [
        Operation("POST", "/users/me/calendar", _rotate, "Make (or replace) your task calendar's secret URL",
                  "users", "rotate_calendar_feed", response=FEED,
                  description="An iCalendar (RFC 5545) feed of your tasks, for the calendar you use. The URL is "
                              "its only key: it is shown once; calling this again replaces it (the old one stops "
                              "working)."),
        Operation("DELETE", "/users/me/calendar", _revoke, "Revoke your task calendar's URL", "users",
                  "revoke_calendar_feed", response=REVOKED),
    ]


async def calendar_feed(request: Request) -> Response:
    """``GET /calendar/<secret>.ics``: the feed, or 404 for an unknown or revoked secret."""
    crm = request.app.state.crm
    base = str(request.base_url)
    try:
        text = await run_in_threadpool(render_feed, crm, request.path_params["secret"], base_url=base)
    except CrmError as exc:
        return error_response(exc, HEADERS)
    return Response(text.encode("utf-8"), 200, HEADERS, media_type="text/calendar; charset=utf-8")


def routes() -> list[Route]:
    """The public route of the feed (no token)."""
    return [Route(PATH, calendar_feed, methods=["GET"], name="calendar_feed")]
