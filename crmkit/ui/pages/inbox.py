"""The lead inbox: new and in-progress leads, each qualified in one step: reject with a reason,
or convert (contact, company for legal entities, deal) with the deal's fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import RedirectResponse, Response

from ...core.errors import CrmError

if TYPE_CHECKING:  # pragma: no cover
    from ..context import PageContext, UiState


def inbox(ctx: "PageContext", *, message: str = "", error: str = "", status: int = 200) -> Response:
    assert ctx.services is not None
    cursor = ctx.request.query_params.get("cursor") or None
    page = ctx.services.leads.list(status__in=["new", "in_progress"], order="-created_at", limit=25, cursor=cursor)
    pipelines = [p for p in ctx.crm.pipelines if p.key != ctx.crm.settings.lead_pipeline]
    return ctx.page("inbox.html", status=status, leads=page.items, next_cursor=page.next_cursor,
                    lost_reasons=ctx.crm.lost_reasons, pipelines=pipelines, message=message, error=error)


def reject(ctx: "PageContext") -> Response:
    assert ctx.services is not None
    lead_id = int(ctx.request.path_params["id"])
    try:
        ctx.services.leads.reject(lead_id, reason=ctx.form.get("reason") or None,
                                  reason_text=ctx.form.get("reason_text", "").strip() or None)
    except CrmError as exc:
        return inbox(ctx, error=exc.message, status=exc.status)
    return RedirectResponse("/inbox", status_code=303)


def convert(ctx: "PageContext") -> Response:
    assert ctx.services is not None
    lead_id = int(ctx.request.path_params["id"])
    f = ctx.form
    deal: dict[str, Any] = {k: f[k].strip() for k in ("title", "amount", "pipeline") if f.get(k, "").strip()}
    try:
        done = ctx.services.leads.convert(lead_id, customer_kind=f.get("customer_kind") or None,
                                          company={"name": f["company_name"].strip()} if f.get("company_name", "").strip()
                                          else None, deal=deal)
    except CrmError as exc:
        return inbox(ctx, error=exc.message, status=exc.status)
    return RedirectResponse(f"/deals/{done.deal.id}", status_code=303)


def routes(ui: "UiState") -> list[tuple[str, Any, tuple[str, ...], bool]]:
    return [("/inbox", inbox, ("GET",), True), ("/inbox/{id:int}/reject", reject, ("POST",), True),
            ("/inbox/{id:int}/convert", convert, ("POST",), True)]
