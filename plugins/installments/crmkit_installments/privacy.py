"""A person's installment plans in their personal-data export; their payment texts erased with them.

A plan is about the person when its deal (or its Installment control copy) is one of theirs. The
plan, its schedule and the amounts and dates of its payments are business records and stay; the
free texts a payment carries (``method``, ``reference`` -- a transfer's reference often names the
payer -- and ``reversal_reason``) lose every mention of the person. The same texts in the
``installments.*`` events are erased by the core with the rest of their deals' timelines.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_, select, update

from crmkit import Tx, hookimpl

from .config import NAME
from .records import load_payments, load_plan
from .tables import payments, plans

_TEXTS = ("method", "reference", "reversal_reason")


def about(subject: Any) -> ColumnElement[bool]:
    """The plans about ``subject`` (a ``crm_personal_data_*`` hook's data subject)."""
    return or_(plans.c.deal_id.in_(subject.deal_ids), plans.c.control_deal_id.in_(subject.deal_ids))


@hookimpl
def crm_personal_data_export(tx: Tx, subject: Any) -> dict[str, Any]:
    out = []
    for row in tx.conn.execute(select(plans).where(about(subject)).order_by(plans.c.id)).all():
        paid = load_payments(tx.conn, row.id, row.currency)
        out.append({**load_plan(tx.conn, row).to_json(), "payments": [p.to_json() for p in paid]})
    return {NAME: {"plans": out}}


@hookimpl
def crm_personal_data_erase(tx: Tx, subject: Any) -> dict[str, int]:
    plan_ids = select(plans.c.id).where(about(subject)).scalar_subquery()
    changed = 0
    for row in tx.conn.execute(select(payments).where(payments.c.plan_id.in_(plan_ids))).all():
        values: dict[str, Any] = {}
        for name in _TEXTS:
            old = row._mapping[name]
            new = subject.scrub(old)
            if new != old:
                length = getattr(payments.c[name].type, "length", None)
                values[name] = new[:length] if length else new
        if values:
            tx.conn.execute(update(payments).where(payments.c.id == row.id).values(**values))
            changed += 1
    return {payments.name: changed}
