"""The shapes the plugin returns: frozen attrs records with amounts as :class:`crmkit.Money`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import attrs
from sqlalchemy import Connection, Row, select

from crmkit import Money

from .tables import allocations, items, payments


def _json(record: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in attrs.asdict(record, recurse=False).items():
        if hasattr(value, "to_json"):  # Money and nested records
            value = value.to_json()
        elif isinstance(value, tuple):
            value = [v.to_json() if hasattr(v, "to_json") else v for v in value]
        elif isinstance(value, (date, datetime)):
            value = value.isoformat()
        out[key] = value
    return out


@attrs.frozen
class Item:
    """One scheduled payment: due ``due_date``, ``amount``, of which ``paid`` has been received."""

    seq: int
    due_date: date
    amount: Money
    paid: Money

    @property
    def outstanding(self) -> Money:
        return Money(self.amount.amount - self.paid.amount, self.amount.currency)

    def to_json(self) -> dict[str, Any]:
        return {**_json(self), "outstanding": self.outstanding.to_json()}


@attrs.frozen
class Plan:
    """An installment plan on ``deal_id``; ``control_deal_id`` is its copy in Installment control.

    ``financed = total - down_payment == paid + outstanding``; ``credit`` is what was
    received beyond the whole schedule.
    """

    id: int
    deal_id: int
    control_deal_id: int | None
    status: str
    total: Money
    down_payment: Money
    financed: Money
    paid: Money
    outstanding: Money
    credit: Money
    items: tuple[Item, ...]
    created_at: datetime
    version: int

    def to_json(self) -> dict[str, Any]:
        return _json(self)


@attrs.frozen
class Allocation:
    """``amount`` of a payment settled scheduled payment number ``seq``."""

    seq: int
    amount: Money

    def to_json(self) -> dict[str, Any]:
        return _json(self)


@attrs.frozen
class Payment:
    """A received payment; ``reversed_at`` is set once it is reversed (it then counts for nothing)."""

    id: int
    plan_id: int
    amount: Money
    paid_on: date
    method: str
    reference: str
    recorded_by: int | None
    recorded_at: datetime
    reversed_by: int | None
    reversed_at: datetime | None
    reversal_reason: str | None
    allocations: tuple[Allocation, ...]

    def to_json(self) -> dict[str, Any]:
        return _json(self)


def money(minor: int, currency: str) -> Money:
    return Money.from_minor(int(minor or 0), currency)


def load_plan(conn: Connection, row: Row[Any]) -> Plan:
    """The plan of ``row`` (an ``installments_plans`` row) with its schedule."""
    cur = row.currency
    its = conn.execute(select(items).where(items.c.plan_id == row.id).order_by(items.c.seq)).all()
    return Plan(
        id=row.id, deal_id=row.deal_id, control_deal_id=row.control_deal_id, status=row.status,
        total=money(row.total_minor, cur), down_payment=money(row.down_payment_minor, cur),
        financed=money(row.financed_minor, cur), paid=money(row.paid_minor, cur),
        outstanding=money(row.financed_minor - row.paid_minor, cur), credit=money(row.credit_minor, cur),
        items=tuple(Item(i.seq, i.due_date, money(i.amount_minor, cur), money(i.paid_minor, cur)) for i in its),
        created_at=row.created_at, version=row.version,
    )


def load_payments(conn: Connection, plan_id: int, currency: str, payment_id: int | None = None) -> list[Payment]:
    """The plan's payments in recording order (or only ``payment_id``), with their allocations."""
    p, a, i = payments.c, allocations.c, items.c
    query = select(payments).where(p.plan_id == plan_id).order_by(p.id)
    if payment_id is not None:
        query = query.where(p.id == payment_id)
    rows = conn.execute(query).all()
    alloc: dict[int, list[Allocation]] = {}
    for r in conn.execute(select(a.payment_id, i.seq, a.amount_minor).join(items, items.c.id == a.item_id)
                          .where(a.plan_id == plan_id).order_by(a.id)):
        alloc.setdefault(r.payment_id, []).append(Allocation(r.seq, money(r.amount_minor, currency)))
    return [Payment(
        id=r.id, plan_id=r.plan_id, amount=money(r.amount_minor, currency), paid_on=r.paid_on, method=r.method,
        reference=r.reference, recorded_by=r.recorded_by, recorded_at=r.recorded_at, reversed_by=r.reversed_by,
        reversed_at=r.reversed_at, reversal_reason=r.reversal_reason, allocations=tuple(alloc.get(r.id, ())),
    ) for r in rows]
