"""KPIs of requests: leads to deals per 100, handling time, and results by advertising channel.

Each is one or two SQL aggregates (definitions: docs/reports.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Float, String, case, cast, exists, func, literal, select, union_all
from sqlalchemy.sql import ColumnElement, Select

from .. import schema
from .result import Report
from .scope import Scope, deal_scope, lead_scope, pipeline_id
from .sqlfn import epoch, percentiles, seconds
from .money_sum import money_of, scope_currency

if TYPE_CHECKING:  # pragma: no cover
    from ..services import Services

NONE = "(none)"


def _has_deal(services: "Services", scope: Scope, lead_id: Any, *, won: bool = False) -> ColumnElement[bool]:
    """Whether the lead has a deal (a won one; in the scope's pipeline): an index look-up per lead."""
    d = schema.deals.alias("lead_deal")
    conds = [d.c.lead_id == lead_id]
    if won:
        conds.append(d.c.status == "won")
    pid = pipeline_id(services.crm, scope)
    if pid is not None:
        conds.append(d.c.pipeline_id == pid)
    return exists().where(*conds)


def _lead_deals(services: "Services", scope: Scope) -> Any:
    """Per lead with a deal (in the scope's pipeline): whether one was won (1/0)."""
    d = schema.deals.c
    q = select(d.lead_id, func.max(case((d.status == "won", 1), else_=0)).label("won")).where(d.lead_id.is_not(None))
    pid = pipeline_id(services.crm, scope)
    if pid is not None:
        q = q.where(d.pipeline_id == pid)
    return q.group_by(d.lead_id).subquery("lead_deals")


def _leads_with_figures(services: "Services", scope: Scope, *keys: Any) -> Select[Any]:
    """``keys``, leads, deals, won, deals_per_100, won_per_100 over the leads in scope, grouped by
    ``keys``. Few leads (a scope, record rules): an index look-up of each lead's deals; every
    lead: one hash join with the deals grouped by lead (2x faster for a whole table)."""
    ld = schema.leads
    conds = lead_scope(services, scope)
    leads = func.count(ld.c.id)
    if conds:
        deals = func.count(case((_has_deal(services, scope, ld.c.id), 1)))
        won = func.count(case((_has_deal(services, scope, ld.c.id, won=True), 1)))
        q = select(*keys, leads.label("leads"), deals.label("deals"), won.label("won")).where(*conds)
    else:
        ldl = _lead_deals(services, scope)
        deals, won = func.count(ldl.c.lead_id), func.count(case((ldl.c.won == 1, 1)))
        q = (select(*keys, leads.label("leads"), deals.label("deals"), won.label("won"))
             .select_from(ld.outerjoin(ldl, ldl.c.lead_id == ld.c.id)))
    q = q.add_columns(_per_100(deals, leads).label("deals_per_100"), _per_100(won, leads).label("won_per_100"))
    return q.group_by(*keys) if keys else q


def _per_100(part: ColumnElement[Any], whole: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((whole > 0, cast(part, Float) * 100.0 / whole), else_=None)


def conversion(services: "Services", scope: Scope) -> Report:
    """Leads created in the period; of them, how many got a deal and how many a won deal (per 100)."""
    q = _leads_with_figures(services, scope)
    with services.crm.engine.connect() as conn:
        r = conn.execute(q).one()
    return Report("conversion", (), ("leads", "deals", "won", "deals_per_100", "won_per_100"),
                  (dict(r._mapping),), scope)


def handling_time(services: "Services", scope: Scope) -> Report:
    """For leads created in the period: seconds from creation to the first action by a person,
    to qualification (first stage move or conversion) and to conversion; median and p90."""
    crm = services.crm
    postgres = crm.engine.dialect.name == "postgresql"
    ld, e, t = schema.leads.c, schema.events.c, schema.tasks.c
    scoped = (select(ld.id, ld.created_at, ld.status, ld.closed_at).where(*lead_scope(services, scope))
              .cte("scoped").prefix_with("MATERIALIZED"))
    # the leads in scope drive: their events and tasks by index, never the whole event log
    on_lead = (e.entity_type == "lead") & (e.entity_id == scoped.c.id)
    acted = union_all(
        select(scoped.c.id.label("lead_id"), e.occurred_at.label("at"))
        .select_from(scoped.join(schema.events, on_lead))
        .where(e.type != "lead.created", e.actor_id.is_not(None)),
        select(scoped.c.id, t.completed_at)
        .select_from(scoped.join(schema.tasks, (t.entity_type == "lead") & (t.entity_id == scoped.c.id)))
        .where(t.status == "done"),
    ).subquery("acted")
    first = select(acted.c.lead_id, func.min(acted.c.at).label("at")).group_by(acted.c.lead_id).subquery("first")
    qual = (select(scoped.c.id.label("lead_id"), func.min(e.occurred_at).label("at"))
            .select_from(scoped.join(schema.events, on_lead))
            .where(e.type.in_(("lead.stage_changed", "lead.converted")))
            .group_by(scoped.c.id).subquery("qualified"))
    created = epoch(scoped.c.created_at, postgres=postgres)

    def measure(name: str, source: Any, at: Any, *conds: Any) -> Any:
        q = select(literal(name, String).label("measure"), (epoch(at, postgres=postgres) - created).label("secs"))
        if source is not None:
            q = q.select_from(scoped.join(source, source.c.lead_id == scoped.c.id))
        else:
            q = q.select_from(scoped)
        return q.where(*conds)

    stays = union_all(
        measure("first_action", first, first.c.at),
        measure("qualified", qual, qual.c.at),
        measure("converted", None, scoped.c.closed_at, scoped.c.status == "converted"),
    ).subquery("stays")
    q = percentiles(stays, "secs", ["measure"], (0.5, 0.9), postgres=postgres)
    with crm.engine.connect() as conn:
        found = {r.measure: r for r in conn.execute(q)}
        total = conn.scalar(select(func.count()).select_from(scoped))
    rows = []
    for name in ("first_action", "qualified", "converted"):
        r = found.get(name)
        rows.append({"measure": name, "leads": total, "measured": r.n if r is not None else 0,
                     "median_seconds": seconds(r.p50) if r is not None else None,
                     "p90_seconds": seconds(r.p90) if r is not None else None})
    return Report("handling_time", ("measure",), ("leads", "measured", "median_seconds", "p90_seconds"),
                  tuple(rows), scope)


def channels(services: "Services", scope: Scope) -> Report:
    """Per channel and UTM source: leads created in the period, how many got a deal and a won
    deal (per 100), and the amount of deals won in the period (in the report's currency)."""
    crm = services.crm
    currency = scope_currency(crm, scope)
    ld, d = schema.leads, schema.deals
    lkey = (ld.c.source.label("channel"), func.coalesce(ld.c.utm_source, NONE).label("utm_source"))
    lq = _leads_with_figures(services, scope, *lkey)
    dkey = (d.c.source.label("channel"), func.coalesce(d.c.utm_source, NONE).label("utm_source"))
    dq = (select(*dkey, func.count().label("won_deals"), func.sum(d.c.amount_minor).label("minor"))
          .where(d.c.status == "won", d.c.currency == currency, *deal_scope(services, scope, dated=d.c.closed_at))
          .group_by(*dkey))
    with crm.engine.connect() as conn:
        rows: dict[tuple[str, str], dict[str, Any]] = {
            (r.channel, r.utm_source): {**r._mapping, "won_deals": 0, "won_amount": money_of(0, currency)}
            for r in conn.execute(lq)}
        for r in conn.execute(dq):
            row = rows.setdefault((r.channel, r.utm_source), {
                "channel": r.channel, "utm_source": r.utm_source, "leads": 0, "deals": 0, "won": 0,
                "deals_per_100": None, "won_per_100": None})
            row["won_deals"], row["won_amount"] = r.won_deals, money_of(r.minor or 0, currency)
    ordered = sorted(rows.values(), key=lambda r: (-r["leads"], r["channel"], r["utm_source"]))
    return Report("channels", ("channel", "utm_source"),
                  ("leads", "deals", "won", "deals_per_100", "won_per_100", "won_deals", "won_amount"),
                  tuple(ordered), scope)


