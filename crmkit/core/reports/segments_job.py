"""The worker's ``core.customer_segments`` job: lifecycle stages and RFM segments, kept in
``crm_customer_segments``; each lifecycle change is an event.

One SQL query computes every customer's new state next to the stored one; the job then
writes the table anew in the same transaction and emits ``contact.lifecycle_changed`` /
``company.lifecycle_changed`` (``changes = {"lifecycle": {"before", "after"}}``) for each
customer whose stage changed (a customer without a row was ``potential``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, insert, select

from .customers import scored
from .tables import customer_segments

if TYPE_CHECKING:  # pragma: no cover
    from ..app import Crm

BATCH = 5000


def recompute_segments(crm: "Crm", now: datetime) -> int:
    """Recompute every customer's lifecycle stage and RFM segment; return how many stages changed."""
    seg = customer_segments.c
    changed = 0
    with crm.transaction(None) as tx:
        s = scored(crm.as_user(None))
        q = (select(s, seg.lifecycle.label("old"), seg.lifecycle_since.label("old_since"))
             .select_from(s.outerjoin(customer_segments, and_(seg.entity_type == s.c.entity_type,
                                                              seg.entity_id == s.c.entity_id))))
        rows = tx.conn.execute(q).all()
        gone = tx.conn.execute(select(seg.entity_type, seg.entity_id, seg.lifecycle)).all()
        fresh: list[dict[str, Any]] = []
        for r in rows:
            before = r.old or "potential"
            if before != r.lifecycle:
                changed += 1
                tx.emit(f"{r.entity_type}.lifecycle_changed", r.entity_type, r.entity_id,
                        {"lifecycle": {"before": before, "after": r.lifecycle}},
                        data={"purchases": r.purchases, "last_purchase_at": r.last_at.isoformat()})
            fresh.append({
                "entity_type": r.entity_type, "entity_id": r.entity_id, "lifecycle": r.lifecycle,
                "lifecycle_since": r.old_since if before == r.lifecycle and r.old_since else now,
                "purchases": r.purchases, "last_purchase_at": r.last_at, "rfm_r": r.r, "rfm_f": r.f,
                "rfm_m": r.m, "rfm_segment": r.segment, "computed_at": now,
            })
        kept = {(r.entity_type, r.entity_id) for r in rows}
        for g in gone:  # a customer whose purchases are gone (a deal reopened) is potential again
            if (g.entity_type, g.entity_id) not in kept and g.lifecycle != "potential":
                changed += 1
                tx.emit(f"{g.entity_type}.lifecycle_changed", g.entity_type, g.entity_id,
                        {"lifecycle": {"before": g.lifecycle, "after": "potential"}})
        tx.conn.execute(delete(customer_segments))
        for i in range(0, len(fresh), BATCH):
            tx.conn.execute(insert(customer_segments), fresh[i:i + BATCH])
    return changed
