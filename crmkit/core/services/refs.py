"""Checks that referenced cards exist, so a bad id is a clear error, not an IntegrityError."""

from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import Connection, Table, bindparam, select

from .. import schema
from ..errors import PermissionDeniedError, ValidationError
from ..prepared import first
from .base import check_id

ENTITY_TABLES: dict[str, Table] = {
    "lead": schema.leads, "contact": schema.contacts, "company": schema.companies, "deal": schema.deals,
    "task": schema.tasks, "user": schema.users,
}


_EXISTS: dict[str, Any] = {}


def _exists(table: Table) -> Any:
    """``SELECT id FROM table WHERE id = :ident``, built once per table."""
    query = _EXISTS.get(table.name)
    if query is None:
        query = _EXISTS[table.name] = select(table.c.id).where(table.c.id == bindparam("ident"))
    return query


def check_ref(conn: Connection, table: Table, value: Any, field: str, what: str) -> int | None:
    if value is None:
        return None
    ident = check_id(value, field)
    if conn.scalar(_exists(table), {"ident": ident}) is None:
        raise ValidationError(f"{field}: {what} {ident} does not exist", field=field)
    return ident


_USER_ACTIVE = select(schema.users.c.active).where(schema.users.c.id == bindparam("ident"))


def check_user(conn: Connection, value: Any, field: str) -> int | None:
    """An existing, active user's id (one query)."""
    if value is None:
        return None
    ident = check_id(value, field)
    active = conn.scalar(_USER_ACTIVE, {"ident": ident})
    if active is None:
        raise ValidationError(f"{field}: user {ident} does not exist", field=field)
    if not active:
        raise ValidationError(f"{field}: user {ident} is deactivated", field=field)
    return ident


def check_card(conn: Connection, entity_type: Any, entity_id: Any, access: Any = None, *,
               write: bool = False) -> tuple[str, int]:
    """A (type, id) pair naming an existing card the acting user may see -- or, with ``write``,
    change (giving out a task on a card opens it to the assignee) -- for tasks and notes."""
    if entity_type not in ENTITY_TABLES or entity_type == "user":
        kinds = ", ".join(k for k in ENTITY_TABLES if k != "user")
        raise ValidationError(f"entity_type: {entity_type!r} is not one of {kinds}", field="entity_type")
    if entity_id is None:
        raise ValidationError("entity_id: is required with entity_type", field="entity_id")
    ident = check_id(entity_id, "entity_id")
    table = ENTITY_TABLES[entity_type]
    # one query: the card exists and (under a record rule) the user may read it; invisible answers
    # like missing (check_ref's words): no existence oracle
    query = access.id_query(entity_type, table) if access is not None else None
    if first(conn, query if query is not None else _exists(table), {"ident": ident}) is None:
        raise ValidationError(f"entity_id: {entity_type} {ident} does not exist", field="entity_id")
    if write and access is not None and not access.can_change(conn, entity_type, ENTITY_TABLES[entity_type], ident):
        raise PermissionDeniedError(f"{entity_type} {ident}: you may read it but not give out tasks on it",
                                    field="entity_id")
    return entity_type, ident


def check_custom_users(conn: Connection, crm: Any, entity: str, custom: Mapping[str, Any]) -> None:
    """Custom fields of type ``user`` must name existing, active users."""
    for spec in crm.custom_fields.of_type(entity, "user"):
        if custom.get(spec.name) is not None:
            check_user(conn, custom[spec.name], spec.name)


def find_contact(conn: Connection, phone: str | None, email: str | None, *,
                 visible: Any = None, exclude: int | None = None) -> tuple[int, str] | None:
    """The oldest contact with this (normalized) phone, else e-mail: (id, "phone"|"email").

    ``visible`` (a record rule, :meth:`Access.visible`) limits the search to contacts the
    acting user may read: a look-up must not tell anyone about a card they cannot see.
    """
    c = schema.contacts.c
    for value, index, how in ((phone, schema.contact_phones.c, "phone"), (email, schema.contact_emails.c, "email")):
        if not value:
            continue
        column = index.phone if how == "phone" else index.email
        query = select(index.contact_id).where(column == value)
        if visible is not None:
            query = query.where(index.contact_id.in_(select(c.id).where(visible)))
        if exclude is not None:
            query = query.where(index.contact_id != exclude)
        found = conn.scalar(query.order_by(index.contact_id).limit(1))
        if found is not None:
            return found, how
    return None
