"""The event log read back: a card's timeline, and the audit log of the deployment."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from .. import schema
from ..access import Access
from ..errors import NotFoundError, PermissionDeniedError
from ..events import Event
from ..records import Page
from .base import DEFAULT_PAGE, check_id, check_limit, check_text, id_cursor, read_connection

if TYPE_CHECKING:  # pragma: no cover
    from ..app import Crm

MAX_EVENT_ID = 2**63 - 1  # event ids are 64-bit on PostgreSQL

TIMELINE_TABLES = {"deal": schema.deals, "lead": schema.leads, "contact": schema.contacts,
                   "company": schema.companies, "task": schema.tasks}


class TimelineService:
    def __init__(self, crm: "Crm", actor_id: int | None, access: Access | None = None) -> None:
        self.crm = crm
        self.actor_id = actor_id
        self.access = access if access is not None else Access.of(crm, actor_id)

    def of(self, entity_type: str, entity_id: int, *, limit: int = DEFAULT_PAGE, cursor: str | None = None,
           with_lead: bool = True) -> Page[Event]:
        """The events of one card, oldest first. A deal's timeline starts with its lead's history."""
        e = schema.events.c
        entity_type = check_text(entity_type, "entity_type", required=True, max_length=40)
        ident = check_id(entity_id, "entity_id")
        self._check_visible(entity_type, ident)
        cond = (e.entity_type == entity_type) & (e.entity_id == ident)
        if entity_type == "deal" and with_lead:
            with self._read() as conn:
                lead_id = conn.scalar(select(schema.deals.c.lead_id).where(schema.deals.c.id == ident))
            if lead_id is not None:
                cond = cond | ((e.entity_type == "lead") & (e.entity_id == lead_id))
        return self._page(select(schema.events).where(cond), limit, cursor)

    def all(self, *, limit: int = DEFAULT_PAGE, cursor: str | None = None, type: str | None = None,
            actor_id: int | None = None) -> Page[Event]:
        """The whole log (the audit trail), oldest first, optionally by event type or actor.

        Only users who see every card (admins) read the whole log."""
        if not self.access.unrestricted:
            raise PermissionDeniedError("the audit log is for admins; read a card's timeline instead")
        e = schema.events.c
        query = select(schema.events)
        if type:
            query = query.where(e.type == check_text(type, "type", max_length=80))
        if actor_id is not None:
            query = query.where(e.actor_id == check_id(actor_id, "actor_id"))
        return self._page(query, limit, cursor)

    def _read(self) -> Any:
        return read_connection(self.crm)

    def _check_visible(self, entity_type: str, ident: int) -> None:
        if self.access.unrestricted:
            return
        table = TIMELINE_TABLES.get(entity_type)
        with self._read() as conn:
            if table is None:  # a user's timeline: users are no secret, their audit trail is for admins
                raise PermissionDeniedError(f"the timeline of a {entity_type} is for admins")
            if not self.access.can_see(conn, entity_type, table, ident):
                raise NotFoundError(f"{entity_type} {ident} does not exist")  # invisible answers like missing

    def _page(self, query: Any, limit: int, cursor: str | None) -> Page[Event]:
        check_limit(limit)
        e = schema.events.c
        if cursor:
            query = query.where(e.id > id_cursor(cursor, maximum=MAX_EVENT_ID))
        with self._read() as conn:
            rows = conn.execute(query.order_by(e.id).limit(limit + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return Page([Event.from_row(r) for r in rows], str(rows[-1].id) if more else None)
