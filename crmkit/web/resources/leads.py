"""``/leads``: first requests; qualify (move), convert into contact/company/deal, or reject with a reason."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core.records import Company, Contact, Conversion, Deal, Lead, to_dict
from ..operation import Ctx, Operation, Result
from ..schemas import UTM, body, custom_read, nullable, record_schema, ref_id, text
from . import companies, contacts, deals
from .cards import action, card_operations, custom_fields, user_ref

if TYPE_CHECKING:  # pragma: no cover
    from ...core.app import Crm

SOURCE = {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$",
          "description": "a source name: a lower-case letter, then letters, digits or _ (e.g. web_form)"}
REASON = {"reason": text(100, null=True), "reason_text": text(2000, null=True)}
KIND = {"type": ["string", "null"], "enum": ["person", "legal_entity", None]}


def fields(crm: "Crm") -> dict[str, Any]:
    return {
        "title": text(300), "name": text(300), "company_name": text(300), "phone": text(40, null=True),
        "email": text(254, null=True), "source": SOURCE, "responsible_id": user_ref(), "contact_id": ref_id(),
        "customer_kind": KIND, "utm": UTM, "custom": custom_fields(crm, "lead"),
    }


def operations(crm: "Crm") -> list[Operation]:
    f = fields(crm)
    ops, rec = card_operations(crm, service="leads", entity="lead", plural="leads", record=Lead,
                               create_body=body(f, ["title"]), update_body=body(f))

    def reject(ctx: Ctx) -> Any:
        return ctx.services.leads.reject(ctx.id, version=ctx.version, **ctx.body)

    def move(ctx: Ctx) -> Any:
        return ctx.services.leads.move(ctx.id, ctx.body["stage"], version=ctx.version)

    def reopen(ctx: Ctx) -> Any:
        return ctx.services.leads.reopen(ctx.id, version=ctx.version)

    ops += [
        action("/leads/{id:int}/move", move, "Move a lead between the open stages of the lead pipeline", "leads",
               "move_lead", rec, body({"stage": text(63)}, ["stage"]), body_required=True),
        action("/leads/{id:int}/reject", reject, "Reject a lead (not a target customer), with a reason",
               "leads", "reject_lead", rec, body(REASON)),
        action("/leads/{id:int}/reopen", reopen, "Open a rejected lead again (back in the first stage)",
               "leads", "reopen_lead", rec),
    ]
    if hasattr(crm.system.leads, "convert"):
        ops.append(_convert(crm, rec))
    return ops


def _convert(crm: "Crm", lead: Any) -> Operation:
    def convert(ctx: Ctx) -> Any:
        done: Conversion = ctx.services.leads.convert(ctx.id, version=ctx.version, **ctx.body)
        return Result({"lead": to_dict(done.lead), "contact": to_dict(done.contact),
                       "company": to_dict(done.company) if done.company is not None else None,
                       "deal": to_dict(done.deal)})

    options = body({
        "customer_kind": KIND,
        "contact": nullable(body(contacts.fields(crm))),
        "company": nullable(body(companies.fields(crm))),
        "deal": nullable(body(deals.create_fields(crm))),
    })
    response = {"type": "object", "required": ["lead", "contact", "company", "deal"], "properties": {
        "lead": lead,
        "contact": record_schema(Contact, custom_read(crm, "contact")),
        "company": nullable(record_schema(Company, custom_read(crm, "company"))),
        "deal": record_schema(Deal, custom_read(crm, "deal")),
    }}
    return action("/leads/{id:int}/convert", convert,
                  "Convert a lead: contact (new or matched), company (legal entities only) and deal, at once",
                  "leads", "convert_lead", response, options, etag=False)
