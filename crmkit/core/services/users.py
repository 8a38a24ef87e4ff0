"""Users: who acts, who is responsible, who gets tasks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, func, insert, select

from .. import schema
from ..access import USERS, Access
from ..contacts_info import normalize_email
from ..errors import ConflictError, ValidationError
from ..events import created, diff, to_json_value
from ..records import User
from .base import Service, check_text, check_unknown, inserted_id

_FIELDS = frozenset({"email", "name", "role", "team", "active"})


class UserService(Service[User]):
    entity = "user"
    table = schema.users
    write_permission = USERS
    filterable = {"email": "email", "role": "role", "team": "team", "active": "active"}
    sortable = ("id", "created_at", "updated_at", "name", "email")

    def _row(self, conn: Any, id: Any, *, field: str = "id", lock: bool = False) -> Row[Any]:
        # Everyone may see their colleagues (names, roles): no record rules on users.
        saved, self.access = self.access, Access(self.crm, self.actor_id, None, None)
        try:
            return super()._row(conn, id, field=field, lock=lock)
        finally:
            self.access = saved

    def _record(self, row: Row[Any]) -> User:
        return User(
            id=row.id, email=row.email, name=row.name, role=row.role, team=row.team, active=row.active,
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
        with self._tx() as tx:
            self._unique_email(tx.conn, values["email"])
            new_id = inserted_id(tx.conn.execute(
                insert(self.table).values(**values, active=True, created_at=tx.now, updated_at=tx.now, version=1)
            ))
            tx.emit("user.created", "user", new_id, created(values))
            return self._record(self._reload(tx.conn, new_id))

    def update(self, id: int, changes: dict[str, Any], *, version: int | None = None) -> User:
        check_unknown(changes, _FIELDS, "a user")
        values = self._clean(changes)
        with self._tx() as tx:
            row = self._row(tx.conn, id, lock=True)
            if "email" in values and values["email"] != row.email:
                self._unique_email(tx.conn, values["email"])
            before = {k: to_json_value(getattr(row, k)) for k in values}
            self._bump(tx, row, values, version)
            self.crm.forget_access(row.id)
            tx.emit("user.updated", "user", row.id, diff(before, {k: to_json_value(v) for k, v in values.items()}))
            return self._record(self._reload(tx.conn, row.id))

    def by_email(self, email: str) -> User | None:
        with self._read() as conn:
            row = conn.execute(select(self.table).where(self.table.c.email == normalize_email(email))).first()
            return self._record(row) if row else None

    def _unique_email(self, conn: Any, email: str) -> None:
        if conn.scalar(select(func.count()).select_from(self.table).where(self.table.c.email == email)):
            raise ConflictError(f"email: a user with {email} already exists", field="email")
