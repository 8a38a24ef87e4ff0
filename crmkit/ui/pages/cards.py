"""Card pages (lead, contact, company, deal): fields with inline edit under the version check,
the timeline, tasks and notes added in place, linked cards, plugins' panels and actions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, RedirectResponse, Response

from ...core.errors import ConflictError, CrmError, NotFoundError
from .. import fields, timeline

if TYPE_CHECKING:  # pragma: no cover
    from ..context import PageContext, UiState

KINDS = {"deals": "deal", "leads": "lead", "contacts": "contact", "companies": "company"}


def _service(ctx: "PageContext", entity: str) -> Any:
    assert ctx.services is not None
    return getattr(ctx.services, {"company": "companies"}.get(entity, entity + "s"))


def _card(ctx: "PageContext") -> tuple[str, str, Any]:
    plural = ctx.request.path_params["kind"]
    entity = KINDS.get(plural)
    if entity is None:
        raise NotFoundError("no such page")
    return plural, entity, _service(ctx, entity).get(int(ctx.request.path_params["id"]))


def _links(ctx: "PageContext", entity: str, card: Any) -> list[tuple[str, str, str]]:
    """(label, url, text) of the cards linked to this one that the user may read."""
    s = ctx.services
    assert s is not None
    out: list[tuple[str, str, str]] = []

    def add(kind: str, ident: int | None, text: Any) -> None:
        if ident is None:
            return
        try:
            title = text(ident) if callable(text) else text
        except NotFoundError:
            return
        out.append((ctx.label(kind), f"/{ {'company': 'companies'}.get(kind, kind + 's') }/{ident}", title))

    if entity in ("deal", "lead", "contact"):
        add("contact", getattr(card, "contact_id", None), lambda i: s.contacts.get(i).name)
    if entity in ("deal", "contact"):
        add("company", card.company_id, lambda i: s.companies.get(i).name)
    if entity == "deal":
        add("lead", card.lead_id, lambda i: s.leads.get(i).title)
        add("deal", card.origin_deal_id, lambda i: s.deals.get(i).title)
    filters = {"contact": "contact_id", "company": "company_id", "lead": "lead_id"}
    if entity in filters:
        for deal in s.deals.list({filters[entity]: card.id}, limit=20).items:
            add("deal", deal.id, deal.title)
    if entity == "company":
        for person in s.contacts.list(company_id=card.id, limit=20).items:
            add("contact", person.id, person.name)
    return out


def show(ctx: "PageContext", *, conflict: dict[str, Any] | None = None, message: str = "", status: int = 200) -> Response:
    plural, entity, card = _card(ctx)
    s = ctx.services
    assert s is not None
    tasks = s.tasks.list(entity_type=entity, entity_id=card.id, limit=100).items
    contrib = ctx.ui.contributions
    panels = []
    for panel in contrib.panels:
        if entity in panel.entities and ctx.allows(panel.permission):
            body = panel.render(ctx, entity, card)
            if body is not None:
                panels.append({"key": panel.key, "title": panel.title, "body": body})
    actions = [a for a in contrib.actions if entity in a.entities and ctx.allows(a.permission)
               and (a.available is None or a.available(ctx, entity, card))]
    stages = []
    if entity == "deal":
        stages = next((p.stages for p in ctx.crm.pipelines if p.key == card.pipeline), ())
    names = {u.id: u.name for u in s.users.list(limit=500).items}
    return ctx.page("card.html", status=status, entity=entity,
                    plural=plural, card=card, fields=fields.views(ctx, entity, card), timeline=timeline.entries(
                        ctx, entity, card.id), tasks=tasks, now=ctx.crm.clock.now(), links=_links(ctx, entity, card),
                    panels=panels, actions=actions, stages=stages, lost_reasons=ctx.crm.lost_reasons, names=names,
                    conflict=conflict, message=message)


def version(ctx: "PageContext") -> Response:
    _, _, card = _card(ctx)
    return JSONResponse({"version": card.version})


def edit(ctx: "PageContext") -> Response:
    plural, entity, card = _card(ctx)
    views = fields.views(ctx, entity, card)
    version = ctx.form.get("version", "")
    mine = fields.changes(ctx, entity, ctx.form, views)
    try:
        _service(ctx, entity).update(card.id, mine, version=int(version) if version.isdigit() else None)
    except ConflictError:
        # what the card holds now, where it differs from what this user sent (their edit is not saved)
        theirs = {v.key: v.value for v in fields.views(ctx, entity, _service(ctx, entity).get(card.id))}
        sent = {v.key: ctx.form.get(v.name, "").strip() for v in views if v.name in ctx.form}
        changed = [{"field": v.label, "theirs": theirs.get(v.key, ""), "yours": sent[v.key]}
                   for v in views if v.key in sent and theirs.get(v.key, "") != sent[v.key]]
        return show(ctx, conflict={"changed": changed}, status=409)
    except CrmError as exc:
        return show(ctx, message=exc.message, status=exc.status)
    return RedirectResponse(f"/{plural}/{card.id}", status_code=303)


def add_note(ctx: "PageContext") -> Response:
    plural, entity, card = _card(ctx)
    assert ctx.services is not None
    try:
        ctx.services.notes.add(entity, card.id, ctx.form.get("body", ""))
    except CrmError as exc:
        return show(ctx, message=exc.message, status=exc.status)
    return RedirectResponse(f"/{plural}/{card.id}#timeline", status_code=303)


def add_task(ctx: "PageContext") -> Response:
    plural, entity, card = _card(ctx)
    assert ctx.services is not None and ctx.user is not None
    due = ctx.form.get("due_at", "").strip()
    if due:
        due = fields._parse(ctx, fields.FieldView("due_at", "due_at", "", "datetime-local", ""), due)
    assignee = ctx.form.get("assignee_id", "")
    try:
        ctx.services.tasks.add(title=ctx.form.get("title", ""), due_at=due or None, entity_type=entity,
                               entity_id=card.id, assignee_id=int(assignee) if assignee.isdigit() else ctx.user.id)
    except CrmError as exc:
        return show(ctx, message=exc.message, status=exc.status)
    return RedirectResponse(f"/{plural}/{card.id}#tasks", status_code=303)


def run_action(ctx: "PageContext") -> Response:
    plural, entity, card = _card(ctx)
    key = ctx.request.path_params["key"]
    action = next((a for a in ctx.ui.contributions.actions if a.key == key and entity in a.entities
                   and ctx.allows(a.permission)), None)
    if action is None:
        raise NotFoundError("no such action")
    try:
        message = action.run(ctx, entity, card, {f.name: ctx.form.get(f.name, "") for f in action.fields})
    except CrmError as exc:
        return show(ctx, message=exc.message, status=exc.status)
    return show(ctx, message=message or ctx._("Done."))


def routes(ui: "UiState") -> list[tuple[str, Any, tuple[str, ...], bool]]:
    card = "/{kind:str}/{id:int}"
    return [(card, show, ("GET",), True), (card + "/version", version, ("GET",), True),
            (card + "/edit", edit, ("POST",), True), (card + "/notes", add_note, ("POST",), True),
            (card + "/tasks", add_task, ("POST",), True), (card + "/actions/{key:str}", run_action, ("POST",), True)]
