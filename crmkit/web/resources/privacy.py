"""``/contacts/{id}/export`` and ``/contacts/{id}/erase``: a person's data, and erasing it.

Both need the ``personal_data.manage`` permission (admins have it); see
:mod:`crmkit.core.services.privacy` for what is exported and erased.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core.events import Event
from ...core.records import Contact, Deal, Lead, Note, Task
from ...core.services.files import FileInfo
from ...core.services.privacy import FORMAT, Erasure, PrivacyService
from ..operation import Ctx, Operation
from ..schemas import body, custom_read, record_schema, text

if TYPE_CHECKING:  # pragma: no cover
    from ...core.app import Crm

OBJECT = {"type": "object"}


def _service(ctx: Ctx) -> PrivacyService:
    return PrivacyService(ctx.crm, ctx.user_id, ctx.services.access)


def export_contact(ctx: Ctx) -> Any:
    return _service(ctx).export_contact(ctx.id)


def erase_contact(ctx: Ctx) -> Any:
    return _service(ctx).erase_contact(ctx.id, reason=(ctx.body or {}).get("reason"))


def export_schema(crm: "Crm") -> dict[str, Any]:
    def records(cls: type, entity: str | None = None) -> dict[str, Any]:
        return {"type": "array", "items": record_schema(cls, custom_read(crm, entity) if entity else None)}

    props = {
        "format": {"type": "string", "enum": [FORMAT]},
        "exported_at": {"type": "string", "format": "date-time"},
        "contact": record_schema(Contact, custom_read(crm, "contact")),
        "custom_fields": OBJECT,
        "known_as": {"type": "object", "required": ["names", "phones", "emails"], "properties": {
            k: {"type": "array", "items": {"type": "string"}} for k in ("names", "phones", "emails")}},
        "leads": records(Lead, "lead"), "deals": records(Deal, "deal"), "tasks": records(Task, "task"),
        "notes": records(Note), "events": records(Event), "files": records(FileInfo), "plugins": OBJECT,
    }
    return {"type": "object", "required": list(props), "properties": props}


def operations(crm: "Crm") -> list[Operation]:
    return [
        Operation("GET", "/contacts/{id:int}/export", export_contact, "Export everything about a contact",
                  "contacts", "export_contact", response=export_schema(crm),
                  description="The contact (phones, e-mails, custom fields), their leads, deals, tasks, notes, "
                              "documents (metadata), the events of all those cards and each plugin's data about "
                              "them, as one JSON "
                              "document. Needs the `personal_data.manage` permission (admins). Logged as "
                              "`contact.exported`."),
        Operation("POST", "/contacts/{id:int}/erase", erase_contact, "Erase a contact's personal data",
                  "contacts", "erase_contact", body=body({"reason": text(300, null=True)}), body_required=False,
                  response=record_schema(Erasure), idempotent=True, errors=(409,),
                  description="Removes the person's names, phones, e-mails, birthday, custom fields and the "
                              "documents on their contact card, and every mention of them in their cards, notes, "
                              "tasks, document names, events and plugins' rows, in one "
                              "transaction; deals and leads stay with their amounts and stages. Logged as "
                              "`contact.erased` with the reason and row counts, without the data. Needs the "
                              "`personal_data.manage` permission (admins). A second erasure is 409."),
    ]
