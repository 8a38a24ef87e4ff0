"""``/timeline/{entity_type}/{id}``: a card's events; ``/events``: the audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core.events import Event
from ..operation import Ctx, Operation, Param
from ..params import PAGING, paging
from ..schemas import page_schema, record_schema, text

if TYPE_CHECKING:  # pragma: no cover
    from ...core.app import Crm

SERVICES = {"lead": "leads", "contact": "contacts", "company": "companies", "deal": "deals", "task": "tasks",
            "user": "users"}


def operations(crm: "Crm") -> list[Operation]:
    rec = record_schema(Event)

    def of(ctx: Ctx) -> Any:
        etype, ident = ctx.path["entity_type"], ctx.id
        if etype not in SERVICES:
            from ...core.errors import NotFoundError

            raise NotFoundError(f"no card type {etype!r} (card types: {', '.join(SERVICES)})")
        getattr(ctx.services, SERVICES[etype]).get(ident)  # 404 (or 403) before reading its events
        _, limit, cursor = paging(ctx.query)
        return ctx.services.timeline.of(etype, ident, limit=limit, cursor=cursor)

    def all_(ctx: Ctx) -> Any:
        filters, limit, cursor = paging(ctx.query)
        return ctx.services.timeline.all(limit=limit, cursor=cursor, **filters)

    audit = (*PAGING, Param("type", text(80), "only events of this type, e.g. deal.stage_changed"),
             Param("actor_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}, "only events by this user"))
    return [
        Operation("GET", "/timeline/{entity_type}/{id:int}", of, "A card's timeline (its events, oldest first)",
                  "timeline", "card_timeline", query=PAGING, response=page_schema(rec)),
        Operation("GET", "/events", all_, "The audit log: every event, oldest first", "timeline", "list_events",
                  query=audit, response=page_schema(rec)),
    ]
