"""Tasks: who must do what by when, often attached to a card."""

from __future__ import annotations

from datetime import date, datetime, time, tzinfo
from typing import Any, Mapping, Sequence

from sqlalchemy import Connection, Row, Select, case, insert, select

from .. import schema
from ..clock import UTC, ensure_utc
from ..errors import ConflictError, ValidationError
from ..events import created, diff, to_json_value
from ..records import Task
from .archive import Archivable
from .base import check_id, check_text, check_unknown, inserted_id
from .refs import ENTITY_TABLES, check_card, check_user
from .userref import resolve_custom, resolve_user, user_filter
from .versioned import bump, locked_row

_FIELDS = frozenset({"title", "description", "due_at", "custom"})
END_OF_DAY = time(23, 59, 59)
"""A due date without a time means the end of that day in the deployment's timezone."""


def end_of_day(day: date, tz: tzinfo) -> datetime:
    """``day`` at 23:59:59 in ``tz``, in UTC."""
    return datetime.combine(day, END_OF_DAY, tzinfo=tz).astimezone(UTC)


def _due(value: Any, tz: tzinfo) -> datetime | None:
    """A due time: an aware datetime (or ISO text of one), or a date (``YYYY-MM-DD``: the end of
    that day in ``tz``, the deployment's timezone)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError(f"due_at: {value[:100]!r} is not a date (YYYY-MM-DD) or a date and time "
                                  "(e.g. 2030-01-02T17:00:00+01:00)", field="due_at") from None
    if isinstance(value, datetime):
        return ensure_utc(value, field="due_at")
    if isinstance(value, date):
        return end_of_day(value, tz)
    raise ValidationError("due_at: expected a date or a date and time", field="due_at")


class TaskService(Archivable[Task]):
    entity = "task"
    table = schema.tasks
    filterable = {
        "assignee_id": "assignee_id", "status": "status", "entity_type": "entity_type", "entity_id": "entity_id",
        "due_at": "due_at", "created_by": "created_by", "id": "id", "rule": "rule",
    }
    sortable = ("id", "created_at", "updated_at", "title")
    choices = {"status": ("open", "done", "cancelled"), "entity_type": ("lead", "contact", "company", "deal", "task")}

    def _record(self, row: Row[Any]) -> Task:
        return Task(
            id=row.id, title=row.title, description=row.description, assignee_id=row.assignee_id, rule=row.rule,
            due_at=row.due_at, status=row.status, entity_type=row.entity_type, entity_id=row.entity_id,
            completed_at=row.completed_at, created_by=row.created_by, custom=row.custom or {},
            created_at=row.created_at, updated_at=row.updated_at, version=row.version, archived_at=row.archived_at,
        )

    def _filter_value(self, name: str, value: Any) -> Any:
        return _due(value, self.crm.settings.tz) if name == "due_at" else value

    def _special_filter(self, query: Select[Any], name: str, op: str, value: Any) -> Select[Any] | None:
        if name == "overdue":
            t = self.table.c
            now = self.crm.clock.now()
            cond = (t.status == "open") & (t.due_at < now)
            return query.where(cond if value in (True, "true", "1", "yes") else ~cond)
        return user_filter(self, query, name, op, value)

    def _custom(self, conn: Connection, raw: Mapping[str, Any] | None, current: Any = None) -> dict[str, Any]:
        if raw is not None:
            raw = resolve_custom(conn, self.access, self.crm, "task", raw)
        return self._clean_custom(conn, raw, current)

    def add(
        self, *, title: str, assignee_id: int | str | None = None, due_at: datetime | date | str | None = None,
        description: str = "", entity_type: str | None = None, entity_id: int | None = None,
        custom: Mapping[str, Any] | None = None, rule: str | None = None,
    ) -> Task:
        """Create a task, optionally on a card (``entity_type`` + ``entity_id``).

        ``assignee_id`` is a user's id or e-mail; without one, a task a person adds is theirs,
        and a task the system or a rule adds goes to the card's responsible user (else to the
        acting user, else nobody). ``due_at`` is a datetime, or a date: the end of that day in
        the deployment's timezone. ``rule`` marks an automatic task with the rule that made it
        (pipeline rules, plugins).
        """
        with self._tx() as tx:
            values: dict[str, Any] = {
                "title": check_text(title, "title", required=True),
                "description": check_text(description, "description", max_length=10000, multiline=True),
                "due_at": _due(due_at, self.crm.settings.tz),
                "custom": self._custom(tx.conn, custom),
            }
            if entity_type is not None or entity_id is not None:
                values["entity_type"], values["entity_id"] = check_card(tx.conn, entity_type, entity_id, self.access,
                                                                        write=True)
            assignee = resolve_user(tx.conn, self.access, assignee_id, "assignee_id")
            if assignee is None:
                assignee = self._default_assignee(tx.conn, values.get("entity_type"), values.get("entity_id"),
                                                  automatic=rule is not None)
            values["assignee_id"] = self._check_user(tx.conn, assignee, "assignee_id")
            new_id = inserted_id(tx.conn.execute(insert(self.table).values(
                **values, status="open", created_by=tx.actor_id, created_at=tx.now, updated_at=tx.now, version=1,
                rule=rule,
            )))
            tx.emit("task.created", "task", new_id, created(values),
                    data={"entity_type": values.get("entity_type"), "entity_id": values.get("entity_id"),
                          "rule": rule})
            return self._record(self._reload(tx.conn, new_id))

    def add_many(self, items: Sequence[Mapping[str, Any]]) -> list[int]:
        """Create automatic tasks in one command (one statement for the rows, one query per kind of
        card and one for the assignees): a periodic job's batch. Each item takes ``add``'s keyword
        arguments (``title``, ``rule`` and ``entity_type``/``entity_id`` required); each task gets
        its ``task.created`` event. Returns the new ids in the items' order. A bad item refuses
        the whole batch (nothing is written)."""
        if not items:
            return []
        with self._tx() as tx:
            rows: list[dict[str, Any]] = []
            cards: dict[str, set[int]] = {}
            for item in items:
                check_unknown(item, {"title", "assignee_id", "due_at", "description", "entity_type", "entity_id",
                                     "rule", "custom"}, "task")
                rule = check_text(item.get("rule"), "rule", max_length=200, required=True)
                kind, ident = item.get("entity_type"), item.get("entity_id")
                if self.access.unrestricted and kind in ENTITY_TABLES and kind != "user":
                    ident = check_id(ident, "entity_id")
                    cards.setdefault(kind, set()).add(ident)
                else:  # a record rule applies: the one-card check, as add does
                    kind, ident = check_card(tx.conn, kind, ident, self.access, write=True)
                rows.append({
                    "title": check_text(item.get("title"), "title", required=True),
                    "description": check_text(item.get("description", ""), "description", max_length=10000,
                                              multiline=True),
                    "due_at": _due(item.get("due_at"), self.crm.settings.tz),
                    "custom": self._custom(tx.conn, item.get("custom")), "entity_type": kind, "entity_id": ident,
                    "assignee_id": item.get("assignee_id"), "rule": rule})
            owners: dict[tuple[str, int], int | None] = {}
            u = schema.users.c
            for kind, ids in cards.items():
                table = ENTITY_TABLES[kind]
                column = table.c.assignee_id if kind == "task" else table.c.responsible_id
                found = {r.id: r.owner for r in tx.conn.execute(
                    select(table.c.id, case((u.active.is_(True), column)).label("owner"))
                    .outerjoin(schema.users, u.id == column).where(table.c.id.in_(sorted(ids))))}
                missing = ids - set(found)
                if missing:
                    raise ValidationError(f"entity_id: {kind} {min(missing)} does not exist", field="entity_id")
                owners.update({(kind, i): o for i, o in found.items()})
            named = {r["assignee_id"] for r in rows if r["assignee_id"] is not None}
            for value in named:
                check_id(value, "assignee_id")
            active = dict(tx.conn.execute(select(u.id, u.active).where(u.id.in_(sorted(named)))).all()) if named else {}
            for r in rows:
                who = r["assignee_id"]
                if who is not None and not active.get(who):
                    state = "is deactivated" if who in active else "does not exist"
                    raise ValidationError(f"assignee_id: user {who} {state}", field="assignee_id")
                if who is None:
                    who = owners.get((r["entity_type"], r["entity_id"])) if (r["entity_type"], r["entity_id"]) in owners \
                        else self._default_assignee(tx.conn, r["entity_type"], r["entity_id"], automatic=True)
                    r["assignee_id"] = who if who is not None else self.actor_id
            stamp = {"status": "open", "created_by": tx.actor_id, "created_at": tx.now, "updated_at": tx.now,
                     "version": 1}
            result = tx.conn.execute(insert(self.table).returning(self.table.c.id, sort_by_parameter_order=True),
                                     [{**r, **stamp} for r in rows])
            ids = [int(i) for i in result.scalars()]
            for new_id, r in zip(ids, rows):
                values = {k: r[k] for k in ("title", "description", "due_at", "custom", "entity_type", "entity_id",
                                            "assignee_id")}
                tx.emit("task.created", "task", new_id, created(values),
                        data={"entity_type": r["entity_type"], "entity_id": r["entity_id"], "rule": r["rule"]})
            return ids

    def _default_assignee(self, conn: Connection, entity_type: str | None, entity_id: int | None, *,
                          automatic: bool) -> int | None:
        """Who gets a task added without an assignee: the person adding it; for the system or a
        rule, the card's responsible user (a task on a task: its assignee) if active, else the
        acting user."""
        if self.actor_id is not None and not automatic:
            return self.actor_id
        owner = None
        if entity_type is not None:
            table = ENTITY_TABLES[entity_type]
            column = table.c.assignee_id if entity_type == "task" else table.c.responsible_id
            u = schema.users.c
            owner = conn.scalar(select(column).join(schema.users, u.id == column)
                                .where(table.c.id == entity_id, u.active.is_(True)))
        return owner if owner is not None else self.actor_id

    def update(self, id: int, changes: Mapping[str, Any], *, version: int | None = None) -> Task:
        check_unknown(changes, _FIELDS, "a task")
        with self._tx() as tx:
            row = self._row(tx.conn, id, lock=True)
            values: dict[str, Any] = {}
            if "title" in changes:
                values["title"] = check_text(changes["title"], "title", required=True)
            if "description" in changes:
                values["description"] = check_text(changes["description"], "description", max_length=10000,
                                                   multiline=True)
            if "due_at" in changes:
                values["due_at"] = _due(changes["due_at"], self.crm.settings.tz)
                values["overdue_at"] = None  # rescheduled: it may become overdue (and be reported) again
            if "custom" in changes:
                values["custom"] = self._custom(tx.conn, changes["custom"], row.custom)
            before = {k: to_json_value(getattr(row, k)) for k in values if k != "overdue_at"}
            self._bump(tx, row, values, version)
            values.pop("overdue_at", None)
            tx.emit("task.updated", "task", row.id, diff(before, {k: to_json_value(v) for k, v in values.items()}))
            return self._record(self._reload(tx.conn, row.id))

    def complete(self, id: int, *, version: int | None = None) -> Task:
        """Mark a task done. Completing a done task is refused."""
        return self._set_status(id, "done", version)

    def cancel(self, id: int, *, reason: str | None = None, version: int | None = None,
               cause: Mapping[str, Any] | None = None) -> Task:
        """Cancel an open task; ``reason`` (free text) goes into the ``task.cancelled`` event's data.

        ``cause`` is for the core and plugins closing tasks automatically: more data naming why
        (e.g. ``{"because": "deal_won", "cause_event_id": 12}``, see :mod:`crmkit.core.closing`)."""
        text = check_text(reason, "reason", max_length=2000, multiline=True) or None
        return self._set_status(id, "cancelled", version, {"reason": text, **(cause or {})})

    def reopen(self, id: int, *, version: int | None = None) -> Task:
        """Open a done or cancelled task again (a ``task.reopened`` event); it may fall overdue
        (and be reported) again."""
        with self._tx() as tx:
            row = self._row(tx.conn, id, lock=True)
            if row.status == "open":
                raise ConflictError(f"task {row.id} is already open", field="status")
            self._bump(tx, row, {"status": "open", "completed_at": None, "overdue_at": None}, version)
            tx.emit("task.reopened", "task", row.id, {"status": {"before": row.status, "after": "open"}},
                    data={"entity_type": row.entity_type, "entity_id": row.entity_id})
            return self._record(self._reload(tx.conn, row.id))

    def _set_status(self, id: int, status: str, version: int | None,
                    data: Mapping[str, Any] | None = None) -> Task:
        with self._tx() as tx:
            row = locked_row(self, tx.conn, id)
            if row.status != "open":
                raise ConflictError(f"task {row.id} is already {row.status}", field="status")
            written = bump(self.entity, self.table, tx, row, {"status": status, "completed_at": tx.now}, version)
            tx.emit(f"task.{'completed' if status == 'done' else 'cancelled'}", "task", row.id,
                    {"status": {"before": row.status, "after": status}},
                    data={"entity_type": row.entity_type, "entity_id": row.entity_id, **(data or {})})
            return self._record(written)

    def reassign(self, id: int, assignee_id: int | str | None, *, version: int | None = None) -> Task:
        """Give an open task to another user (an id or e-mail; None: nobody)."""
        with self._tx() as tx:
            row = self._row(tx.conn, id, lock=True)
            new = check_user(tx.conn, resolve_user(tx.conn, self.access, assignee_id, "assignee_id"), "assignee_id")
            if row.status != "open":
                raise ConflictError(f"task {row.id} is {row.status}; only open tasks can be reassigned", field="status")
            if row.entity_type is not None:  # the new assignee reads the card: only who may change it decides
                check_card(tx.conn, row.entity_type, row.entity_id, self.access, write=True)
            self._bump(tx, row, {"assignee_id": new}, version)
            tx.emit("task.reassigned", "task", row.id, {"assignee_id": {"before": row.assignee_id, "after": new}})
            return self._record(self._reload(tx.conn, row.id))
