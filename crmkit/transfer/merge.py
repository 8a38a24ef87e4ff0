"""Merging duplicate contacts, companies or leads into one card (one transaction).

The survivor keeps its values unless a field is chosen from another card (``fields``); an empty
value is filled from the others; phones and e-mails are united; custom fields are merged. Every
row that pointed at a merged-away card points at the survivor: deals, leads, contacts of a
company, tasks, notes, files, shares, import records -- and plugins' rows through the hook
``crm_merge_records``. The merged-away cards are archived, their last state kept in
``crm_merges`` with a pointer to the survivor: nothing is lost, the timelines are combined (a
survivor's timeline shows its merged-away cards' events) and reading a merged-away id answers
with the survivor's id (:func:`survivor_of`; HTTP 410 ``merged`` with ``merged_into``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from sqlalchemy import select, update

from ..core import schema
from ..core.errors import CrmError, ValidationError
from ..core.events import to_json_value
from ..core.hookcall import call_hook
from ..core.services.base import check_id, read_connection
from .tables import import_rows, merges

if TYPE_CHECKING:  # pragma: no cover
    from ..core.services import Services

SERVICES = {"contact": "contacts", "company": "companies", "lead": "leads"}
_FIELDS = {
    "contact": ("first_name", "last_name", "company_id", "birthday", "responsible_id"),
    "company": ("name", "address", "responsible_id"),
    "lead": ("title", "name", "company_name", "phone", "email", "responsible_id"),
}
# The core's columns that point at a card, per card type: (table, column).
_POINTERS = {
    "contact": ((schema.deals, "contact_id"), (schema.leads, "contact_id")),
    "company": ((schema.deals, "company_id"), (schema.contacts, "company_id")),
    "lead": ((schema.deals, "lead_id"),),
}


class MergedError(CrmError):
    """The card was merged into another: ``merged_into`` is the survivor's id (HTTP 410 Gone, with
    ``merged_into`` in the error and ``Location`` naming the survivor)."""

    code = "merged"
    status = 410

    def __init__(self, entity: str, ident: int, survivor: int) -> None:
        super().__init__(f"{entity} {ident} was merged into {entity} {survivor}", field="id")
        self.entity = entity
        self.merged_into = survivor
        self.headers: dict[str, str] = {}

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "merged_into": self.merged_into}


def survivor_of(crm: Any, entity: str, ident: int) -> int | None:
    """The card ``ident`` was merged into (following chains), or None."""
    seen: set[int] = set()
    current: int | None = None
    with read_connection(crm) as conn:
        while ident not in seen:
            seen.add(ident)
            found = conn.scalar(select(merges.c.survivor_id).where(merges.c.entity_type == entity,
                                                                   merges.c.merged_id == ident))
            if found is None:
                return current
            current = ident = int(found)
    return current


def merge(services: "Services", entity: str, survivor_id: int, merged_ids: Sequence[int],
          fields: Mapping[str, int] | None = None) -> Any:
    """Merge ``merged_ids`` into ``survivor_id``; ``fields`` picks a field's value from one of the
    cards (``{"first_name": 17, "custom.source": 18}``). Returns the survivor's new record."""
    if entity not in SERVICES:
        raise ValidationError(f"entity: {str(entity)[:40]!r} is not one of {', '.join(SERVICES)}", field="entity")
    svc = getattr(services, SERVICES[entity])
    survivor_id = check_id(survivor_id, "survivor_id")
    others = list(dict.fromkeys(check_id(i, "ids") for i in merged_ids))
    if not others or survivor_id in others:
        raise ValidationError("ids: give other cards than the survivor to merge into it", field="ids")
    fields = dict(fields or {})
    with services.crm.transaction(services.actor_id) as tx:
        rows = {i: svc._row(tx.conn, i, lock=True) for i in [survivor_id, *others]}
        for i, row in rows.items():
            if row.archived_at is not None:
                raise ValidationError(f"ids: {entity} {i} is archived; restore it first", field="ids")
        changes = _changes(entity, rows, survivor_id, others, fields)
        if changes:
            svc.update(survivor_id, changes)
        moved = _repoint(tx, entity, survivor_id, others)
        for plugin, counts in call_hook(services.crm.pm, "crm_merge_records", tx=tx, entity_type=entity,
                                        survivor_id=survivor_id, merged_ids=list(others)):
            for name, n in (counts or {}).items():
                moved[f"{plugin}.{name}"] = int(n)
        for i in others:
            tx.conn.execute(merges.insert().values(
                entity_type=entity, merged_id=i, survivor_id=survivor_id, actor_id=services.actor_id,
                merged_at=tx.now, snapshot={k: to_json_value(v) for k, v in rows[i]._mapping.items()}))
            svc.archive(i)
        tx.emit(f"{entity}.merged", entity, survivor_id, data={"merged_ids": others, "moved": moved,
                                                               "fields": {k: v for k, v in fields.items()}})
    return svc.get(survivor_id)


