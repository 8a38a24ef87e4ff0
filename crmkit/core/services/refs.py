"""Checks that referenced cards exist, so a bad id is a clear error, not an IntegrityError."""

from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import Connection, Table, bindparam, select

from .. import schema
from ..errors import ValidationError
from .base import check_id

ENTITY_TABLES: dict[str, Table] = {
    "lead": schema.leads, "contact": schema.contacts, "company": schema.companies, "deal": schema.deals,
    "task": schema.tasks, "user": schema.users,
}


def check_ref(conn: Connection, table: Table, value: Any, field: str, what: str) -> int | None:
    if value is None:
        return None
    ident = check_id(value, field)
    if conn.scalar(select(table.c.id).where(table.c.id == ident)) is None:
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


def check_card(conn: Connection, entity_type: Any, entity_id: Any, access: Any = None) -> tuple[str, int]:
    """A (type, id) pair naming an existing card the acting user may see (for tasks and notes)."""
    if entity_type not in ENTITY_TABLES or entity_type == "user":
        kinds = ", ".join(k for k in ENTITY_TABLES if k != "user")
        raise ValidationError(f"entity_type: {entity_type!r} is not one of {kinds}", field="entity_type")
    ident = check_ref(conn, ENTITY_TABLES[entity_type], entity_id, "entity_id", entity_type)
    if ident is None:
        raise ValidationError("entity_id: is required with entity_type", field="entity_id")
    if access is not None and not access.can_see(conn, entity_type, ENTITY_TABLES[entity_type], ident):
        from ..errors import PermissionDeniedError

        raise PermissionDeniedError(f"{entity_type} {ident} is not visible to you")
    return entity_type, ident


def check_custom_users(conn: Connection, crm: Any, entity: str, custom: Mapping[str, Any]) -> None:
    """Custom fields of type ``user`` must name existing, active users."""
    for spec in crm.custom_fields.of_type(entity, "user"):
        if custom.get(spec.name) is not None:
            check_user(conn, custom[spec.name], spec.name)


def find_contact(conn: Connection, phone: str | None, email: str | None) -> tuple[int, str] | None:
    """The oldest contact with this (normalized) phone, else e-mail: (id, "phone"|"email")."""
    if phone:
        ph = schema.contact_phones.c
        found = conn.scalar(select(ph.contact_id).where(ph.phone == phone).order_by(ph.contact_id).limit(1))
        if found is not None:
            return found, "phone"
    if email:
        em = schema.contact_emails.c
        found = conn.scalar(select(em.contact_id).where(em.email == email).order_by(em.contact_id).limit(1))
        if found is not None:
            return found, "email"
    return None
