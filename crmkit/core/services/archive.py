"""Archive, restore and delete any card (lead, contact, company, deal, task).

* **Archive** (``<entity>.archived``): the card is hidden from lists and counts unless they ask
  for ``archived=true`` (only archived) or ``archived=any``; it stays in reports and timelines,
  reachable by id, and may still be changed. Needs the right to change the card.
* **Restore** (``<entity>.restored``): back in the lists.
* **Delete** (``<entity>.deleted``): the card's row and the rows that only exist for it (its
  notes, shares, files, a deal's stage history, a contact's phone and e-mail index) are gone;
  its events stay in the log (the audit trail). Tasks on it are kept, detached from it. Only a
  role with ``cards.delete`` (admins) may delete. A card other cards link to (a contact with
  deals, a converted lead, ...) is refused (409) until they are changed or deleted; a plugin's
  rows referring to it likewise, unless the plugin removes them when it sees ``<entity>.deleted``
  in ``crm_on_events`` (the card's row is deleted last, after every round of hooks).

The ``<entity>.deleted`` event keeps what the card was *without personal data*: its state, links,
owner and times (``data["card"]``), and what went with it (``data["removed"]``); names, titles,
phones, e-mails, free text and custom fields are left out (the earlier events of the card still
hold them, and the personal-data erasure scrubs those).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, TypeVar

from sqlalchemy import ColumnElement, Select, Table, delete, func, select, update

from .. import schema
from ..errors import ConflictError, CrmError, ValidationError
from ..events import to_json_value
from ..money import Money
from ..unit_of_work import Tx
from .base import Service

R = TypeVar("R")

class Archivable(Service[R]):
    """A card service whose cards are archived, restored and deleted (leads, contacts,
    companies, deals, tasks; notes and users are not)."""

    def archive(self, id: int, *, version: int | None = None) -> R:
        """Archive a card: hidden from lists unless they ask for ``archived=true`` or ``any``; still in
        reports and timelines and reachable by id. Emits ``<entity>.archived``."""
        return set_archived(self, id, True, version)  # type: ignore[no-any-return]

    def restore(self, id: int, *, version: int | None = None) -> R:
        """Bring an archived card back into the lists. Emits ``<entity>.restored``."""
        return set_archived(self, id, False, version)  # type: ignore[no-any-return]

    def delete(self, id: int) -> dict[str, Any]:
        """Delete a card for good (admins: ``cards.delete``); its events stay. Emits ``<entity>.deleted``.
        See this module's docstring for what goes with it and what is refused."""
        return delete_card(self, id)


DELETE = "cards.delete"
"""The permission to delete cards (admins hold it through ``*``)."""
ARCHIVED_MODES = ("false", "true", "any")
EVENTS = {action: {e: f"{e}.{action}" for e in ("lead", "contact", "company", "deal", "task")}
          for action in ("archived", "restored", "deleted")}
"""The event types, e.g. ``EVENTS["archived"]["deal"] == "deal.archived"``."""

# What a deleted card's event keeps: no names, titles, phones, e-mails, free text or custom fields.
_KEPT: Mapping[str, tuple[str, ...]] = {
    "lead": ("status", "source", "customer_kind", "responsible_id", "contact_id", "created_at", "closed_at",
             "archived_at"),
    "contact": ("company_id", "responsible_id", "created_at", "archived_at"),
    "company": ("responsible_id", "created_at", "archived_at"),
    "deal": ("status", "source", "responsible_id", "contact_id", "company_id", "lead_id", "origin_deal_id",
             "created_at", "closed_at", "archived_at"),
    "task": ("status", "assignee_id", "entity_type", "entity_id", "due_at", "completed_at", "created_by", "rule",
             "created_at", "archived_at"),
}

# Core links that keep a card from being deleted: (table, column, kind of card holding the link).
_LINKS: Mapping[str, tuple[tuple[Table, str, str], ...]] = {
    "contact": ((schema.deals, "contact_id", "deal"), (schema.leads, "contact_id", "lead")),
    "company": ((schema.deals, "company_id", "deal"), (schema.contacts, "company_id", "contact")),
    "lead": ((schema.deals, "lead_id", "deal"),),
    "deal": (),
    "task": (),
}
# Rows that exist only for the card and go with it (besides notes, shares and files).
_OWN_ROWS: Mapping[str, tuple[tuple[Table, str], ...]] = {
    "deal": ((schema.stage_history, "deal_id"),),
    "contact": ((schema.contact_phones, "contact_id"), (schema.contact_emails, "contact_id")),
}


def archived_mode(value: Any) -> str:
    """``archived`` as a list filter: ``false`` (default: active cards only), ``true`` or ``any``."""
    if value is None or value is False:
        return "false"
    if value is True:
        return "true"
    if isinstance(value, str) and value.lower() in ARCHIVED_MODES:
        return value.lower()
    raise ValidationError(f"archived: {str(value)[:100]!r} is not one of true, false, any", field="archived")


def filter_archived(table: Table, query: Select[Any], filters: Mapping[str, Any]) -> tuple[Select[Any], dict[str, Any]]:
    """``query`` limited by the ``archived`` filter (active cards only when it is not given), and the
    other filters. Tables without ``archived_at`` (notes, users) are left alone."""
    rest = dict(filters)
    if "archived_at" not in table.c:
        return query, rest
    mode = archived_mode(rest.pop("archived", None))
    column = table.c.archived_at
    condition: ColumnElement[bool] | None = (column.is_(None) if mode == "false"
                                             else column.is_not(None) if mode == "true" else None)
    return (query.where(condition) if condition is not None else query), rest


def _archivable(service: "Service[Any]") -> None:
    if "archived_at" not in service.table.c:
        raise ValidationError(f"{service.entity}s are not archived or deleted this way", field="entity_type")