def _changes(entity: str, rows: Mapping[int, Any], survivor_id: int, others: list[int],
             fields: Mapping[str, int]) -> dict[str, Any]:
    allowed = set(_FIELDS[entity]) | ({"phones", "emails"} if entity == "contact" else set())
    survivor = rows[survivor_id]
    changes: dict[str, Any] = {}
    for name, source in fields.items():
        if source not in rows:
            raise ValidationError(f"fields: {name} is taken from {source}, which is not one of the merged cards",
                                  field="fields")
        if name.startswith("custom."):
            changes.setdefault("custom", {})[name[7:]] = rows[source].custom.get(name[7:])
        elif name in allowed:
            changes[name] = getattr(rows[source], name)
        else:
            raise ValidationError(f"fields: {name!r} is not a field a merge chooses (fields: "
                                  f"{', '.join(sorted(allowed))}, custom.<name>)", field="fields")
    for name in _FIELDS[entity]:
        if name not in changes and getattr(survivor, name) in (None, ""):
            filled = next((getattr(rows[i], name) for i in others if getattr(rows[i], name) not in (None, "")), None)
            if filled is not None:
                changes[name] = filled
    if entity == "contact":
        for name in ("phones", "emails"):
            if name not in fields:
                united = list(dict.fromkeys(v for i in [survivor_id, *others] for v in (getattr(rows[i], name) or ())))
                if united != list(survivor.phones if name == "phones" else survivor.emails):
                    changes[name] = united
    custom = dict(changes.get("custom", {}))
    for i in others:
        for k, v in (rows[i].custom or {}).items():
            if k not in (survivor.custom or {}) and k not in custom:
                custom[k] = v
    if custom:
        changes["custom"] = custom
    if "birthday" in changes and changes["birthday"] is not None:
        changes["birthday"] = changes["birthday"].isoformat()
    return changes


def _repoint(tx: Any, entity: str, survivor_id: int, others: list[int]) -> dict[str, int]:
    conn = tx.conn
    moved: dict[str, int] = {}
    for table, column in _POINTERS[entity]:
        n = conn.execute(update(table).where(table.c[column].in_(others)).values({column: survivor_id})).rowcount
        moved[f"{table.name}.{column}"] = n
    for table in (schema.tasks, schema.notes, schema.files):
        n = conn.execute(update(table).where(table.c.entity_type == entity, table.c.entity_id.in_(others))
                         .values(entity_id=survivor_id)).rowcount
        moved[table.name] = n
    sh = schema.shares.c
    have = set(conn.scalars(select(sh.user_id).where(sh.entity_type == entity, sh.entity_id == survivor_id)))
    for user_id in set(conn.scalars(select(sh.user_id).where(sh.entity_type == entity, sh.entity_id.in_(others)))) - have:
        conn.execute(schema.shares.insert().values(entity_type=entity, entity_id=survivor_id, user_id=user_id))
    conn.execute(update(import_rows).where(import_rows.c.entity_type == entity, import_rows.c.entity_id.in_(others))
                 .values(entity_id=survivor_id))
    return moved


def merged_ids(conn: Any, entity: str, survivor_id: int) -> list[int]:
    """The cards merged into ``survivor_id`` (directly or through earlier merges)."""
    out: list[int] = []
    todo = [survivor_id]
    while todo:
        found = list(conn.scalars(select(merges.c.merged_id).where(merges.c.entity_type == entity,
                                                                   merges.c.survivor_id.in_(todo))))
        found = [f for f in found if f not in out]
        out += found
        todo = found
    return out
