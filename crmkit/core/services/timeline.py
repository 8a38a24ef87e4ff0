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
DEAL_KEY_EVENTS = ("deal.created", "deal.stage_changed", "deal.archived", "deal.restored")
"""The events of a deal that a contact's or company's timeline shows too."""


class TimelineService:
    def __init__(self, crm: "Crm", actor_id: int | None, access: Access | None = None) -> None:
        self.crm = crm
        self.actor_id = actor_id
        self.access = access if access is not None else Access.of(crm, actor_id)

    def of(self, entity_type: str, entity_id: int, *, limit: int = DEFAULT_PAGE, cursor: str | None = None,
           with_lead: bool = True, related: bool = True) -> Page[Event]:
        """The events of one card, oldest first. A deal's timeline starts with its lead's history
        (``with_lead``); with ``related``, a card's timeline shows the activity of the tasks on
        it (notes on them included), and a contact's or company's the key events of its deals
        (:data:`DEAL_KEY_EVENTS`) -- only the tasks and deals the acting user may read."""
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
        if related:
            cond = self._related(cond, entity_type, ident)
        if entity_type in ("contact", "company", "lead"):  # cards merged into this one: one timeline
            from ...transfer.merge import merged_ids

            with self._read() as conn:
                merged = merged_ids(conn, entity_type, ident)
            if merged:
                cond = cond | ((e.entity_type == entity_type) & e.entity_id.in_(merged))
        return self._page(select(schema.events).where(cond), limit, cursor)

    def _related(self, cond: Any, entity_type: str, ident: int) -> Any:
        """``cond`` or the events of the cards related to this one (within the record rules)."""
        e = schema.events.c
        if entity_type in ("deal", "lead", "contact", "company"):
            t = schema.tasks.c
            tasks = select(t.id).where(t.entity_type == entity_type, t.entity_id == ident)
            rule = self.access.visible("task", schema.tasks)
            if rule is not None:
                tasks = tasks.where(rule)
            cond = cond | ((e.entity_type == "task") & e.entity_id.in_(tasks))
        if entity_type in ("contact", "company"):
            d = schema.deals.c
            deals = select(d.id).where((d.contact_id if entity_type == "contact" else d.company_id) == ident)
            rule = self.access.visible("deal", schema.deals)
            if rule is not None:
                deals = deals.where(rule)
            return cond | ((e.entity_type == "deal") & e.type.in_(DEAL_KEY_EVENTS) & e.entity_id.in_(deals))
        return cond

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
