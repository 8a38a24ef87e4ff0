"""My tasks (made for a phone): overdue, today, upcoming; one tap to complete; tel: and mailto: links."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import RedirectResponse, Response

from .auth import safe_next
from .home import end_of_today

if TYPE_CHECKING:  # pragma: no cover
    from ..context import PageContext, UiState


def _links(ctx: "PageContext", task: Any) -> dict[str, list[str]]:
    """The phones and e-mails of the task's card (its contact's for a deal), for tel: and mailto:."""
    assert ctx.services is not None
    s = ctx.services
    try:
        if task.entity_type == "deal":
            deal = s.deals.get(task.entity_id)
            if deal.contact_id:
                c = s.contacts.get(deal.contact_id)
                return {"phones": list(c.phones), "emails": list(c.emails), "name": [c.name]}
        elif task.entity_type == "contact":
            c = s.contacts.get(task.entity_id)
            return {"phones": list(c.phones), "emails": list(c.emails), "name": [c.name]}
        elif task.entity_type == "lead":
            lead = s.leads.get(task.entity_id)
            return {"phones": [lead.phone] if lead.phone else [], "emails": [lead.email] if lead.email else [],
                    "name": [lead.name]}
    except Exception:  # a card the user cannot read: no links
        return {}
    return {}


def my_tasks(ctx: "PageContext") -> Response:
    assert ctx.services is not None and ctx.user is not None
    now = ctx.crm.clock.now()
    tomorrow = end_of_today(ctx)
    tasks = ctx.services.tasks.list(assignee_id=ctx.user.id, status="open", limit=200).items
    groups: dict[str, list[Any]] = {"overdue": [], "today": [], "upcoming": []}
    for task in sorted(tasks, key=lambda t: (t.due_at is None, t.due_at or now, t.id)):
        key = "overdue" if task.is_overdue(now) else "today" if task.due_at and task.due_at < tomorrow else "upcoming"
        groups[key].append(task)
    links = {t.id: _links(ctx, t) for t in tasks if t.entity_type}
    return ctx.page("my_tasks.html", groups=groups, links=links, now=now)


def complete(ctx: "PageContext") -> Response:
    assert ctx.services is not None
    version = ctx.form.get("version", "")
    task = ctx.services.tasks.complete(int(ctx.request.path_params["id"]),
                                       version=int(version) if version.isdigit() else None)
    if ctx.request.headers.get("hx-request"):
        return ctx.page("task_done.html", task=task)
    return RedirectResponse(safe_next(ctx.form.get("next") or "/my-tasks"), status_code=303)


def routes(ui: "UiState") -> list[tuple[str, Any, tuple[str, ...], bool]]:
    return [("/my-tasks", my_tasks, ("GET",), True), ("/tasks/{id:int}/complete", complete, ("POST",), True)]
