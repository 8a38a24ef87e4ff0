"""Tasks: who must do what by when, often attached to a card."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from sqlalchemy import Row, Select, insert

from .. import schema
from ..clock import ensure_utc
from ..errors import ConflictError, ValidationError
from ..events import created, diff, to_json_value
from ..records import Task
from .base import Service, check_text, check_unknown, inserted_id
from .refs import check_card, check_user

_FIELDS = frozenset({"title", "description", "due_at", "custom"})


def _due(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(f"due_at: {value!r} is not an ISO datetime", field="due_at") from None
    if not isinstance(value, datetime):
        raise ValidationError("due_at: expected a datetime", field="due_at")
    return ensure_utc(value, field="due_at")


class TaskService(Service[Task]):
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
            created_at=row.created_at, updated_at=row.updated_at, version=row.version,
        )

    def _filter_value(self, name: str, value: Any) -> Any:
        return _due(value) if name == "due_at" else value

    def _special_filter(self, query: Select[Any], name: str, op: str, value: Any) -> Select[Any] | None:
        if name == "overdue":
            t = self.table.c
            now = self.crm.clock.now()
            cond = (t.status == "open") & (t.due_at < now)
            return query.where(cond if value in (True, "true", "1", "yes") else ~cond)
        return None

    def add(
        self, *, title: str, assignee_id: int | None = None, due_at: datetime | str | None = None,
        description: str = "", entity_type: str | None = None, entity_id: int | None = None,
        custom: Mapping[str, Any] | None = None, rule: str | None = None,
    ) -> Task:
        """Create a task, optionally on a card (``entity_type`` + ``entity_id``).

        ``rule`` marks an automatic task with the rule that made it (pipeline rules, plugins).
        """
        with self._tx() as tx:
            values: dict[str, Any] = {
                "title": check_text(title, "title", required=True),
                "description": check_text(description, "description", max_length=10000, multiline=True),
                "assignee_id": self._check_user(tx.conn, assignee_id, "assignee_id"),
                "due_at": _due(due_at),
                "custom": self._clean_custom(tx.conn, custom),
            }
            if entity_type is not None or entity_id is not None:
                values["entity_type"], values["entity_id"] = check_card(tx.conn, entity_type, entity_id, self.access,
                                                                        write=True)
            new_id = inserted_id(tx.conn.execute(insert(self.table).values(
                **values, status="open", created_by=tx.actor_id, created_at=tx.now, updated_at=tx.now, version=1,
                rule=rule,
            )))
            tx.emit("task.created", "task", new_id, created(values),
                    data={"entity_type": values.get("entity_type"), "entity_id": values.get("entity_id"),
                          "rule": rule})
            return self._record(self._reload(tx.conn, new_id))

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
                values["due_at"] = _due(changes["due_at"])
                values["overdue_at"] = None  # rescheduled: it may become overdue (and be reported) again
            if "custom" in changes:
                values["custom"] = self._clean_custom(tx.conn, changes["custom"], row.custom)
            before = {k: to_json_value(getattr(row, k)) for k in values if k != "overdue_at"}
            self._bump(tx, row, values, version)
            values.pop("overdue_at", None)
            tx.emit("task.updated", "task", row.id, diff(before, {k: to_json_value(v) for k, v in values.items()}))
            return self._record(self._reload(tx.conn, row.id))

    def complete(self, id: int, *, version: int | None = None) -> Task:
        """Mark a task done. Completing a done task is refused."""
        return self._set_status(id, "done", version)

    def cancel(self, id: int, *, version: int | None = None) -> Task:
        return self._set_status(id, "cancelled", version)

    def _set_status(self, id: int, status: str, version: int | None) -> Task:
        with self._tx() as tx:
            row = self._row(tx.conn, id, lock=True)
            if row.status != "open":
                raise ConflictError(f"task {row.id} is already {row.status}", field="status")
            self._bump(tx, row, {"status": status, "completed_at": tx.now}, version)
            tx.emit(f"task.{'completed' if status == 'done' else 'cancelled'}", "task", row.id,
                    {"status": {"before": row.status, "after": status}},
                    data={"entity_type": row.entity_type, "entity_id": row.entity_id})
            return self._record(self._reload(tx.conn, row.id))

    def reassign(self, id: int, assignee_id: int | None, *, version: int | None = None) -> Task:
        with self._tx() as tx:
            row = self._row(tx.conn, id, lock=True)
            new = check_user(tx.conn, assignee_id, "assignee_id")
            if row.status != "open":
                raise ConflictError(f"task {row.id} is {row.status}; only open tasks can be reassigned", field="status")
            if row.entity_type is not None:  # the new assignee reads the card: only who may change it decides
                check_card(tx.conn, row.entity_type, row.entity_id, self.access, write=True)
            self._bump(tx, row, {"assignee_id": new}, version)
            tx.emit("task.reassigned", "task", row.id, {"assignee_id": {"before": row.assignee_id, "after": new}})
            return self._record(self._reload(tx.conn, row.id))
