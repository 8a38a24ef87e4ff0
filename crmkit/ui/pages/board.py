"""The kanban board of a pipeline: columns = open stages, drag (or choose) to move a deal.

A move goes through ``deals.move`` (stage gates, required fields and automations apply). The
answer of ``POST /deals/{id}/move`` is JSON for the board's script: ``ok`` (and the new tasks),
``needs`` (a small form: the fields the stage requires, or the reason for losing) or ``error``
(refused or conflicting: the card snaps back). Without JavaScript the same form works as a page.
The board polls ``/board/<key>/columns`` with ``If-None-Match``: unchanged boards cost a query.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple, Sequence

from markupsafe import Markup
from starlette.responses import JSONResponse, RedirectResponse, Response

from ...core.errors import ConflictError, CrmError, NotFoundError, ValidationError
from ...core.money import Money
from ...core.services.board import MAX_CARDS, BoardCard, board_cards
from .. import fields

if TYPE_CHECKING:  # pragma: no cover
    from ...core.records import Deal, Pipeline
    from ..context import PageContext, UiState


def pipeline_of(ctx: "PageContext", key: str) -> "Pipeline":
    found = next((p for p in ctx.crm.pipelines if p.key == key and key != ctx.crm.settings.lead_pipeline), None)
    if found is None:
        raise NotFoundError(f"no pipeline {key!r}")
    return found


def board_filters(ctx: "PageContext") -> dict[str, Any]:
    """The board's filters from the query string: mine, responsible, source, custom fields (``c_<name>``)."""
    q = ctx.request.query_params
    out: dict[str, Any] = {}
    if q.get("mine") and ctx.user is not None:
        out["responsible_id"] = ctx.user.id
    elif q.get("responsible", "").isdigit():
        out["responsible_id"] = int(q["responsible"])
    if q.get("source"):
        out["source"] = q["source"]
    for name in ctx.crm.custom_fields.fields("deal"):
        value = q.get(f"c_{name}")
        if value:
            out[name] = value
    return out


def load(ctx: "PageContext", pipeline: "Pipeline") -> list[BoardCard]:
    """The open deals of ``pipeline`` the user sees, filtered (one query: :mod:`crmkit.core.services.board`)."""
    assert ctx.services is not None
    return board_cards(ctx.services.deals, pipeline.key, board_filters(ctx),
                       text=ctx.request.query_params.get("q", ""), limit=MAX_CARDS)


def etag(deals: Sequence[BoardCard]) -> str:
    digest = hashlib.sha256()
    for d in deals:
        digest.update(f"{d.id}:{d.version};".encode())
    return f'"{digest.hexdigest()[:20]}"'


class CardView(NamedTuple):
    """What a card of the board shows, ready for the template."""

    id: int
    title: str
    version: int
    stage: str
    money: str
    """The amount in the user's language ("" without one)."""
    owner: str
    label: str
    """The move form's label ("Move <title> to")."""
    stalled: str
    """The stalled badge ("Stalled: 5 days"), "" when the card is within its stage's norm."""


def columns(ctx: "PageContext", pipeline: "Pipeline", deals: list[BoardCard]) -> list[dict[str, Any]]:
    now = ctx.crm.clock.now()
    money, stalled = ctx.fmt.money, ctx._("Stalled")
    by_stage: dict[str, list[BoardCard]] = defaultdict(list)
    for deal in deals:
        by_stage[deal.stage].append(deal)
    out = []
    for stage in pipeline.stages:
        if stage.kind != "open":
            continue
        cards = by_stage.get(stage.key, [])
        sums: dict[str, Decimal] = defaultdict(Decimal)
        for deal in cards:
            if deal.amount is not None:
                sums[deal.amount.currency] += deal.amount.amount
        limit = ctx.ui.config.stall_limit(pipeline.key, stage.key) * 86400
        options = Markup("").join(  # once per column: every card in it is at this stage
            Markup('<option value="{}"{}>{}</option>').format(s.key, Markup(" selected") if s.key == stage.key else "",
                                                              s.name) for s in pipeline.stages)
        views = []
        for d in cards:
            age = now - d.stage_entered_at
            badge = ""
            if age.total_seconds() > limit:  # (no f-string: the catalogs' extraction must see the call)
                badge = stalled + ": " + ctx.ngettext("%(num)s day", "%(num)s days", age.days)
            views.append(CardView(d.id, d.title, d.version, d.stage, money(d.amount) if d.amount else "", d.owner,
                                  ctx._("Move %(title)s to", title=d.title), badge))
        out.append({"stage": stage, "count": len(cards), "options": options,
                    "sums": [Money(v, c) for c, v in sorted(sums.items())], "cards": views})
    return out


def board(ctx: "PageContext") -> Response:
    pipeline = pipeline_of(ctx, ctx.request.path_params["key"])
    deals = load(ctx, pipeline)
    pipelines = [p for p in ctx.crm.pipelines if p.key != ctx.crm.settings.lead_pipeline]
    users = ctx.services.users.list(active=True, limit=500, order="name").items if ctx.services else []
    return ctx.page("board.html", pipeline=pipeline, pipelines=pipelines, columns=columns(ctx, pipeline, deals),
                    query=dict(ctx.request.query_params), users=users, lost_reasons=ctx.crm.lost_reasons,
                    custom=fields.views(ctx, "deal", None), headers={"ETag": etag(deals)})


