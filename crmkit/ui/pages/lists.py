"""List views of leads, contacts, companies, deals and tasks: sortable, filterable (custom fields
too, ``c_<name>``), paginated with the services' cursors (the API's)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from starlette.responses import Response

from ...core.errors import CrmError
from ..i18n import N_

if TYPE_CHECKING:  # pragma: no cover
    from ..context import PageContext, UiState

SCORE_LABEL = N_("Chance to win")
Column = tuple[str, str, Callable[[Any], Any], str | None]  # key, label, value, link
LISTS: dict[str, dict[str, Any]] = {
    "deals": {"entity": "deal", "filters": ("status", "source", "responsible_id"),
              "columns": (("title", N_("Title"), "title", True), ("stage", N_("Stage"), "stage", False),
                          ("amount", N_("Amount"), "amount", False), ("status", N_("Status"), "status", False),
                          ("created_at", N_("Created"), "created_at", False))},
    "leads": {"entity": "lead", "filters": ("status", "source", "responsible_id"),
              "columns": (("title", N_("Title"), "title", True), ("name", N_("Name"), "name", False),
                          ("phone", N_("Phone"), "phone", False), ("status", N_("Status"), "status", False),
                          ("created_at", N_("Created"), "created_at", False))},
    "contacts": {"entity": "contact", "filters": ("responsible_id",),
                 "columns": (("last_name", N_("Name"), "name", True), ("phones", N_("Phones"), "phones", False),
                             ("emails", N_("E-mails"), "emails", False), ("created_at", N_("Created"), "created_at", False))},
    "companies": {"entity": "company", "filters": ("responsible_id",),
                  "columns": (("name", N_("Name"), "name", True), ("address", N_("Address"), "address", False),
                              ("created_at", N_("Created"), "created_at", False))},
    "tasks": {"entity": "task", "filters": ("status", "assignee_id"),
              "columns": (("title", N_("Title"), "title", False), ("due_at", N_("Due"), "due_at", False),
                          ("status", N_("Status"), "status", False), ("created_at", N_("Created"), "created_at", False))},
}


def list_page(ctx: "PageContext") -> Response:
    plural = ctx.request.url.path.strip("/")
    spec = LISTS[plural]
    entity = spec["entity"]
    assert ctx.services is not None
    service = getattr(ctx.services, plural)
    q = ctx.request.query_params
    filters: dict[str, Any] = {}
    for name in spec["filters"]:
        if q.get(name):
            filters[name] = q[name]
    customs = ctx.crm.custom_fields.fields(entity) if entity != "task" else {}
    for name in customs:
        if q.get(f"c_{name}"):
            filters[name] = q[f"c_{name}"]
    order = q.get("order") or "-id"
    error = ""
    try:
        page = service.list(filters, order=order, limit=50, cursor=q.get("cursor") or None)
    except CrmError as exc:
        page, error = service.list(limit=50, order="-id"), exc.message
    sortable = set(service.sortable)
    columns = [{"key": key, "label": ctx._(label), "attr": attr, "link": link, "sortable": key in sortable}
               for key, label, attr, link in spec["columns"]]
    scores: dict[int, float] = {}
    if "score" in sortable:  # deals and leads: the lead_win score, a column when the page has any
        from ...core.reports.score_order import scores_for
        scores = scores_for(ctx.crm, entity, [item.id for item in page.items], service.score_model)
        if scores or order.lstrip("-") == "score":
            columns.insert(-1, {"key": "score", "label": ctx._(SCORE_LABEL), "attr": "score", "link": False,
                                "sortable": True})
    return ctx.page("list.html", plural=plural, entity=entity, items=page.items, next_cursor=page.next_cursor,
                    columns=columns, order=order, query=dict(q), filters=spec["filters"], customs=customs,
                    error=error, scores=scores)


def routes(ui: "UiState") -> list[tuple[str, Any, tuple[str, ...], bool]]:
    return [(f"/{plural}", list_page, ("GET",), True) for plural in LISTS]
