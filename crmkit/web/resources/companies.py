"""``/companies``: legal entities."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core.records import Company
from ..operation import Operation
from ..schemas import body, text
from .cards import card_operations, custom_fields, user_ref
from .reports import SEGMENT_FILTERS

if TYPE_CHECKING:  # pragma: no cover
    from ...core.app import Crm


def fields(crm: "Crm") -> dict[str, Any]:
    return {"name": text(300), "address": text(2000, null=True), "responsible_id": user_ref(),
            "custom": custom_fields(crm, "company")}


def operations(crm: "Crm") -> list[Operation]:
    f = fields(crm)
    ops, _ = card_operations(crm, service="companies", entity="company", plural="companies", record=Company,
                             create_body=body(f, ["name"]), update_body=body(f), extra_filters=SEGMENT_FILTERS)
    return ops