def board_columns(ctx: "PageContext") -> Response:
    """The columns alone (the board's poll): 304 when nothing the user sees changed."""
    pipeline = pipeline_of(ctx, ctx.request.path_params["key"])
    deals = load(ctx, pipeline)
    tag = etag(deals)
    if ctx.request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers={"ETag": tag})
    html = ctx.render("board_columns.html", pipeline=pipeline, columns=columns(ctx, pipeline, deals),
                      lost_reasons=ctx.crm.lost_reasons)
    return Response(html, media_type="text/html", headers={"ETag": tag})


def first_board(ctx: "PageContext") -> Response:
    return RedirectResponse(f"/board/{ctx.crm.settings.sales_pipeline}", status_code=303)


def quick_create(ctx: "PageContext") -> Response:
    pipeline = pipeline_of(ctx, ctx.request.path_params["key"])
    assert ctx.services is not None
    amount = ctx.form.get("amount", "").strip() or None
    ctx.services.deals.create(title=ctx.form.get("title", ""), amount=amount, pipeline=pipeline.key,
                              stage=ctx.form.get("stage") or None)
    return RedirectResponse(f"/board/{pipeline.key}", status_code=303)


def _wants_json(ctx: "PageContext") -> bool:
    return "application/json" in ctx.request.headers.get("accept", "")


def move(ctx: "PageContext") -> Response:
    """Move a deal (drag, or the card's "Move to" form); see the module docstring for the answer."""
    assert ctx.services is not None
    deals = ctx.services.deals
    deal_id = int(ctx.request.path_params["id"])
    deal = deals.get(deal_id)
    stage_key = ctx.form.get("stage", "")
    version = int(ctx.form["version"]) if ctx.form.get("version", "").isdigit() else None
    spec = ctx.crm.pipeline_spec(deal.pipeline)
    target = spec.stage(stage_key) if spec else None
    if target is None:
        return _refused(ctx, deal, ctx._("There is no such stage."), 422)
    needed = [f for f in fields.views(ctx, "deal", deal, target.requires)]
    try:
        with ctx.crm.transaction(ctx.user.id if ctx.user else None):
            if target.kind == "lost":
                reason, text = ctx.form.get("reason") or None, ctx.form.get("reason_text", "").strip() or None
                if reason is None and text is None:
                    return _needs(ctx, deal, stage_key, version, [], lose=True)
                moved = deals.lose(deal.id, reason=reason, reason_text=text, stage=stage_key, version=version)
            else:
                if "fields" in ctx.form:
                    changes = fields.changes(ctx, "deal", ctx.form, needed)
                    if changes:
                        deal = deals.update(deal.id, changes, version=version)
                        version = deal.version
                moved = deals.move(deal.id, stage_key, version=version)
    except ValidationError as exc:
        if exc.field in target.requires:
            return _needs(ctx, deal, stage_key, version, needed, message=exc.message)
        return _refused(ctx, deal, exc.message, 422)
    except ConflictError as exc:
        return _refused(ctx, deal, exc.message, 409)
    except CrmError as exc:
        return _refused(ctx, deal, exc.message, exc.status)
    tasks = ctx.services.tasks.list(entity_type="deal", entity_id=moved.id, status="open", limit=50).items
    new = [t.title for t in tasks if t.created_at >= moved.stage_entered_at]
    stage_name = next((s.name for p in ctx.crm.pipelines for s in p.stages
                       if p.key == moved.pipeline and s.key == moved.stage), moved.stage)
    message = ctx._("Moved to %(stage)s.", stage=stage_name)
    if _wants_json(ctx):
        return JSONResponse({"ok": True, "version": moved.version, "message": message, "tasks": new})
    return RedirectResponse(f"/deals/{moved.id}", status_code=303)


def _needs(ctx: "PageContext", deal: "Deal", stage: str, version: int | None, needed: list[Any], *,
           lose: bool = False, message: str = "") -> Response:
    html = ctx.render("move_form.html", deal=deal, stage=stage, version=version, needed=needed, lose=lose,
                      lost_reasons=ctx.crm.lost_reasons, message=message)
    if _wants_json(ctx):
        return JSONResponse({"ok": False, "needs": str(html)}, status_code=422)
    return ctx.page("move_page.html", status=422, form=html, deal=deal)


def _refused(ctx: "PageContext", deal: "Deal", message: str, status: int) -> Response:
    if _wants_json(ctx):
        return JSONResponse({"ok": False, "error": message}, status_code=status)
    return ctx.page("error.html", status=status, status_code=status, message=message)


def routes(ui: "UiState") -> list[tuple[str, Any, tuple[str, ...], bool]]:
    return [("/board", first_board, ("GET",), True), ("/board/{key}", board, ("GET",), True),
            ("/board/{key}/columns", board_columns, ("GET",), True),
            ("/board/{key}/deals", quick_create, ("POST",), True),
            ("/deals/{id:int}/move", move, ("POST",), True)]
