"""Customer segments as list filters: ``crm.contacts.list({"lifecycle": "regular"})``,
``{"rfm_segment__in": ["champions", "loyal"]}`` (contacts and companies; the values the
``core.customer_segments`` job stored; a card without a row is ``potential``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import not_, select
from sqlalchemy.sql import Select

from ..errors import ValidationError
from .customers import LIFECYCLE, SEGMENTS
from .tables import customer_segments

if TYPE_CHECKING:  # pragma: no cover
    from ..services.base import Service

CHOICES = {"lifecycle": LIFECYCLE, "rfm_segment": tuple(name for name, _ in SEGMENTS)}


def segment_filter(service: "Service[Any]", query: Select[Any], name: str, op: str, value: Any) -> Select[Any] | None:
    """For a contact or company service's ``_special_filter``: the ``lifecycle`` and ``rfm_segment``
    filters (``eq``, ``ne``, ``in``); ``None`` for any other filter."""
    if name not in CHOICES or service.entity not in ("contact", "company"):
        return None
    key = name if op == "eq" else f"{name}__{op}"
    if op not in ("eq", "ne", "in"):
        raise ValidationError(f"{key}: only eq, ne and in", field=key)
    values = list(value) if op == "in" and isinstance(value, (list, tuple)) else [value]
    if op == "in" and not isinstance(value, (list, tuple)):
        raise ValidationError(f"{key}: expected a list of values", field=key)
    for v in values:
        if v not in CHOICES[name]:
            raise ValidationError(f"{key}: {str(v)[:40]!r} is not one of {', '.join(CHOICES[name])}", field=key)
    seg = customer_segments.c
    mine = select(seg.entity_id).where(seg.entity_type == service.entity)
    ident = service.table.c.id
    cond = ident.in_(mine.where(getattr(seg, name).in_(values)))
    if name == "lifecycle" and "potential" in values:
        cond = cond | ident.not_in(mine)
    return query.where(not_(cond) if op == "ne" else cond)
