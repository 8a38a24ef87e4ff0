"""``/contacts``: natural persons with phones and e-mails."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core.records import Contact
from ..operation import Operation, Param
from ..schemas import DATE, body, nullable, ref_id, text
from .cards import card_operations, custom_fields, user_ref
from .reports import SEGMENT_FILTERS

if TYPE_CHECKING:  # pragma: no cover
    from ...core.app import Crm


def fields(crm: "Crm") -> dict[str, Any]:
    return {
        "first_name": text(200), "last_name": text(200),
        "phones": {"type": "array", "items": text(40), "maxItems": 20},
        "emails": {"type": "array", "items": text(254), "maxItems": 20},
        "company_id": ref_id(), "birthday": nullable(DATE), "responsible_id": user_ref(),
        "custom": custom_fields(crm, "contact"),
    }


def operations(crm: "Crm") -> list[Operation]:
    f = fields(crm)
    extra = (Param("phone", text(40), "has this phone (any format)"),
             Param("email", text(254), "has this e-mail"), *SEGMENT_FILTERS)
    ops, _ = card_operations(crm, service="contacts", entity="contact", plural="contacts", record=Contact,
                             create_body=body(f), update_body=body(f), extra_filters=extra)
    return ops
