"""Converting a qualified lead into contact, company (legal entities only) and deal -- atomically."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from .. import schema
from ..errors import ConflictError, ValidationError
from ..records import Company, Contact, Conversion
from .refs import find_contact
from .userref import resolve_values
from .utm import UTM_KEYS, utm_of

if TYPE_CHECKING:  # pragma: no cover
    from .leads import LeadService

CUSTOMER_KIND_FIELD = "customer_kind"


def convert(
    leads: "LeadService",
    id: int,
    *,
    customer_kind: str | None = None,
    contact: Mapping[str, Any] | None = None,
    company: Mapping[str, Any] | None = None,
    deal: Mapping[str, Any] | None = None,
    version: int | None = None,
) -> Conversion:
    """Convert lead ``id``.

    :param customer_kind: ``"person"`` or ``"legal_entity"`` (default: the lead's, else person).
        Only a legal entity gets a company.
    :param contact: fields for a new contact (default: from the lead's name, phone, e-mail).
        A lead linked to a known contact reuses it, if the acting user may read that contact;
        otherwise a new contact is made, and the old one's timeline gets a
        ``contact.possible_duplicate`` event (its own users see it; the converting user
        learns nothing about a card they cannot see). So does any older contact sharing
        the new contact's phone or e-mail.
    :param company: fields for the company (default name: the lead's company_name).
    :param deal: fields for the deal (title, amount, currency, pipeline, stage, custom, ...);
        the lead's source, UTM fields and same-named custom fields carry over.
    One rule says who is responsible for what the conversion makes (the company, a new
    contact and the deal): the deal's ``responsible_id`` if given, else the lead's responsible
    user, else the acting user; ``contact`` and ``company`` may name their own.
    Converting twice, or a rejected lead, is a :class:`ConflictError`.
    """
    crm = leads.crm
    with leads._tx() as tx:
        row = leads._row(tx.conn, id, lock=True)
        # What the user links explicitly must be visible to them, as in a create; the links the
        # conversion itself makes (to the lead's matched contact) are part of the allowed command.
        user_fields = ("responsible_id",)
        contact = resolve_values(tx.conn, leads.access, contact, user_fields, "contact", crm) if contact else contact
        company = resolve_values(tx.conn, leads.access, company, user_fields, "company", crm) if company else company
        deal = resolve_values(tx.conn, leads.access, deal, user_fields, "deal", crm) if deal else deal
        leads.access.require_visible_links(tx.conn, contact or {}, prefix="contact.")
        leads.access.require_visible_links(tx.conn, deal or {}, prefix="deal.")
        from . import Services

        services = Services(crm, leads.actor_id, enforce=False)
        if row.status == "converted":
            raise ConflictError(f"lead {row.id} is already converted", field="status")
        leads._require_open(row)
        kind = customer_kind or row.customer_kind or "person"
        if kind not in ("person", "legal_entity"):
            raise ValidationError("customer_kind: use person or legal_entity", field="customer_kind")

        owner = (deal or {}).get("responsible_id") or row.responsible_id or leads.actor_id
        made_company: Company | None = None
        if kind == "legal_entity":
            fields = {"name": row.company_name, "responsible_id": owner, **(company or {})}
            if not fields.get("name"):
                raise ValidationError("company.name: a legal entity needs a company name", field="company.name")
            made_company = services.companies.create(**fields)

        made_contact = _contact(services, leads.access, tx, row, contact, made_company, owner)
        deal_fields = _deal_fields(crm, row, kind, made_contact, made_company, deal or {}, owner)
        made_deal = services.deals.create(**deal_fields)

        values: dict[str, Any] = {"status": "converted", "contact_id": made_contact.id, "customer_kind": kind,
                                  "closed_at": tx.now}
        changes: dict[str, Any] = {"status": {"before": row.status, "after": "converted"}}
        won = leads._stage(None, "won")
        if won is not None:
            values.update(stage_id=won.id, pipeline_id=won.pipeline_id)
            changes["stage"] = {"before": crm.stage_by_id(row.stage_id).key if row.stage_id else None, "after": won.key}
        leads._bump(tx, row, values, version)
        tx.emit("lead.converted", "lead", row.id, changes, data={
            "deal_id": made_deal.id, "contact_id": made_contact.id,
            "company_id": made_company.id if made_company else None, "customer_kind": kind,
        })
        return Conversion(lead=leads._record(leads._row(tx.conn, row.id)), contact=made_contact,
                          company=made_company, deal=made_deal)


def _contact(services: Any, access: Any, tx: Any, row: Any, overrides: Mapping[str, Any] | None,
             company: Company | None, owner: int | None) -> Contact:
    if row.contact_id is not None and not overrides and access.can_see(tx.conn, "contact", schema.contacts,
                                                                       row.contact_id):
        contact: Contact = services.contacts.get(row.contact_id)
        if company is not None and contact.company_id is None:
            contact = services.contacts.update(contact.id, {"company_id": company.id})
        return contact
    first, _, last = (row.name or "").strip().partition(" ")
    fields: dict[str, Any] = {
        "first_name": first or (row.title if not last else ""), "last_name": last,
        "phones": [row.phone] if row.phone else [], "emails": [row.email] if row.email else [],
        "responsible_id": owner, **(overrides or {}),
    }
    if company is not None:
        fields.setdefault("company_id", company.id)
    made: Contact = services.contacts.create(**fields)
    keys = [(p, None) for p in made.phones] + [(None, e) for e in made.emails]
    matches = (find_contact(tx.conn, phone, email, exclude=made.id) for phone, email in keys)
    match = next((m for m in matches if m is not None), None)
    if match is not None:
        tx.emit("contact.possible_duplicate", "contact", match[0],
                data={"duplicate_id": made.id, "lead_id": row.id, "matched_by": match[1]})
    return made


def _deal_fields(crm: Any, row: Any, kind: str, contact: Contact, company: Company | None,
                 overrides: Mapping[str, Any], owner: int | None) -> dict[str, Any]:
    declared = crm.custom_fields.fields("deal")
    custom = {k: v for k, v in (row.custom or {}).items() if k in declared}
    if CUSTOMER_KIND_FIELD in declared:
        custom[CUSTOMER_KIND_FIELD] = kind
    custom.update(overrides.get("custom") or {})
    fields: dict[str, Any] = {
        "title": row.title, "responsible_id": owner, "contact_id": contact.id,
        "company_id": company.id if company else None, "lead_id": row.id, "source": row.source,
        "utm": {k: v for k, v in utm_of(row).items() if k in UTM_KEYS},
    }
    fields.update({k: v for k, v in overrides.items() if k != "custom"})
    fields["custom"] = custom
    return fields
