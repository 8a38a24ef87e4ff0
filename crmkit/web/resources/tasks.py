"""``/tasks``: who does what by when; complete, cancel, reopen, reassign."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core.records import Task
from ..operation import Ctx, Operation, Param
from ..schemas import body, ref_id, text
from .cards import action, card_operations, custom_fields, user_ref

if TYPE_CHECKING:  # pragma: no cover
    from ...core.app import Crm

CARD_TYPES = ["lead", "contact", "company", "deal", "task"]
DUE = {"type": ["string", "null"], "maxLength": 40,
       "description": "a date (YYYY-MM-DD: the end of that day in the deployment's timezone) or a date and time "
                      "with an offset (e.g. 2030-01-02T17:00:00+01:00)"}


def operations(crm: "Crm") -> list[Operation]:
    f = {"title": text(300), "description": text(10000), "due_at": DUE,
         "custom": custom_fields(crm, "task")}
    create = {**f, "assignee_id": user_ref(), "entity_type": {"type": ["string", "null"], "enum": [*CARD_TYPES, None]},
              "entity_id": ref_id()}
    overdue = Param("overdue", {"type": "boolean"}, "open and past due (true) or not (false)")
    ops, rec = card_operations(crm, service="tasks", entity="task", plural="tasks", record=Task,
                               create_body=body(create, ["title"]), update_body=body(f), extra_filters=[overdue],
                               create=lambda ctx: ctx.services.tasks.add(**ctx.body))

    def complete(ctx: Ctx) -> Any:
        return ctx.services.tasks.complete(ctx.id, version=ctx.version)

    def cancel(ctx: Ctx) -> Any:
        return ctx.services.tasks.cancel(ctx.id, reason=(ctx.body or {}).get("reason"), version=ctx.version)

    def reopen(ctx: Ctx) -> Any:
        return ctx.services.tasks.reopen(ctx.id, version=ctx.version)

    def reassign(ctx: Ctx) -> Any:
        return ctx.services.tasks.reassign(ctx.id, ctx.body["assignee_id"], version=ctx.version)

    ops += [
        action("/tasks/{id:int}/complete", complete, "Mark a task done", "tasks", "complete_task", rec),
        action("/tasks/{id:int}/cancel", cancel, "Cancel a task (optionally saying why)", "tasks", "cancel_task", rec,
               body({"reason": text(2000, null=True)})),
        action("/tasks/{id:int}/reopen", reopen, "Open a done or cancelled task again", "tasks", "reopen_task", rec),
        action("/tasks/{id:int}/reassign", reassign, "Give a task to another user (null: nobody)", "tasks",
               "reassign_task", rec, body({"assignee_id": user_ref()}, ["assignee_id"]), body_required=True),
    ]
    return ops
