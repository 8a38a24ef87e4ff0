"""Reports as SQL aggregates: aging of unpaid installments and the expected cash-in by month.

Both cover active plans (in Installment control, not paid off or written off) on the
control deals the acting user may see, one row per currency (amounts of different
currencies are never added up).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import attrs
from sqlalchemy import Select, case, extract, func, select

from crmkit import Crm, Money, ValidationError, schema

from .config import local_date
from .records import money
from .tables import items, plans

BUCKETS = ("current", "days_1_30", "days_31_60", "days_61_90", "days_over_90")


@attrs.frozen
class AgingRow:
    """Unpaid amounts by days past due; ``responsible_id`` is ``None`` in the total rows."""

    responsible_id: int | None
    responsible_name: str | None
    currency: str
    current: Money
    days_1_30: Money
    days_31_60: Money
    days_61_90: Money
    days_over_90: Money
    total: Money

    def to_json(self) -> dict[str, Any]:
        return {k: v.to_json() if isinstance(v, Money) else v for k, v in attrs.asdict(self, recurse=False).items()}


@attrs.frozen
class CashIn:
    """What is expected in ``month`` (``YYYY-MM``): the unpaid part of the items due then."""

    month: str
    currency: str
    expected: Money
    items: int

    def to_json(self) -> dict[str, Any]:
        return {"month": self.month, "currency": self.currency, "expected": self.expected.to_json(),
                "items": self.items}


def _base(crm: Crm, actor_id: int | None, *columns: Any) -> Select[Any]:
    i, p, d = items.c, plans.c, schema.deals.c
    query = (select(*columns).select_from(items.join(plans, p.id == i.plan_id)
                                          .join(schema.deals, d.id == p.control_deal_id))
             .where(p.status == "active", i.paid_minor < i.amount_minor))
    visible = crm.as_user(actor_id).access.visible("deal", schema.deals)
    return query if visible is None else query.where(visible)


def aging(crm: Crm, actor_id: int | None = None, *, today: date | None = None) -> tuple[list[AgingRow], list[AgingRow]]:
    """(per manager, totals): unpaid amounts in the buckets current (not yet due), 1-30, 31-60,
    61-90 and over 90 days past due, on ``today`` (default: today in the deployment's timezone)."""
    day = today or local_date(crm, crm.clock.now())
    i, p, d, u = items.c, plans.c, schema.deals.c, schema.users.c
    due = i.amount_minor - i.paid_minor
    limits = [day] + [_days_before(day, n) for n in (30, 60, 90)]
    conds = [i.due_date >= limits[0]] + [
        (i.due_date < hi) & (i.due_date >= lo) for hi, lo in zip(limits, limits[1:])] + [i.due_date < limits[3]]
    sums = [func.coalesce(func.sum(case((cond, due), else_=0)), 0).label(name) for cond, name in zip(conds, BUCKETS)]
    total = func.coalesce(func.sum(due), 0).label("total")
    per = (_base(crm, actor_id, d.responsible_id, u.name, p.currency, *sums, total)
           .outerjoin(schema.users, u.id == d.responsible_id)
           .group_by(d.responsible_id, u.name, p.currency).order_by(p.currency, d.responsible_id))
    totals = _base(crm, actor_id, p.currency, *sums, total).group_by(p.currency).order_by(p.currency)
    with crm.engine.connect() as conn:
        managers = [_row(r, r.responsible_id, r.name) for r in conn.execute(per)]
        overall = [_row(r, None, None) for r in conn.execute(totals)]
    return managers, overall


def _days_before(day: date, days: int) -> date:
    """``day`` minus ``days``, no earlier than 0001-01-01 (the first date there is)."""
    return day - timedelta(days=days) if day - date.min >= timedelta(days=days) else date.min


def _row(r: Any, responsible_id: int | None, name: str | None) -> AgingRow:
    cur = r.currency
    buckets = {b: money(int(getattr(r, b)), cur) for b in BUCKETS}
    return AgingRow(responsible_id=responsible_id, responsible_name=name, currency=cur, total=money(int(r.total), cur),
                    **buckets)


def cash_in(crm: Crm, actor_id: int | None = None, *, months: int = 12, today: date | None = None) -> list[CashIn]:
    """Expected cash-in by month of due date, up to ``months`` months ahead; unpaid items already
    past due stay in their own (past) months."""
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 120:
        raise ValidationError("months: a whole number from 1 to 120", field="months")
    from .schedule import add_months

    day = today or local_date(crm, crm.clock.now())
    i, p = items.c, plans.c
    year, month = extract("year", i.due_date).label("y"), extract("month", i.due_date).label("m")
    query = (_base(crm, actor_id, year, month, p.currency, func.sum(i.amount_minor - i.paid_minor).label("due"),
                   func.count().label("n"))
             .group_by(year, month, p.currency).order_by(year, month, p.currency))
    try:
        query = query.where(i.due_date < add_months(day.replace(day=1), months))
    except ValueError:  # the window ends after 9999-12-31: every later item is in it
        pass
    with crm.engine.connect() as conn:
        return [CashIn(f"{int(r.y):04d}-{int(r.m):02d}", r.currency, money(int(r.due), r.currency), int(r.n))
                for r in conn.execute(query)]
