"""A user given by e-mail wherever a user id is accepted: ``responsible_id``, ``assignee_id``,
user custom fields, and the list filters on them (SDK, API and CLI alike).

Who may look a user up by e-mail follows who sees e-mail addresses: admins (``users.manage``)
and the system resolve anyone's, everyone else only their own (a colleague by id). An address
nobody has and one the acting user may not look up get the same answer, so an e-mail is no
way to learn who uses it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from sqlalchemy import Connection, Select, select

from .. import schema
from ..access import USERS, Access
from ..contacts_info import normalize_email
from ..errors import ValidationError
from .base import read_connection

if TYPE_CHECKING:  # pragma: no cover
    from .base import Service

USER_COLUMNS = frozenset({"responsible_id", "assignee_id", "created_by", "author_id"})
"""Filterable columns that hold a user's id."""


def is_email(value: Any) -> bool:
    return isinstance(value, str) and "@" in value


def resolve_user(conn: Connection, access: Access, value: Any, field: str) -> Any:
    """``value`` with an e-mail address replaced by its user's id; anything else as it is (the
    services check ids: existing, active)."""
    if not is_email(value):
        return value
    email = normalize_email(value, field=field)
    u = schema.users.c
    found = conn.scalar(select(u.id).where(u.email == email))
    if found is None or not (access.allows(USERS) or found == access.user_id):
        raise ValidationError(f"{field}: no user has the e-mail address {email} (give the user's id)", field=field)
    return found


def resolve_values(conn: Connection, access: Access, values: Mapping[str, Any], fields: tuple[str, ...],
                   entity: str | None = None, crm: Any = None) -> dict[str, Any]:
    """``values`` with e-mails resolved in ``fields`` and (given ``entity`` and ``crm``) in the
    ``custom`` fields of type user."""
    out = dict(values)
    for name in fields:
        if name in out:
            out[name] = resolve_user(conn, access, out[name], name)
    if entity is not None and isinstance(out.get("custom"), Mapping):
        out["custom"] = resolve_custom(conn, access, crm, entity, out["custom"])
    return out


def resolve_custom(conn: Connection, access: Access, crm: Any, entity: str, custom: Mapping[str, Any]) -> Any:
    """A ``custom`` mapping with e-mails in its user fields resolved to ids."""
    users = {f.name for f in crm.custom_fields.of_type(entity, "user")}
    if not users or not any(is_email(v) for k, v in custom.items() if k in users):
        return custom
    return {k: resolve_user(conn, access, v, k) if k in users else v for k, v in custom.items()}


def user_filter(service: "Service[Any]", query: Select[Any], name: str, op: str, value: Any) -> Select[Any] | None:
    """For a service's ``_special_filter``: a filter on a user column or user custom field given
    by e-mail, applied with the ids (None when there is nothing to resolve)."""
    values = value if isinstance(value, (list, tuple)) else [value]
    if not any(is_email(v) for v in values):
        return None
    custom = service.crm.custom_fields.get(service.entity, name) if service.entity in (
        "lead", "contact", "company", "deal", "task") else None
    if name not in USER_COLUMNS and (custom is None or custom.type != "user"):
        return None
    key = name if op == "eq" else f"{name}__{op}"
    with read_connection(service.crm) as conn:
        ids = [resolve_user(conn, service.access, v, key) for v in values]
    return service._apply_filters(query, {key: ids if isinstance(value, (list, tuple)) else ids[0]})
