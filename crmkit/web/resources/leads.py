"""``/leads``: first requests, qualified, rejected with a reason (conversion arrives with the core)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core.records import Lead
from ..operation import Ctx, Operation
from ..schemas import body, custom_write, ref_id, text
from .cards import action, card_operations

if TYPE_CHECKING:  # pragma: no cover
    from ...core.app import Crm

SOURCE = {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$"}
REASON = {"reason": text(100, null=True), "reason_text": text(2000, null=True)}


def fields(crm: "Crm") -> dict[str, Any]:
    return {
        "title": text(300), "name": text(300), "company_name": text(300), "phone": text(40, null=True),
        "email": text(254, null=True), "source": SOURCE, "responsible_id": ref_id(), "contact_id": ref_id(),
        "custom": custom_write(crm, "lead"),
    }


def operations(crm: "Crm") -> list[Operation]:
    f = fields(crm)
    update = {**{k: v for k, v in f.items() if k != "source"}, "source": SOURCE,
              "status": {"type": "string", "enum": ["new", "in_progress"]}}
    ops, rec = card_operations(crm, service="leads", entity="lead", plural="leads", record=Lead,
                               create_body=body(f, ["title"]), update_body=body(update))

    def reject(ctx: Ctx) -> Any:
        return ctx.services.leads.reject(ctx.id, version=ctx.version, **ctx.body)

    ops.append(action("/leads/{id:int}/reject", reject, "Reject a lead (not a target customer), with a reason",
                      "leads", "reject_lead", rec, body(REASON)))
    return ops
