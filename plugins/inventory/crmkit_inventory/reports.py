"""Stock analysis as SQL aggregates (one query each; Python only shapes the rows).

Periods are calendar days in the deployment's timezone, ``since`` and ``until`` inclusive
(default: the last 30 days up to today). Sales count when not voided; revenue is net of VAT
(line totals minus their VAT), cost is what the sale movements took from stock value (moving
average); margin = revenue - cost. Returns count in the period they are taken: their quantity,
their refund (net of VAT) and the cost they put back are subtracted from the sales figures.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import attrs
from sqlalchemy import and_, func, select, union_all

from crmkit import Crm, Money, ValidationError

from .quantity import qty
from .records import money, to_json
from .tables import movements, products, refunds, sale_lines, sales

WALK_IN, UNSEGMENTED = "walk-in", "unsegmented"
MAX_DAYS = 3660


@attrs.frozen
class Period:
    since: date
    until: date

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1


def period(crm: Crm, since: Any = None, until: Any = None) -> Period:
    """The period ``since``..``until`` (dates or ISO text), checked: at most 10 years, in order."""
    today = crm.clock.now().astimezone(crm.settings.tz).date()
    end = _date(until, "until") if until is not None else today
    start = _date(since, "since") if since is not None else end - timedelta(days=29)
    if start > end:
        raise ValidationError("since: after until", field="since")
    if (end - start).days >= MAX_DAYS:
        raise ValidationError(f"since: a period of at most {MAX_DAYS} days", field="since")
    return Period(start, end)


def _date(value: Any, field: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(f"{field}: {str(value)[:30]!r} is not a date (YYYY-MM-DD)", field=field) from None


def _bounds(crm: Crm, p: Period) -> tuple[datetime, datetime]:
    tz = crm.settings.tz
    start = datetime.combine(p.since, time.min, tz)
    end = datetime.combine(p.until, time.min, tz) + timedelta(days=1) if p.until < date.max else datetime.max.replace(
        tzinfo=tz)
    return start, end


@attrs.frozen
class ProductSales:
    sku: str
    name: str
    qty: Decimal
    revenue: Money  # net of VAT
    cost: Money
    margin: Money

    def to_json(self) -> dict[str, Any]:
        return to_json(self)


def _sales_per_product(crm: Crm, p: Period) -> Any:
    """Per product and currency: quantity, revenue net of VAT, cost and margin of the period's sales,
    less the period's returns (their refunds net of VAT and the cost they put back)."""
    s, ln, m, pr, rf = sales.c, sale_lines.c, movements.c, products.c, refunds.c
    start, end = _bounds(crm, p)
    sold = (select(pr.sku, pr.name, s.currency, ln.qty_milli.label("qty"),
                   (ln.total_minor - ln.vat_minor).label("revenue"), (-m.value_minor).label("cost"))
            .select_from(sale_lines.join(sales, s.id == ln.sale_id).join(movements, m.id == ln.movement_id)
                         .join(products, pr.id == ln.product_id))
            .where(s.voided_at.is_(None), s.created_at >= start, s.created_at < end))
    back = (select(pr.sku, pr.name, rf.currency, (-m.qty_milli).label("qty"),
                   (rf.vat_minor - rf.amount_minor).label("revenue"), (-m.value_minor).label("cost"))
            .select_from(refunds.join(movements, m.id == rf.movement_id).join(products, pr.id == m.product_id)
                         .join(sales, s.id == rf.sale_id))
            .where(s.voided_at.is_(None), rf.created_at >= start, rf.created_at < end))
    u = union_all(sold, back).subquery()
    revenue = func.sum(u.c.revenue).label("revenue")
    cost = func.sum(u.c.cost).label("cost")
    return (select(u.c.sku, u.c.name, u.c.currency, func.sum(u.c.qty).label("qty"), revenue, cost,
                   (revenue - cost).label("margin"))
            .group_by(u.c.sku, u.c.name, u.c.currency))


