"""KPIs of people and the customer base: manager performance, tasks on time, base growth per month.

Each is a few SQL aggregates (definitions: docs/reports.md).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, literal, literal_column, select, union_all

from .. import schema
from ..errors import ConfigError
from .money_sum import money_of, scope_currency
from .result import Report
from .scope import Scope, deal_scope, lead_scope, period, responsible, visible
from .localtime import local_month, local_month_of_epoch, month_key
from .sqlfn import epoch

if TYPE_CHECKING:  # pragma: no cover
    from ..app import Crm
    from ..services import Services

DEFAULT_LOST_DAYS = 365


def managers(services: "Services", scope: Scope) -> Report:
    """Per responsible user: leads created in the period and how many were converted (per 100),
    deals won in the period and their amount (in the report's currency), open tasks overdue now."""
    crm = services.crm
    currency = scope_currency(crm, scope)
    ld, d, t, u = schema.leads.c, schema.deals.c, schema.tasks, schema.users.c
    now = crm.clock.now()
    lq = (select(ld.responsible_id.label("uid"), func.count().label("leads"),
                 func.count(case((ld.status == "converted", 1))).label("converted"),
                 literal(0).label("won"), literal(0).label("minor"), literal(0).label("overdue"))
          .where(ld.responsible_id.is_not(None), *lead_scope(services, scope)).group_by(ld.responsible_id))
    dq = (select(d.responsible_id, literal(0), literal(0), func.count(),
                 func.coalesce(func.sum(case((d.currency == currency, d.amount_minor))), 0), literal(0))
          .where(d.status == "won", d.responsible_id.is_not(None), *deal_scope(services, scope, dated=d.closed_at))
          .group_by(d.responsible_id))
    tq = (select(t.c.assignee_id, literal(0), literal(0), literal(0), literal(0), func.count())
          .where(t.c.status == "open", t.c.due_at < now, t.c.assignee_id.is_not(None),
                 *visible(services, "task", t), *responsible(scope, t.c.assignee_id))
          .group_by(t.c.assignee_id))
    parts = union_all(lq, dq, tq).subquery("parts")
    agg = (select(parts.c.uid, func.sum(parts.c.leads).label("leads"), func.sum(parts.c.converted).label("converted"),
                  func.sum(parts.c.won).label("won"), func.sum(parts.c.minor).label("minor"),
                  func.sum(parts.c.overdue).label("overdue"))
           .group_by(parts.c.uid).subquery("agg"))
    q = (select(agg, u.name, u.email).join(schema.users, u.id == agg.c.uid).order_by(u.name, u.id))
    with crm.engine.connect() as conn:
        found = conn.execute(q).all()
    rows = tuple({
        "manager_id": r.uid, "manager": r.name, "leads": int(r.leads), "converted": int(r.converted),
        "converted_per_100": int(r.converted) * 100 / int(r.leads) if r.leads else None,
        "won": int(r.won), "won_amount": money_of(r.minor, currency), "overdue_tasks": int(r.overdue),
    } for r in found)
    return Report("managers", ("manager_id", "manager"),
                  ("leads", "converted", "converted_per_100", "won", "won_amount", "overdue_tasks"), rows, scope)


def tasks(services: "Services", scope: Scope) -> Report:
    """Per assignee: tasks with a due time done in the period, on time (done by their due time)
    and late, the share on time; and open tasks overdue now. The last row (``assignee_id`` None)
    is everyone's."""
    crm = services.crm
    t, u = schema.tasks, schema.users.c
    now = crm.clock.now()
    done_in = period(scope, t.c.completed_at)
    done = (t.c.status == "done") & t.c.due_at.is_not(None)
    for c in done_in:
        done = done & c
    on_time = func.count(case((done & (t.c.completed_at <= t.c.due_at), 1)))
    late = func.count(case((done & (t.c.completed_at > t.c.due_at), 1)))
    overdue = func.count(case(((t.c.status == "open") & (t.c.due_at < now), 1)))
    conds = [t.c.due_at.is_not(None), *visible(services, "task", t), *responsible(scope, t.c.assignee_id)]
    figures = (on_time.label("on_time"), late.label("late"), overdue.label("overdue"))
    per = select(t.c.assignee_id, *figures).where(*conds).group_by(t.c.assignee_id)
    everyone = select(*figures).where(*conds)
    with crm.engine.connect() as conn:
        found = conn.execute(per).all()
        total = conn.execute(everyone).one()
        ids = [r.assignee_id for r in found if r.assignee_id is not None]
        names = dict(conn.execute(select(u.id, u.name).where(u.id.in_(ids))).all()) if ids else {}
    found.sort(key=lambda r: (names.get(r.assignee_id, ""), r.assignee_id or 0))  # one row per assignee

    def row(ident: int | None, name: str, r: Any) -> dict[str, Any]:
        done_n = r.on_time + r.late
        return {"assignee_id": ident, "assignee": name, "done": done_n, "on_time": r.on_time, "late": r.late,
                "on_time_share": r.on_time / done_n if done_n else None, "overdue_open": r.overdue}

    rows = [row(r.assignee_id, names.get(r.assignee_id, "(unassigned)"), r) for r in found
            if r.on_time or r.late or r.overdue]
    rows.append(row(None, "(all)", total))
    return Report("tasks", ("assignee_id", "assignee"), ("done", "on_time", "late", "on_time_share", "overdue_open"),
                  tuple(rows), scope)


def lost_days(crm: "Crm") -> int:
    """Days without a won deal after which a customer counts as lost (``[settings.reports.lifecycle]
    lost_days``, default 365)."""
    value = crm.settings.for_plugin("reports").get("lifecycle", {}).get("lost_days", DEFAULT_LOST_DAYS)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 36500:
        raise ConfigError("crmkit.toml [settings.reports.lifecycle] lost_days: whole days from 1 to 36500")
    return value


def customer_key(d: Any) -> Any:
    """A deal's customer: its contact, else its company (``2 * contact id`` or ``2 * company id + 1``)."""
    return case((d.contact_id.is_not(None), d.contact_id * 2), (d.company_id.is_not(None), d.company_id * 2 + 1))


def base_growth(services: "Services", scope: Scope) -> Report:
    """Per month (in the deployment's timezone) of the period: customers won (a first won deal, or one after a lapse),
    customers lost (``lost_days`` after their last won deal with no other won deal in between),
    the net change and the customer base at the month's end."""
    crm = services.crm
    postgres = crm.engine.dialect.name == "postgresql"
    zone = crm.settings.timezone
    d = schema.deals.c
    k = float(lost_days(crm) * 86400)
    now_s = epoch(literal(crm.clock.now(), schema.deals.c.closed_at.type), postgres=postgres)
    # the customer and time as columns first: both windows then share one partition and order
    # (one sort), which expressions with their own bound parameters would not
    base_rows = (select(customer_key(d).label("cust"), d.id, d.closed_at,
                        epoch(d.closed_at, postgres=postgres).label("at"))
                 .where(d.status == "won", d.closed_at.is_not(None), *deal_scope(services, scope))
                 .cte("won_deals").prefix_with("MATERIALIZED"))  # computed once per row, not per use
    w = base_rows.c
    order = (w.closed_at, w.id)
    won = (select(w.cust, w.at, w.closed_at,
                  func.lag(w.at).over(partition_by=w.cust, order_by=order).label("prev"),
                  func.lead(w.at).over(partition_by=w.cust, order_by=order).label("nxt"))
           .where(w.cust.is_not(None)).cte("won"))
    gap = literal_column(repr(k))
    lapse = won.c.at + gap
    events = union_all(
        select(local_month(won.c.closed_at, zone, postgres=postgres).label("month"), literal(1).label("new"),
               literal(0).label("lost")).where((won.c.prev.is_(None)) | (won.c.at - won.c.prev > gap)),
        select(local_month_of_epoch(lapse, zone, postgres=postgres), literal(0), literal(1))
        .where(((won.c.nxt.is_(None)) | (won.c.nxt - won.c.at > gap)) & (lapse <= now_s)),
    ).subquery("changes")
    per = (select(events.c.month, func.sum(events.c.new).label("new"), func.sum(events.c.lost).label("lost"))
           .group_by(events.c.month).subquery("per_month"))
    net = per.c.new - per.c.lost
    base = func.sum(net).over(order_by=per.c.month)
    q = select(per.c.month, per.c.new, per.c.lost, net.label("net"), base.label("base")).order_by(per.c.month)
    first = None if scope.since is None else month_key(scope.since, zone)
    last = None if scope.until is None else month_key(scope.until - timedelta(microseconds=1), zone)
    with crm.engine.connect() as conn:
        found = conn.execute(q).all()
    rows = tuple({"month": r.month, "new": int(r.new), "lost": int(r.lost), "net": int(r.net), "base": int(r.base)}
                 for r in found if (first is None or r.month >= first) and (last is None or r.month <= last))
    return Report("base_growth", ("month",), ("new", "lost", "net", "base"), rows, scope)

