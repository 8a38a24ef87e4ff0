"""Likely duplicates: contacts sharing a phone or an e-mail or the same full name, companies with
the same name, leads sharing a phone or an e-mail (case-insensitive; archived cards left out).

``find`` answers for one card (the API returns it with a created or changed card); ``report``
lists every group; with ``[settings.duplicates] strict = true`` a create or an update that makes
a duplicate is refused with a :class:`~crmkit.ConflictError` (HTTP 409) naming the cards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from sqlalchemy import Connection, and_, func, select

from ..core import schema
from ..core.errors import ConflictError, ValidationError
from ..core.services.base import check_id, read_connection

if TYPE_CHECKING:  # pragma: no cover
    from ..core.app import Crm
    from ..core.events import Event
    from ..core.services import Services

ENTITIES = ("contact", "company", "lead")
CHECKED_EVENTS = frozenset({"contact.created", "contact.updated", "company.created", "company.updated",
                            "lead.created", "lead.updated"})


def strict(crm: "Crm") -> bool:
    """Whether the deployment refuses duplicates (``[settings.duplicates] strict = true``)."""
    return bool(crm.settings.for_plugin("duplicates").get("strict", False))


def _full_name(c: Any) -> Any:
    return func.lower(func.trim(c.first_name + " " + c.last_name))


def find_in(conn: Connection, entity: str, ident: int) -> list[int]:
    """The other live cards that look like card ``ident`` (all of them, whatever the record rules)."""
    if entity == "contact":
        c, ph, em = schema.contacts.c, schema.contact_phones.c, schema.contact_emails.c
        me = conn.execute(select(schema.contacts).where(c.id == ident)).first()
        if me is None:
            return []
        same: set[int] = set()
        if me.phones:
            same |= set(conn.scalars(select(ph.contact_id).where(ph.phone.in_(list(me.phones)))))
        if me.emails:
            same |= set(conn.scalars(select(em.contact_id).where(em.email.in_(list(me.emails)))))
        name = f"{me.first_name} {me.last_name}".strip().lower()
        if name:
            same |= set(conn.scalars(select(c.id).where(_full_name(c) == name)))
        table = schema.contacts
    elif entity == "company":
        c = schema.companies.c
        name = conn.scalar(select(c.name).where(c.id == ident))
        if name is None:
            return []
        same = set(conn.scalars(select(c.id).where(func.lower(c.name) == name.strip().lower())))
        table = schema.companies
    else:
        c = schema.leads.c
        me = conn.execute(select(schema.leads).where(c.id == ident)).first()
        if me is None:
            return []
        same = set()
        for col, value in ((c.phone, me.phone), (c.email, me.email)):
            if value:
                same |= set(conn.scalars(select(c.id).where(col == value, c.status == "new")))
        table = schema.leads
    same.discard(ident)
    if not same:
        return []
    return sorted(conn.scalars(select(table.c.id).where(table.c.id.in_(same), table.c.archived_at.is_(None))))


def find(services: "Services", entity: str, ident: int) -> list[int]:
    """The likely duplicates of one card that the acting user may read."""
    if entity not in ENTITIES:
        raise ValidationError(f"entity: {str(entity)[:40]!r} is not one of {', '.join(ENTITIES)}", field="entity")
    ident = check_id(ident, "id")
    table = schema.CARD_TABLES[entity]
    with read_connection(services.crm) as conn:
        ids = find_in(conn, entity, ident)
        rule = services.access.visible(entity, table)
        if ids and rule is not None:
            ids = sorted(conn.scalars(select(table.c.id).where(table.c.id.in_(ids), rule)))
    return ids


def refuse_duplicates(tx: Any, events: Sequence["Event"]) -> None:
    """In strict mode: a card created or changed into a duplicate is refused (the command rolls back)."""
    if not any(event.type in CHECKED_EVENTS for event in events) or not strict(tx.crm):
        return
    for event in events:
        if event.type in CHECKED_EVENTS and event.entity_id is not None:
            if event.type.endswith(".updated") and not ({"phones", "emails", "first_name", "last_name", "name",
                                                         "phone", "email"} & set(event.changes)):
                continue
            found = find_in(tx.conn, event.entity_type, event.entity_id)
            if found:
                raise ConflictError(f"duplicates: {event.entity_type} {event.entity_id} looks like "
                                    f"{event.entity_type} {', '.join(map(str, found))} (strict mode; merge them "
                                    "or change the phone, e-mail or name)", field="duplicates")


def report(services: "Services", entity: str, *, limit: int = 100) -> list[dict[str, Any]]:
    """Groups of likely duplicates the acting user may read: ``{"by", "value", "ids"}``, largest first."""
    if entity not in ENTITIES:
        raise ValidationError(f"entity: {str(entity)[:40]!r} is not one of {', '.join(ENTITIES)}", field="entity")
    table = schema.CARD_TABLES[entity]
    rule = services.access.visible(entity, table)
    live = and_(table.c.archived_at.is_(None), rule) if rule is not None else table.c.archived_at.is_(None)
    keys: list[tuple[str, Any, Any]] = []  # (by, key expression, the table joined to the card)
    if entity == "contact":
        keys = [("phone", schema.contact_phones.c.phone, schema.contact_phones),
                ("email", schema.contact_emails.c.email, schema.contact_emails),
                ("name", _full_name(table.c), None)]
    elif entity == "company":
        keys = [("name", func.lower(table.c.name), None)]
    else:
        keys = [("phone", table.c.phone, None), ("email", table.c.email, None)]
    groups: list[dict[str, Any]] = []
    with read_connection(services.crm) as conn:
        for by, key, joined in keys:
            ident = joined.c.contact_id if joined is not None else table.c.id
            base = select(key.label("k"), ident.label("id"))
            base = base.select_from(joined.join(table, table.c.id == joined.c.contact_id)) if joined is not None else base
            base = base.where(live, key.is_not(None), key != "").subquery()
            query = (select(base.c.k, func.count(func.distinct(base.c.id)).label("n")).group_by(base.c.k)
                     .having(func.count(func.distinct(base.c.id)) > 1).order_by(func.count().desc(), base.c.k).limit(limit))
            for value, _n in conn.execute(query).all():
                ids = sorted(set(conn.scalars(select(base.c.id).where(base.c.k == value))))
                groups.append({"by": by, "value": value, "ids": ids})
    groups.sort(key=lambda g: (-len(g["ids"]), g["by"], str(g["value"])))
    return groups[:limit]
