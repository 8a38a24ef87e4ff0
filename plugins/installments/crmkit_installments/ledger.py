"""Writing the allocation of a plan's payments (inside the caller's transaction).

The allocation is recomputed from the active payments in recording order each time
a payment is recorded or reversed: a reversal lets later payments flow back to the
oldest items, and no item can ever be allocated more than its amount.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from .schedule import allocate
from .tables import allocations, items, payments, plans


def reallocate(conn: Connection, plan_id: int, now: datetime) -> list[dict[str, Any]]:
    """Re-allocate plan ``plan_id``'s active payments; return the items whose paid amount changed.

    Each change is ``{"seq", "item_id", "before", "after", "amount"}`` in minor units. An item
    that stops being fully paid forgets its reminder and overdue marks, so it is chased again.
    """
    i, p = items.c, payments.c
    rows = conn.execute(select(i.id, i.seq, i.amount_minor, i.paid_minor)
                        .where(i.plan_id == plan_id).order_by(i.due_date, i.seq)).all()
    active = conn.execute(select(p.id, p.amount_minor)
                          .where(p.plan_id == plan_id, p.reversed_at.is_(None)).order_by(p.id)).all()
    result = allocate([(r.id, r.amount_minor) for r in rows], [(r.id, r.amount_minor) for r in active])
    conn.execute(delete(allocations).where(allocations.c.plan_id == plan_id))
    if result.allocations:
        conn.execute(insert(allocations), [
            {"plan_id": plan_id, "payment_id": a.payment_id, "item_id": a.item_id, "amount_minor": a.amount_minor}
            for a in result.allocations
        ])
    changes = [
        {"seq": r.seq, "item_id": r.id, "before": r.paid_minor, "after": result.paid[r.id], "amount": r.amount_minor}
        for r in rows if result.paid[r.id] != r.paid_minor
    ]
    if changes:
        conn.execute(update(items).where(i.id == bindparam("b_id")).values(paid_minor=bindparam("b_paid")),
                     [{"b_id": c["item_id"], "b_paid": c["after"]} for c in changes])
        reopened = [c["item_id"] for c in changes if c["before"] == c["amount"] > c["after"]]
        if reopened:
            conn.execute(update(items).where(i.id.in_(reopened)).values(reminded_at=None, overdue_notified_at=None))
    conn.execute(update(plans).where(plans.c.id == plan_id).values(
        paid_minor=sum(result.paid.values()), credit_minor=result.credit_minor, updated_at=now,
        version=plans.c.version + 1))
    return changes
