"""The money side of a customer return: what the customer gets back, recorded with the return.

A return of ``q`` out of a sale line of ``S`` units that cost the customer ``T`` (VAT ``V``
included), ``R`` already returned, refunds ``round(T × (R + q) / S) − round(T × R / S)`` with VAT
``round(V × (R + q) / S) − round(V × R / S)`` (half up): all returns of a line together give back
exactly its total. The refund goes the way the sale was paid: cash and card are recorded as paid
out; a tab sale is credited to the member's tab (an entry ``refund``, the balance lowered).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import func, insert, select, update

from crmkit import Money, Tx, ValidationError

from .quantity import round_half_up
from .records import money, to_json
from .tables import refunds, sale_lines, sales, tab_entries, tabs


@attrs.frozen
class Refund:
    id: int
    movement_id: int  # the return movement
    sale_id: int
    contact_id: int | None
    amount: Money  # VAT included
    vat: Money
    method: str  # cash | card | tab
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return to_json(self)


def record(tx: Tx, sale_movement_id: int, return_movement_id: int, returned_before: int, q: int) -> Refund:
    """Record the refund of returning ``q`` (thousandths) more of sale movement ``sale_movement_id``."""
    line = tx.conn.execute(select(sale_lines).where(sale_lines.c.movement_id == sale_movement_id)).first()
    if line is None:
        raise ValidationError(f"movement_id: {sale_movement_id} belongs to no sale line", field="movement_id")
    sale = tx.conn.execute(select(sales).where(sales.c.id == line.sale_id)).one()
    total, vat, size = line.total_minor, line.vat_minor, line.qty_milli
    amount = round_half_up(total * (returned_before + q), size) - round_half_up(total * returned_before, size)
    vat_part = round_half_up(vat * (returned_before + q), size) - round_half_up(vat * returned_before, size)
    new = tx.conn.execute(insert(refunds).values(
        movement_id=return_movement_id, sale_id=sale.id, line_id=line.id, contact_id=sale.contact_id,
        currency=sale.currency, amount_minor=amount, vat_minor=vat_part, method=sale.payment,
        created_by=tx.actor_id, created_at=tx.now)).inserted_primary_key[0]
    if sale.payment == "tab" and amount:
        tab = tx.conn.execute(select(tabs).where(tabs.c.contact_id == sale.contact_id).with_for_update()).one()
        tx.conn.execute(insert(tab_entries).values(
            tab_id=tab.id, kind="refund", amount_minor=-amount, sale_id=sale.id, method="return",
            created_by=tx.actor_id, created_at=tx.now))
        tx.conn.execute(update(tabs).where(tabs.c.id == tab.id).values(
            balance_minor=tabs.c.balance_minor - amount, version=tabs.c.version + 1))
    return Refund(int(new), return_movement_id, sale.id, sale.contact_id, money(amount, sale.currency),
                  money(vat_part, sale.currency), sale.payment, tx.now)


def refund_of(conn: Any, return_movement_id: int) -> Refund | None:
    """The refund recorded with a return movement (``None``: a return from before refunds were recorded)."""
    r = conn.execute(select(refunds).where(refunds.c.movement_id == return_movement_id)).first()
    if r is None:
        return None
    return Refund(r.id, r.movement_id, r.sale_id, r.contact_id, money(r.amount_minor, r.currency),
                  money(r.vat_minor, r.currency), r.method, r.created_at)


def refunded(conn: Any, sale_id: int) -> int:
    """Minor units refunded on a sale so far."""
    return int(conn.scalar(select(func.coalesce(func.sum(refunds.c.amount_minor), 0))
                           .where(refunds.c.sale_id == sale_id)) or 0)

