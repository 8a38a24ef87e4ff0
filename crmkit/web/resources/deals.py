"""``/deals``: sales moving through pipeline stages; move, win, lose, stage history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core.records import Deal, StageMove, to_dict
from ..operation import Ctx, Operation, Param
from ..params import ORDERED_OPS, PAGING, filter_params, paging
from ..schemas import AMOUNT, CURRENCY, UTM, body, page_schema, record_schema, ref_id, text
from .cards import action, card_operations, custom_fields, user_ref
from .leads import REASON, SOURCE

if TYPE_CHECKING:  # pragma: no cover
    from ...core.app import Crm

KEY = {"type": "string", "maxLength": 63}
AMOUNT_FILTER = {"type": "string", "maxLength": 40}


def fields(crm: "Crm") -> dict[str, Any]:
    """The fields a deal update accepts."""
    return {"title": text(300), "amount": AMOUNT, "currency": CURRENCY, "responsible_id": user_ref(),
            "contact_id": ref_id(), "company_id": ref_id(), "source": SOURCE, "utm": UTM,
            "custom": custom_fields(crm, "deal")}


def create_fields(crm: "Crm") -> dict[str, Any]:
    return {**fields(crm), "pipeline": text(63, null=True), "stage": text(63, null=True), "lead_id": ref_id()}


def operations(crm: "Crm") -> list[Operation]:
    f = fields(crm)
    create = create_fields(crm)
    extra: list[Param] = [Param("pipeline", KEY, "in this pipeline (key)"),
                          *filter_params("stage", KEY, ("eq", "in"), "at this stage (key)"),
                          *filter_params("amount", AMOUNT_FILTER, ORDERED_OPS,
                                         "amount, e.g. 1200.50 or '1200.50 EUR' (of one currency: the value's, "
                                         "else the currency filter's, else the deployment's)")]
    ops, rec = card_operations(crm, service="deals", entity="deal", plural="deals", record=Deal,
                               create_body=body(create, ["title"]), update_body=body(f), extra_filters=extra)

    def move(ctx: Ctx) -> Any:
        return ctx.services.deals.move(ctx.id, version=ctx.version, **ctx.body)

    def win(ctx: Ctx) -> Any:
        return ctx.services.deals.win(ctx.id, version=ctx.version, **ctx.body)

    def lose(ctx: Ctx) -> Any:
        return ctx.services.deals.lose(ctx.id, version=ctx.version, **ctx.body)

    def history(ctx: Ctx) -> Any:
        _, limit, cursor = paging(ctx.query)
        page = ctx.services.deals.history(ctx.id, limit=limit, cursor=cursor)
        return {"items": [to_dict(m) for m in page], "next_cursor": page.next_cursor}

    ops += [
        action("/deals/{id:int}/move", move, "Move a deal to a stage (a lost stage needs a reason)", "deals",
               "move_deal", rec, body({"stage": KEY, "pipeline": text(63, null=True), **REASON}, ["stage"]),
               body_required=True),
        action("/deals/{id:int}/win", win, "Close a deal as won", "deals", "win_deal", rec,
               body({"stage": text(63, null=True)})),
        action("/deals/{id:int}/lose", lose, "Close a deal as lost, with a reason", "deals", "lose_deal", rec,
               body({**REASON, "stage": text(63, null=True)})),
        Operation("GET", "/deals/{id:int}/history", history, "A deal's stage moves, oldest first", "deals",
                  "deal_history", query=PAGING, response=page_schema(record_schema(StageMove))),
    ]
    return ops