def best_sellers(crm: Crm, *, by: str = "qty", since: Any = None, until: Any = None,
                 limit: int = 10) -> list[ProductSales]:
    """The products that sold most in the period, by quantity (``by="qty"``) or by margin."""
    if by not in ("qty", "margin"):
        raise ValidationError("by: qty or margin", field="by")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 500:
        raise ValidationError("limit: 1 to 500", field="limit")
    query = _sales_per_product(crm, period(crm, since, until)).subquery()
    order = query.c.qty if by == "qty" else query.c.margin
    with crm.engine.connect() as conn:
        rows = conn.execute(select(query).order_by(order.desc(), query.c.sku).limit(limit))
        return [ProductSales(r.sku, r.name, qty(int(r.qty)), money(r.revenue, r.currency), money(r.cost, r.currency),
                             money(r.margin, r.currency)) for r in rows]


@attrs.frozen
class Margin:
    currency: str
    revenue: Money
    cost: Money
    margin: Money
    margin_percent: Decimal | None  # of revenue, 2 places half-up

    def to_json(self) -> dict[str, Any]:
        return to_json(self)


def gross_margin(crm: Crm, *, since: Any = None, until: Any = None) -> list[Margin]:
    """Revenue (net of VAT), cost of goods sold and gross margin in the period, per currency."""
    q = _sales_per_product(crm, period(crm, since, until)).subquery()
    query = (select(q.c.currency, func.sum(q.c.revenue).label("revenue"), func.sum(q.c.cost).label("cost"))
             .group_by(q.c.currency).order_by(q.c.currency))
    with crm.engine.connect() as conn:
        out = []
        for r in conn.execute(query):
            rev, cost = int(r.revenue), int(r.cost)
            pct = None if not rev else (Decimal(rev - cost) * 100 / rev).quantize(Decimal("0.01"), ROUND_HALF_UP)
            out.append(Margin(r.currency, money(rev, r.currency), money(cost, r.currency),
                              money(rev - cost, r.currency), pct))
        return out


@attrs.frozen
class Turnover:
    """``turnover_days``: stock value / cost of goods sold per day; ``days_left``: on hand / quantity
    sold per day (``None`` when nothing sold in the period). One decimal place, half-up."""

    sku: str
    name: str
    on_hand: Decimal
    value: Money
    sold: Decimal
    turnover_days: Decimal | None
    days_left: Decimal | None

    def to_json(self) -> dict[str, Any]:
        return to_json(self)


def turnover(crm: Crm, *, since: Any = None, until: Any = None) -> list[Turnover]:
    """Per product (all locations): stock now, quantity sold in the period, turnover days and days
    of stock left at the period's sales rate."""
    p = period(crm, since, until)
    start, end = _bounds(crm, p)
    m, pr = movements.c, products.c
    in_period = and_(m.kind.in_(("sale", "return")), m.created_at >= start, m.created_at < end)  # net of returns
    query = (select(pr.sku, pr.name, pr.currency, func.sum(m.qty_milli).label("held"),
                    func.sum(m.value_minor).label("value"),
                    func.coalesce(func.sum(-m.qty_milli).filter(in_period), 0).label("sold"),
                    func.coalesce(func.sum(-m.value_minor).filter(in_period), 0).label("cogs"))
             .select_from(movements.join(products, pr.id == m.product_id))
             .group_by(pr.sku, pr.name, pr.currency).order_by(pr.sku))
    tenth = Decimal("0.1")
    out = []
    with crm.engine.connect() as conn:
        for r in conn.execute(query):
            sold, cogs = int(r.sold), int(r.cogs)
            days = Decimal(p.days)
            turn = None if cogs <= 0 else (Decimal(int(r.value)) * days / cogs).quantize(tenth, ROUND_HALF_UP)
            left = None if sold <= 0 else (Decimal(int(r.held)) * days / sold).quantize(tenth, ROUND_HALF_UP)
            out.append(Turnover(r.sku, r.name, qty(int(r.held)), money(r.value, r.currency), qty(sold), turn, left))
    return out