def set_archived(service: "Service[Any]", id: Any, archived: bool, version: int | None) -> Any:
    """Archive (``archived=True``) or restore a card: one command, one ``<entity>.archived`` or
    ``<entity>.restored`` event. Archiving an archived card (or restoring an active one) is a 409."""
    _archivable(service)
    entity = service.entity
    with service._tx() as tx:
        row = service._row(tx.conn, id, lock=True)
        if (row.archived_at is not None) == archived:
            state = "already archived" if archived else "not archived"
            raise ConflictError(f"{entity} {row.id} is {state}", field="archived")
        value = tx.now if archived else None
        service._bump(tx, row, {"archived_at": value}, version)
        data: dict[str, Any] = {}
        if entity == "task":
            data = {"entity_type": row.entity_type, "entity_id": row.entity_id}
        tx.emit(EVENTS["archived" if archived else "restored"][entity], entity, row.id,
                {"archived_at": {"before": to_json_value(row.archived_at), "after": to_json_value(value)}},
                data=data)
        return service._record(service._reload(tx.conn, row.id))


def delete_card(service: "Service[Any]", id: Any) -> dict[str, Any]:
    """Delete a card for good (see the module doc). Returns what was removed, as in the event."""
    from .files import discard_blobs

    _archivable(service)
    entity = service.entity
    service.access.require(DELETE, f"delete {entity}s")
    outermost = getattr(service.crm._tx_local, "tx", None) is None
    with service._tx() as tx:
        row = service._row(tx.conn, id, lock=True)
        _refuse_links(tx, entity, row.id)
        removed: dict[str, Any] = {}
        f = schema.files.c
        on_card = (f.entity_type == entity) & (f.entity_id == row.id)
        blobs = list(tx.conn.scalars(select(f.storage_key).where(on_card)))
        for table, where in ((schema.notes, (schema.notes.c.entity_type == entity) & (schema.notes.c.entity_id == row.id)),
                             (schema.shares, (schema.shares.c.entity_type == entity)
                              & (schema.shares.c.entity_id == row.id)),
                             (schema.files, on_card)):
            removed[table.name.removeprefix("crm_")] = tx.conn.execute(delete(table).where(where)).rowcount
        t = schema.tasks.c
        on_it = (t.entity_type == entity) & (t.entity_id == row.id)
        detached = list(tx.conn.scalars(select(t.id).where(on_it).order_by(t.id)))
        if detached:
            tx.conn.execute(update(schema.tasks).where(on_it).values(
                entity_type=None, entity_id=None, version=t.version + 1, updated_at=tx.now))
        removed["detached_tasks"] = detached
        for table, column in _OWN_ROWS.get(entity, ()):
            removed[table.name.removeprefix("crm_")] = int(tx.conn.scalar(
                select(func.count()).select_from(table).where(table.c[column] == row.id)) or 0)
        card = _snapshot(entity, row)
        tx.emit(EVENTS["deleted"][entity], entity, row.id, data={"card": card, "removed": removed})
        ident = row.id
        tx.before_commit(lambda tx: _delete_row(tx, service.table, entity, ident))
    if outermost:
        discard_blobs(service.crm, blobs)
    return {"entity_type": entity, "id": ident, "card": card, "removed": removed}


def _refuse_links(tx: Tx, entity: str, ident: int) -> None:
    """A 409 naming the cards that link to this one (they would point at nothing)."""
    found: list[str] = []
    for table, column, kind in _LINKS[entity]:
        ids = list(tx.conn.scalars(select(table.c.id).where(table.c[column] == ident).order_by(table.c.id).limit(6)))
        found += [f"{kind} {i}" for i in ids[:5]] + ([f"more {kind}s"] if len(ids) > 5 else [])
    if found:
        raise ConflictError(f"{entity} {ident} cannot be deleted: {', '.join(found)} refer to it "
                            f"(change or delete them first, or archive the {entity})", field="id")


def _delete_row(tx: Tx, table: Table, entity: str, ident: int) -> None:
    """The last statements of the deletion, after every round of hooks (a plugin may have removed its
    rows referring to the card by then): the card's own rows, then the card."""
    for own, column in _OWN_ROWS.get(entity, ()):
        tx.conn.execute(delete(own).where(own.c[column] == ident))
    for other in _referring(tx, table):
        for column in other[1]:
            if tx.conn.scalar(select(column).where(column == ident).limit(1)) is not None:
                raise ConflictError(f"{entity} {ident} cannot be deleted: rows of {other[0].name} refer to it "
                                    "(the plugin owning them keeps them; archive it instead)", field="id")
    if tx.conn.execute(delete(table).where(table.c.id == ident)).rowcount != 1:
        raise CrmError(f"{entity} {ident} vanished while it was being deleted")


def _referring(tx: Tx, table: Table) -> list[tuple[Table, list[Any]]]:
    """Every other table of the deployment (the core's and the enabled plugins') with a foreign key
    to ``table``, and those columns."""
    out = []
    handled = {t.name for entity_rows in _OWN_ROWS.values() for t, _ in entity_rows}
    for md in tx.crm.metadatas:
        for other in md.tables.values():
            if other is table or other.name in handled:
                continue
            columns = [fk.parent for fk in other.foreign_keys if fk.column.table is table]
            if columns:
                out.append((other, columns))
    return out


def _snapshot(entity: str, row: Any) -> dict[str, Any]:
    card = {k: to_json_value(getattr(row, k)) for k in _KEPT[entity]}
    if entity == "deal" and row.amount_minor is not None and row.currency:
        card["amount"] = Money.from_minor(row.amount_minor, row.currency).to_json()
    return card
