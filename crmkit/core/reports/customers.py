"""Customer analytics in SQL: lifecycle stage, RFM scores and segments, cohort retention.

Each contact and each company is a customer of its own (a purchase with both counts
for both); the rules come from ``[settings.reports.lifecycle]`` (docs/reports.md):

* ``potential`` -- nothing bought yet;
* ``active`` -- bought within ``lost_days`` (default 365), fewer than ``regular_purchases``
  times (default 3);
* ``regular`` -- bought within ``lost_days``, ``regular_purchases`` times or more;
* ``lost`` -- bought before, nothing for ``lost_days``.

RFM: per card type, quintiles (``ntile(5)``, ties broken by id) of the last purchase
(recency: the latest scores 5), the number of purchases (frequency) and their amount in the
deployment's currency (monetary); the named segment comes from R and F (:data:`SEGMENTS`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, and_, case, func, literal, select, union_all
from sqlalchemy.sql import ColumnElement

from .. import schema
from ..errors import ConfigError
from .kpi_people import customer_key, lost_days
from .localtime import local_month_index, month_number
from .money_sum import money_of
from .purchases import purchases
from .result import Report
from .scope import LIFECYCLE, Scope, visible

if TYPE_CHECKING:  # pragma: no cover
    from ..app import Crm
    from ..services import Services

SEGMENTS = (
    ("champions", "R >= 4 and F >= 4"),
    ("loyal", "R >= 3 and F >= 3"),
    ("new", "R >= 4 and F = 1"),
    ("promising", "R >= 3"),
    ("at_risk", "R <= 2 and F >= 3"),
    ("hibernating", "R = 2"),
    ("lost", "R = 1"),
)
"""The RFM segments, the first matching rule wins (R, F: the recency and frequency scores, 1-5)."""
DEFAULT_REGULAR = 3


def regular_purchases(crm: "Crm") -> int:
    """Purchases that make a customer ``regular`` (``[settings.reports.lifecycle] regular_purchases``)."""
    value = crm.settings.for_plugin("reports").get("lifecycle", {}).get("regular_purchases", DEFAULT_REGULAR)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100000:
        raise ConfigError("crmkit.toml [settings.reports.lifecycle] regular_purchases: a whole number from 1")
    return value


def per_customer(services: "Services", scope: Scope | None = None) -> Any:
    """Per (``entity_type``, ``entity_id``): ``purchases``, ``first_at``, ``last_at`` and ``monetary``
    (minor units in the deployment's currency) over every purchase in scope."""
    p = purchases(services, scope)
    cur = services.crm.settings.default_currency
    money = case((p.c.currency == cur, p.c.amount_minor), else_=0)
    both = union_all(
        select(literal("contact", String).label("entity_type"), p.c.contact_id.label("entity_id"),
               p.c.occurred_at, money.label("minor")).where(p.c.contact_id.is_not(None)),
        select(literal("company", String), p.c.company_id, p.c.occurred_at, money)
        .where(p.c.company_id.is_not(None)),
    ).subquery("customer_purchases")
    return (select(both.c.entity_type, both.c.entity_id, func.count().label("purchases"),
                   func.min(both.c.occurred_at).label("first_at"), func.max(both.c.occurred_at).label("last_at"),
                   func.coalesce(func.sum(both.c.minor), 0).label("monetary"))
            .group_by(both.c.entity_type, both.c.entity_id).subquery("per_customer"))


def lifecycle_of(crm: "Crm", pc: Any) -> ColumnElement[str]:
    """The lifecycle stage of a :func:`per_customer` row (never ``potential``: it bought)."""
    now = crm.clock.now()
    return case((pc.c.last_at < now - timedelta(days=lost_days(crm)), "lost"),
                (pc.c.purchases >= regular_purchases(crm), "regular"), else_="active")


def scored(services: "Services", scope: Scope | None = None) -> Any:
    """:func:`per_customer` with ``lifecycle``, ``r``, ``f``, ``m`` (1-5) and ``segment``."""
    pc = per_customer(services, scope)
    part = pc.c.entity_type
    r = func.ntile(5).over(partition_by=part, order_by=(pc.c.last_at, pc.c.entity_id))
    f = func.ntile(5).over(partition_by=part, order_by=(pc.c.purchases, pc.c.entity_id))
    m = func.ntile(5).over(partition_by=part, order_by=(pc.c.monetary, pc.c.entity_id))
    inner = select(pc, lifecycle_of(services.crm, pc).label("lifecycle"), r.label("r"), f.label("f"),
                   m.label("m")).subquery("rfm")
    R, F = inner.c.r, inner.c.f
    rules = [and_(R >= 4, F >= 4), and_(R >= 3, F >= 3), and_(R >= 4, F == 1), R >= 3, and_(R <= 2, F >= 3), R == 2]
    segment = case(*[(cond, name) for cond, (name, _) in zip(rules, SEGMENTS)], else_="lost")
    return select(inner, segment.label("segment")).subquery("scored")


def lifecycle_report(services: "Services", scope: Scope) -> Report:
    """Contacts and companies the user may read, per lifecycle stage (as of now, from every purchase
    within the scope's team, manager, pipeline and channel)."""
    crm = services.crm
    pc = per_customer(services, scope)
    stage = case((pc.c.entity_id.is_(None), "potential"), else_=lifecycle_of(crm, pc))
    rows = []
    with crm.engine.connect() as conn:
        for entity, table in (("contact", schema.contacts), ("company", schema.companies)):
            q = (select(stage.label("lifecycle"), func.count().label("n"))
                 .select_from(table.outerjoin(pc, and_(pc.c.entity_type == entity, pc.c.entity_id == table.c.id)))
                 .where(table.c.archived_at.is_(None), *visible(services, entity, table)).group_by(stage))
            counts = {r.lifecycle: r.n for r in conn.execute(q)}
            rows += [{"entity_type": entity, "lifecycle": s, "customers": counts.get(s, 0)} for s in LIFECYCLE]
    return Report("lifecycle", ("entity_type", "lifecycle"), ("customers",), tuple(rows), scope)


def rfm_report(services: "Services", scope: Scope) -> Report:
    """Per card type and RFM segment: customers, their average R, F, M scores, purchases and amount."""
    crm = services.crm
    s = scored(services, scope)
    q = (select(s.c.entity_type, s.c.segment, func.count().label("customers"), func.avg(s.c.r).label("r"),
                func.avg(s.c.f).label("f"), func.avg(s.c.m).label("m"), func.sum(s.c.purchases).label("purchases"),
                func.sum(s.c.monetary).label("monetary"))
         .group_by(s.c.entity_type, s.c.segment))
    order = {name: i for i, (name, _) in enumerate(SEGMENTS)}
    cur = crm.settings.default_currency
    with crm.engine.connect() as conn:
        found = sorted(conn.execute(q), key=lambda r: (r.entity_type != "contact", order[r.segment]))
    rows = tuple({"entity_type": r.entity_type, "segment": r.segment, "customers": r.customers,
                  "avg_r": float(r.r), "avg_f": float(r.f), "avg_m": float(r.m), "purchases": int(r.purchases),
                  "amount": money_of(r.monetary, cur)} for r in found)
    return Report("rfm", ("entity_type", "segment"), ("customers", "avg_r", "avg_f", "avg_m", "purchases", "amount"),
                  rows, scope)


MONTHS = 12


def cohorts(services: "Services", scope: Scope) -> Report:
    """Customers (a deal's contact, else its company; plugins' purchases too) by the month (in the
    deployment's timezone) of their first purchase (cohorts starting in the period), and the share of each cohort that bought again
    1, 2, ... 12 months later (retention; churn is one minus it). ``None``: that month is still ahead."""
    crm = services.crm
    postgres = crm.engine.dialect.name == "postgresql"
    p = purchases(services, scope)
    cust = customer_key(p.c).label("cust")
    zone = crm.settings.timezone
    mi = local_month_index(p.c.occurred_at, zone, postgres=postgres).label("mi")
    per = select(cust, mi).where(cust.is_not(None)).subquery("per")
    first = select(per.c.cust, func.min(per.c.mi).label("first")).group_by(per.c.cust).subquery("first")
    offset = (per.c.mi - first.c.first).label("k")
    q = (select(first.c.first, offset, func.count(per.c.cust.distinct()).label("n"))
         .select_from(per.join(first, first.c.cust == per.c.cust))
         .where(offset <= MONTHS).group_by(first.c.first, offset))
    now_i = month_number(crm.clock.now(), zone)
    lo = None if scope.since is None else month_number(scope.since, zone)
    hi = None if scope.until is None else month_number(scope.until - timedelta(microseconds=1), zone)
    with crm.engine.connect() as conn:
        found = [r for r in conn.execute(q) if (lo is None or r.first >= lo) and (hi is None or r.first <= hi)]
    table: dict[int, dict[int, int]] = {}
    for r in found:  # aggregated cells (cohort x month), not rows of data
        table.setdefault(r.first, {})[r.k] = r.n
    rows = []
    for first_i in sorted(table):
        cells = table[first_i]
        size = cells.get(0, 0)
        row: dict[str, Any] = {"cohort": f"{first_i // 12:04d}-{first_i % 12 + 1:02d}", "customers": size}
        for k in range(1, MONTHS + 1):
            row[f"m{k}"] = None if first_i + k > now_i else cells.get(k, 0) / size
        rows.append(row)
    return Report("cohorts", ("cohort",), ("customers", *[f"m{k}" for k in range(1, MONTHS + 1)]), tuple(rows), scope)
