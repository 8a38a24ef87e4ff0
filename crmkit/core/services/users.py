"""Users: who acts, who is responsible, who gets tasks.

Everyone sees their colleagues' names, roles and teams; e-mail addresses only their own,
unless their role manages users (``users.manage``: admins). Managing users takes that
permission, and a role without ``*`` cannot touch or grant a role holding a permission it
lacks. Nobody changes their own role, team or active flag.
"""

from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import Row, Select, func, insert, select

from .. import schema
from ..access import USERS, Access
from ..contacts_info import normalize_email
from ..errors import ConflictError, PermissionDeniedError, ValidationError
from ..events import created, diff, to_json_value
from ..records import Page, User
from .base import DEFAULT_PAGE, Service, check_text, check_unknown, inserted_id

_FIELDS = frozenset({"email", "name", "role", "team", "active"})
_OWN_LOCKED = ("role", "team", "active")  # what nobody changes about themselves


def require_manage(access: Access, target_role: str | None, *, new_role: str | None = None,
                   what: str = "change users") -> None:
    """Refuse (403) unless ``access`` manages users holding ``target_role`` (and may grant
    ``new_role``): the ``users.manage`` permission, and every permission of those roles."""
    access.require(USERS, what)
    if access.role is None or "*" in access.role.permissions:
        return
    for name in (target_role, new_role):
        role = access.crm.roles.get(name) if name else None
        if role is not None and not all(access.allows(p) for p in role.permissions):
            raise PermissionDeniedError(f"your role ({access.role.name}) may not manage {name} users", field="role")


class UserService(Service[User]):
    entity = "user"
    table = schema.users
    write_permission = USERS
    filterable = {"email": "email", "role": "role", "team": "team", "active": "active"}
    sortable = ("id", "created_at", "updated_at", "name", "email")

    def _row(self, conn: Any, id: Any, *, field: str = "id", lock: bool = False, write: bool | None = None) -> Row[Any]:
        # Everyone may see their colleagues (names, roles): no record rules on users.
        saved, self.access = self.access, Access(self.crm, self.actor_id, None, None)
        try:
            return super()._row(conn, id, field=field, lock=lock, write=write)
        finally:
            self.access = saved

    @property
    def sees_emails(self) -> bool:
        """Whether the acting user sees every user's e-mail (else only their own)."""
        return self.access.allows(USERS)

    def _record(self, row: Row[Any]) -> User:
        email = row.email if row.id == self.actor_id or self.sees_emails else None
        return User(
            id=row.id, email=email, name=row.name, role=row.role, team=row.team, active=row.active,
            created_at=row.created_at, updated_at=row.updated_at, version=row.version,
        )

    def _clean(self, values: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "email" in values:
            out["email"] = normalize_email(values["email"])
        if "name" in values:
            out["name"] = check_text(values["name"], "name", required=True, max_length=200)
        if "role" in values:
            if values["role"] not in self.crm.roles:
                raise ValidationError(f"role: {values['role']!r} is not one of {', '.join(self.crm.roles)}", field="role")
            out["role"] = values["role"]
        if "team" in values:
            out["team"] = check_text(values["team"], "team", max_length=100) or None
        if "active" in values:
            if not isinstance(values["active"], bool):
                raise ValidationError("active: expected true or false", field="active")
            out["active"] = values["active"]
        return out

    def create(self, *, email: str, name: str, role: str = "manager", team: str | None = None) -> User:
        values = self._clean({"email": email, "name": name, "role": role, "team": team})
        require_manage(self.access, None, new_role=values["role"])
        with self._tx() as tx:
            self._unique_email(tx.conn, values["email"])
            new_id = inserted_id(tx.conn.execute(
                insert(self.table).values(**values, active=True, created_at=tx.now, updated_at=tx.now, version=1)
            ))
            tx.emit("user.created", "user", new_id, created(values))
            return self._record(self._reload(tx.conn, new_id))

    def update(self, id: int, changes: dict[str, Any], *, version: int | None = None) -> User:
        """Change a user. A change of role, team or active flag applies to the user's very next
        request (their cached tokens and role are forgotten: see ``crm.security``)."""
        check_unknown(changes, _FIELDS, "a user")
        values = self._clean(changes)
        with self._tx() as tx:
            row = self._row(tx.conn, id, lock=True)
            require_manage(self.access, row.role, new_role=values.get("role"))
            if row.id == self.actor_id and any(k in values and values[k] != getattr(row, k) for k in _OWN_LOCKED):
                raise PermissionDeniedError("you may not change your own role, team or active flag; another admin can",
                                            field=next(k for k in _OWN_LOCKED if k in values))
            if "email" in values and values["email"] != row.email:
                self._unique_email(tx.conn, values["email"])
            before = {k: to_json_value(getattr(row, k)) for k in values}
            self._bump(tx, row, values, version)
            tx.emit("user.updated", "user", row.id, diff(before, {k: to_json_value(v) for k, v in values.items()}))
            stamp = self.crm.security.bump(tx.conn)
            user = self._record(self._reload(tx.conn, row.id))
        self.crm.security.changed(stamp)
        return user

    def list(self, filters: Mapping[str, Any] | None = None, *, limit: int = DEFAULT_PAGE, cursor: str | None = None,
             order: str = "id", **kw_filters: Any) -> Page[User]:
        if isinstance(order, str) and order.lstrip("-") == "email" and not self.sees_emails:
            raise PermissionDeniedError("order: only admins sort users by e-mail", field="order")
        return super().list(filters, limit=limit, cursor=cursor, order=order, **kw_filters)

    def _apply_filters(self, query: Select[Any], filters: Mapping[str, Any]) -> Select[Any]:
        if not self.sees_emails:
            for key in filters:
                if key.partition("__")[0] == "email":
                    raise PermissionDeniedError(f"{key}: only admins filter users by e-mail", field=key)
        return super()._apply_filters(query, filters)

    def by_email(self, email: str) -> User | None:
        """The user with ``email`` (None if none). Who does not see e-mails may look up only their own."""
        with self._read() as conn:
            row = conn.execute(select(self.table).where(self.table.c.email == normalize_email(email))).first()
        if not self.sees_emails and (row is None or row.id != self.actor_id):
            raise PermissionDeniedError("only admins look users up by e-mail")
        return self._record(row) if row else None

    def _unique_email(self, conn: Any, email: str) -> None:
        if conn.scalar(select(func.count()).select_from(self.table).where(self.table.c.email == email)):
            raise ConflictError(f"email: a user with {email} already exists", field="email")
