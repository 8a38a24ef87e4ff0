"""Roles, permissions and record rules, enforced in the services (so every interface obeys them).

Core roles:

* ``admin`` -- every card, every permission (users, settings);
* ``head`` -- the cards of their team (cards whose responsible user has the head's
  ``team``; a head without a team sees every card), unassigned leads;
* ``manager`` -- their own cards, unassigned leads, cards shared with them, and
  the contacts and companies of their deals.

Everyone also reads the deals and leads on which an *open* task is assigned to them
(or, for a head, to their team): the measurer reads the deal they measure. That
grant is read-only: changing a card, sharing or copying it, and giving out tasks
on it need the card itself (:meth:`Access.writable`), and it ends when the task does.

A role without ``cards.read`` sees no card at all, whatever its scope.

Plugins add roles (``crm_register_roles``), e.g. a measurer who sees only the
tasks assigned to them and the deals those tasks are on, and permissions
(``crm_register_permissions``) granted to roles by default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Literal, Mapping

import attrs
from sqlalchemy import ColumnElement, Connection, Table, bindparam, false, or_, select, true

from . import schema
from .errors import ConfigError, PermissionDeniedError, ValidationError

if TYPE_CHECKING:  # pragma: no cover
    from .app import Crm

Scope = Literal["all", "team", "own", "assigned_tasks"]
SCOPES = ("all", "team", "own", "assigned_tasks")

READ, WRITE, EXPORT, USERS, SETTINGS = "cards.read", "cards.write", "cards.export", "users.manage", "settings.manage"

# Fields that link a card to another card the acting user must be able to see (see require_visible_links).
LINKS: dict[str, tuple[str, Table]] = {
    "contact_id": ("contact", schema.contacts), "company_id": ("company", schema.companies),
    "lead_id": ("lead", schema.leads),
}


@attrs.frozen
class Role:
    """A role: which cards its users see (``scope``) and what they may do (``permissions``)."""

    name: str
    scope: Scope
    permissions: frozenset[str] = frozenset()
    description: str = ""

    def __attrs_post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ConfigError(f"role {self.name}: scope {self.scope!r} is not one of {', '.join(SCOPES)}")


@attrs.frozen
class Permission:
    """A permission a plugin introduces, granted by default to ``roles``."""

    name: str
    roles: tuple[str, ...] = ("admin",)
    description: str = ""


CORE_ROLES = (
    Role("admin", "all", frozenset({"*"}), "everything, including users and settings"),
    Role("head", "team", frozenset({READ, WRITE, EXPORT}), "all cards of their team"),
    Role("manager", "own", frozenset({READ, WRITE}), "own cards, unassigned leads, cards shared with them"),
)


def collect_roles(role_groups: Iterable[Iterable[Role] | None], permissions: Iterable[Iterable[Permission] | None]) -> dict[str, Role]:
    roles: dict[str, Role] = {r.name: r for r in CORE_ROLES}
    for group in role_groups:
        for role in group or ():
            if role.name in roles:
                raise ConfigError(f"role {role.name} is registered twice")
            roles[role.name] = role
    for perms in permissions:
        for perm in perms or ():
            for name in perm.roles:
                if name not in roles:
                    raise ConfigError(f"permission {perm.name} is granted to unknown role {name}")
                role = roles[name]
                roles[name] = attrs.evolve(role, permissions=role.permissions | {perm.name})
    return roles


@attrs.frozen
class Access:
    """What one acting user may see and do. ``user_id=None`` is the system: everything."""

    crm: "Crm"
    user_id: int | None
    role: Role | None
    team: str | None
    _statements: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)

    @classmethod
    def of(cls, crm: "Crm", user_id: int | None) -> "Access":
        if user_id is None:
            return cls(crm, None, None, None)
        u = schema.users.c
        with crm.engine.connect() as conn:
            row = conn.execute(select(u.role, u.team, u.active).where(u.id == user_id)).first()
        if row is None or not row.active:
            raise PermissionDeniedError(f"user {user_id} does not exist or is deactivated")
        role = crm.roles.get(row.role)
        if role is None:
            raise PermissionDeniedError(f"user {user_id} has role {row.role!r}, which no enabled plugin provides")
        return cls(crm, user_id, role, row.team)

    @property
    def unrestricted(self) -> bool:
        """Whether no record rule applies (the system, or an ``all``-scope role that may read cards)."""
        return self.role is None or (self.role.scope == "all" and self.allows(READ))

    def allows(self, permission: str) -> bool:
        if self.role is None:
            return True
        perms = self.role.permissions
        return "*" in perms or permission in perms or f"{permission.split('.')[0]}.*" in perms

    def require(self, permission: str, what: str) -> None:
        if not self.allows(permission):
            raise PermissionDeniedError(f"your role ({self.role.name if self.role else '?'}) may not {what}")

    # -- record rules as SQL --------------------------------------------------------

    def visible(self, entity: str, table: Table) -> ColumnElement[bool] | None:
        """A WHERE clause limiting ``table`` (of card type ``entity``) to what this user may read;
        None = all."""
        return self._rule(entity, table, write=False)

    def writable(self, entity: str, table: Table) -> ColumnElement[bool] | None:
        """Like :meth:`visible`, for changing a card: the read-only grant of a task assigned
        to the user (the measurer reads the deal) does not count."""
        return self._rule(entity, table, write=True)

    def _rule(self, entity: str, table: Table, *, write: bool) -> ColumnElement[bool] | None:
        if self.role is None or entity == "user":
            return None  # users are not cards: everyone sees their colleagues
        if not self.allows(READ):
            return false()
        if self.role.scope == "all":
            return None
        c = table.c
        if self.role.scope == "assigned_tasks":
            if write and entity != "task":  # their tasks, to finish them; the rest is read-only
                return c.author_id == self.user_id if entity == "note" else false()  # type: ignore[no-any-return]
            return self._assigned_only(entity, table)
        mine = self._responsible(c.responsible_id) if "responsible_id" in c else None
        shared = c.id.in_(select(schema.shares.c.entity_id).where(
            schema.shares.c.entity_type == entity, schema.shares.c.user_id == self.user_id))
        t = schema.tasks.c
        # a card someone gave you an open task on is a card you can read (the measurer's deal)
        tasked = false() if write else c.id.in_(select(t.entity_id).where(
            t.entity_type == entity, t.status == "open", self._responsible(t.assignee_id)))
        d = schema.deals.c
        if entity == "deal":
            return or_(mine, shared, tasked)  # type: ignore[arg-type]
        if entity == "lead":
            return or_(mine, c.responsible_id.is_(None), shared, tasked)  # type: ignore[arg-type]
        if entity == "contact":
            return or_(mine, shared, c.id.in_(select(d.contact_id).where(self._responsible(d.responsible_id))))  # type: ignore[arg-type]
        if entity == "company":
            k = schema.contacts.c
            return or_(mine, shared,  # type: ignore[arg-type]
                       c.id.in_(select(d.company_id).where(self._responsible(d.responsible_id))),
                       c.id.in_(select(k.company_id).where(self._responsible(k.responsible_id))))
        if entity == "task":
            return or_(self._responsible(c.assignee_id), c.created_by == self.user_id,
                       *self._on_visible_cards(c.entity_type, c.entity_id, write=write))
        if entity == "note":
            return or_(c.author_id == self.user_id,
                       *self._on_visible_cards(c.entity_type, c.entity_id, with_tasks=True, write=write))
        return None

    def _responsible(self, column: Any) -> ColumnElement[bool]:
        assert self.role is not None
        if self.role.scope == "team" and self.team is None:
            return true()  # a head without a team heads everyone
        if self.role.scope == "team":
            u = schema.users.c
            return column.in_(select(u.id).where(u.team == self.team)) | (column == self.user_id)
        return column == self.user_id  # type: ignore[no-any-return]

    def _on_visible_cards(self, type_col: Any, id_col: Any, *, with_tasks: bool = False,
                          write: bool = False) -> list[ColumnElement[bool]]:
        out = []
        cards = [("deal", schema.deals), ("lead", schema.leads), ("contact", schema.contacts),
                 ("company", schema.companies)]
        for entity, table in cards + ([("task", schema.tasks)] if with_tasks else []):
            cond = self._rule(entity, table, write=write)
            query = select(table.c.id) if cond is None else select(table.c.id).where(cond)
            out.append((type_col == entity) & id_col.in_(query))
        return out

    def _assigned_only(self, entity: str, table: Table) -> ColumnElement[bool]:
        t = schema.tasks.c
        mine = select(t.entity_id).where(t.assignee_id == self.user_id, t.status == "open")
        c = table.c
        if entity == "task":
            return c.assignee_id == self.user_id  # type: ignore[no-any-return]
        if entity in ("deal", "lead"):
            return c.id.in_(mine.where(t.entity_type == entity))  # type: ignore[no-any-return]
        if entity == "contact":
            d = schema.deals.c
            return c.id.in_(select(d.contact_id).where(d.id.in_(mine.where(t.entity_type == "deal"))))  # type: ignore[no-any-return]
        if entity == "note":  # their own notes, and the notes on the cards they see
            return or_(c.author_id == self.user_id, *[  # type: ignore[no-any-return]
                (c.entity_type == e) & c.entity_id.in_(select(tb.c.id).where(self._assigned_only(e, tb)))
                for e, tb in (("deal", schema.deals), ("lead", schema.leads), ("contact", schema.contacts),
                              ("task", schema.tasks))])
        return false()

    def by_id(self, entity: str, table: Table, *, write: bool = False, lock: bool = False) -> Any:
        """``SELECT * FROM table WHERE id = :ident`` limited to what this user may read (or, with
        ``write``, change), ``FOR UPDATE`` with ``lock``, built once (the role is cached per user,
        so is this statement: its cache key is computed once and SQLAlchemy's cache then hits)."""
        key = (f"{entity}:w" if write else entity) + (":lock" if lock else "")
        stmt = self._statements.get(key)
        if stmt is None:
            if lock:
                stmt = self.by_id(entity, table, write=write).with_for_update()
            else:
                stmt = select(table).where(table.c.id == bindparam("ident"))
                cond = self._rule(entity, table, write=write)
                if cond is not None:
                    stmt = stmt.where(cond)
            self._statements[key] = stmt
        return stmt

    def id_query(self, entity: str, table: Table, *, write: bool = False) -> Any:
        """``SELECT id FROM table WHERE id = :ident`` and this user's record rule (for reading, or
        with ``write`` for changing), built once; None when no rule applies."""
        key = f"{entity}:id:w" if write else f"{entity}:id"
        if key not in self._statements:
            cond = self._rule(entity, table, write=write)
            self._statements[key] = (None if cond is None
                                     else select(table.c.id).where(table.c.id == bindparam("ident"), cond))
        return self._statements[key]

    def can_see(self, conn: Connection, entity: str, table: Table, ident: int) -> bool:
        """Whether this user may read card ``ident``."""
        query = self.id_query(entity, table)
        return query is None or conn.scalar(query, {"ident": ident}) is not None

    def can_change(self, conn: Connection, entity: str, table: Table, ident: int) -> bool:
        """Whether this user may change card ``ident`` (read access through a task is not enough)."""
        if not self.allows(WRITE):
            return False
        query = self.id_query(entity, table, write=True)
        return query is None or conn.scalar(query, {"ident": ident}) is not None

    def require_visible_links(self, conn: Connection, values: Mapping[str, Any], *, current: Any = None,
                              prefix: str = "") -> None:
        """Refuse to link a card to a contact, company or lead (``contact_id``, ``company_id``,
        ``lead_id`` in ``values``) this user does not see: the link would open that card to them
        (a manager sees the contacts and companies of their deals, a deal's timeline shows its lead's).
        The answer is the one for an id that does not exist (a 422 naming the field): whether a
        card the user may not see exists is not theirs to learn.

        A value equal to ``current``'s (a record sent back unchanged) is not a new link. Malformed
        ids are left to the service's own check.
        """
        if self.unrestricted:
            return
        for field, (entity, table) in LINKS.items():
            ident = values.get(field)
            if isinstance(ident, bool) or not isinstance(ident, int) or not 1 <= ident <= 2**31 - 1:
                continue
            if current is not None and getattr(current, field, None) == ident:
                continue
            if not self.can_see(conn, entity, table, ident):  # missing or invisible: one answer
                raise ValidationError(f"{prefix}{field}: {entity} {ident} does not exist", field=prefix + field)