@attrs.frozen
class Shrinkage:
    """What write-offs and count adjustments took (positive: lost; a count surplus is negative)."""

    sku: str
    reason: str
    qty: Decimal
    value: Money

    def to_json(self) -> dict[str, Any]:
        return to_json(self)


def shrinkage(crm: Crm, *, since: Any = None, until: Any = None) -> list[Shrinkage]:
    """Loss by product and reason in the period, from write-offs and count adjustments (their
    reversals net out)."""
    start, end = _bounds(crm, period(crm, since, until))
    m, pr = movements.c, products.c
    query = (select(pr.sku, m.reason, m.currency, func.sum(-m.qty_milli).label("lost"),
                    func.sum(-m.value_minor).label("value"))
             .select_from(movements.join(products, pr.id == m.product_id))
             .where(m.kind.in_(("write_off", "adjustment")), m.created_at >= start, m.created_at < end)
             .group_by(pr.sku, m.reason, m.currency)
             .having(func.sum(m.qty_milli) != 0).order_by(pr.sku, m.reason))
    with crm.engine.connect() as conn:
        return [Shrinkage(r.sku, r.reason, qty(int(r.lost)), money(r.value, r.currency)) for r in conn.execute(query)]


@attrs.frozen
class SegmentSales:
    segment: str
    members: int
    receipts: int
    revenue: Money  # net of VAT

    def to_json(self) -> dict[str, Any]:
        return to_json(self)


def sales_by_segment(crm: Crm, *, since: Any = None, until: Any = None) -> list[SegmentSales]:
    """Sales per member segment: sums per contact in SQL, the segment of each contact from the hook
    ``inventory_member_segments`` (e.g. fitness phases), walk-ins as ``"walk-in"``."""
    start, end = _bounds(crm, period(crm, since, until))
    s = sales.c
    query = (select(s.contact_id, s.currency, func.count().label("n"), func.sum(s.total_minor - s.vat_minor)
                    .label("revenue"))
             .where(s.voided_at.is_(None), s.created_at >= start, s.created_at < end)
             .group_by(s.contact_id, s.currency))
    rf = refunds.c
    back = (select(rf.contact_id, rf.currency, func.sum(rf.amount_minor - rf.vat_minor).label("refunded"))
            .join_from(refunds, sales, s.id == rf.sale_id)
            .where(s.voided_at.is_(None), rf.created_at >= start, rf.created_at < end)
            .group_by(rf.contact_id, rf.currency))
    with crm.engine.connect() as conn:
        rows = conn.execute(query).all()
        refunded = {(r.contact_id, r.currency): int(r.refunded) for r in conn.execute(back)}
    ids = sorted({r.contact_id for r in rows if r.contact_id is not None} | {c for c, _ in refunded if c is not None})
    found = crm.pm.hook.inventory_member_segments(crm=crm, contact_ids=ids) if ids else None
    segments = dict(found or {})
    totals: dict[tuple[str, str], list[Any]] = {}
    for r in rows:
        seg = WALK_IN if r.contact_id is None else str(segments.get(r.contact_id) or UNSEGMENTED)
        acc = totals.setdefault((seg, r.currency), [set(), 0, 0])
        if r.contact_id is not None:
            acc[0].add(r.contact_id)
        acc[1] += int(r.n)
        acc[2] += int(r.revenue)
    for (contact_id, cur), minus in refunded.items():  # returns in the period, of sales of any period
        seg = WALK_IN if contact_id is None else str(segments.get(contact_id) or UNSEGMENTED)
        acc = totals.setdefault((seg, cur), [set(), 0, 0])
        acc[2] -= minus
    return [SegmentSales(seg, len(a[0]), a[1], money(a[2], cur)) for (seg, cur), a in sorted(totals.items())]
