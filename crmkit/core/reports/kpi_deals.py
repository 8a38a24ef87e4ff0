"""KPIs of deals: average check, the funnel, time in stage and stalled deals, lost reasons.

Each is one or two SQL aggregates (definitions: docs/reports.md).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Mapping

import attrs
from sqlalchemy import and_, case, func, literal_column, or_, select

from .. import schema
from ..errors import ConfigError
from .funnel import current_query, history_query
from .money_sum import average_of, money_of
from .result import Report
from .scope import Scope, deal_scope, period
from .sqlfn import epoch, percentiles, seconds

if TYPE_CHECKING:  # pragma: no cover
    from ..app import Crm
    from ..services import Services

NONE = "(none)"
DEFAULT_STALL_DAYS = 14.0


def average_check(services: "Services", scope: Scope) -> Report:
    """Deals won in the period that have an amount, per currency: how many, the total, the average."""
    d = schema.deals.c
    q = (select(d.currency, func.count().label("won"), func.sum(d.amount_minor).label("minor"))
         .where(d.status == "won", d.amount_minor.is_not(None), d.currency.is_not(None),
                *deal_scope(services, scope, dated=d.closed_at))
         .group_by(d.currency).order_by(d.currency))
    with services.crm.engine.connect() as conn:
        rows = tuple({"currency": r.currency, "won": r.won, "total": money_of(r.minor, r.currency),
                      "average": average_of(r.minor, r.won, r.currency)} for r in conn.execute(q))
    return Report("average_check", ("currency",), ("won", "total", "average"), rows, scope)


def _pipeline(crm: "Crm", scope: Scope) -> Any:
    return crm.pipeline(scope.pipeline or crm.settings.sales_pipeline)


def funnel_report(services: "Services", scope: Scope) -> Report:
    """The funnel (:mod:`crmkit.core.reports.funnel`) of the scope's pipeline (default: the sales
    pipeline) over the deals created in the period, within the scope and the record rules."""
    crm = services.crm
    pipe = _pipeline(crm, scope)
    d = schema.deals.c
    conds = deal_scope(services, attrs_without_pipeline(scope), dated=d.created_at)
    postgres = crm.engine.dialect.name == "postgresql"
    with crm.engine.connect() as conn:
        moves = {r.stage_id: r for r in conn.execute(history_query(pipe.id, conds, postgres=postgres))}
        current = {r.stage_id: r.n for r in conn.execute(current_query([s.id for s in pipe.stages], conds))}
    rows = []
    for st in pipe.stages:
        m = moves.get(st.id)
        entered, advanced = (m.entered, m.advanced) if m is not None else (0, 0)
        rows.append({"stage": st.key, "entered": entered, "current": current.get(st.id, 0), "advanced": advanced,
                     "conversion": advanced / entered if st.kind == "open" and entered else None,
                     "median_seconds": seconds(m.median) if m is not None else None})
    return Report("funnel", ("stage",), ("entered", "current", "advanced", "conversion", "median_seconds"),
                  tuple(rows), scope)


def attrs_without_pipeline(scope: Scope) -> Scope:
    """The scope minus its pipeline (a funnel is of one pipeline, its deals may have left it)."""
    return attrs.evolve(scope, pipeline=None)


def stall_days(crm: "Crm") -> Mapping[str, float]:
    """Days a deal may stay in a stage before it is stalled: ``[settings.reports] stall_days``, else the
    web UI's ``[ui] stall_days``, else 14 for every stage (``default`` for stages not named)."""
    table = crm.settings.for_plugin("reports").get("stall_days") or crm.settings.ui.get("stall_days") or {}
    if not isinstance(table, Mapping):
        raise ConfigError("crmkit.toml [settings.reports] stall_days: a table of stage = days")
    out = {"default": DEFAULT_STALL_DAYS}
    for k, v in table.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 3650:
            raise ConfigError(f"crmkit.toml stall_days.{k}: a number of days from 0 to 3650")
        out[str(k)] = float(v)
    return out


def time_in_stage(services: "Services", scope: Scope) -> Report:
    """Per stage of the pipeline: the ended stays that began in the period (how many, median and p90
    seconds), the open deals in the stage now, and how many of them are stalled (in the stage
    longer than its norm, :func:`stall_days`)."""
    crm = services.crm
    pipe = _pipeline(crm, scope)
    postgres = crm.engine.dialect.name == "postgresql"
    h, d = schema.stage_history, schema.deals
    conds = deal_scope(services, attrs_without_pipeline(scope))
    if scope.since is None and scope.until is None:
        # every stay: one window over the history, sorted once
        order = (h.c.moved_at, h.c.id)
        left_at = func.lead(h.c.moved_at).over(partition_by=h.c.deal_id, order_by=order)
        moves = select(h.c.deal_id, h.c.to_stage_id.label("stage_id"), h.c.pipeline_id, h.c.moved_at,
                       left_at.label("left_at"))
        if conds:
            moves = moves.join(d, d.c.id == h.c.deal_id).where(*conds)
        m = moves.cte("moves")
        where = [m.c.pipeline_id == pipe.id]
    else:
        # the stays that began in the period: found by index, each one's end looked up by index
        later = schema.stage_history.alias("later")
        left_at = (select(func.min(later.c.moved_at))
                   .where(later.c.deal_id == h.c.deal_id,
                          or_(later.c.moved_at > h.c.moved_at, and_(later.c.moved_at == h.c.moved_at,
                                                                    later.c.id > h.c.id)))
                   .scalar_subquery())
        moves = (select(h.c.to_stage_id.label("stage_id"), h.c.moved_at, left_at.label("left_at"))
                 .where(h.c.to_stage_id.in_([st.id for st in pipe.stages]), *period(scope, h.c.moved_at)))
        if conds:  # a manager's deals first (by index), then their moves by (deal, time)
            mine = select(d.c.id).where(*conds).cte("scoped_deals").prefix_with("MATERIALIZED")
            moves = moves.join(mine, mine.c.id == h.c.deal_id)
        m = moves.cte("moves").prefix_with("MATERIALIZED")  # each stay's end looked up once
        where = []
    secs = epoch(m.c.left_at, postgres=postgres) - epoch(m.c.moved_at, postgres=postgres)
    stays = (select(m.c.stage_id, secs.label("secs"))
             .where(*where, *period(scope, m.c.moved_at)).subquery("stays"))
    q = percentiles(stays, "secs", ["stage_id"], (0.5, 0.9), postgres=postgres)
    norms = stall_days(crm)
    now = crm.clock.now()
    limits = {st.id: norms.get(st.key, norms["default"]) for st in pipe.stages if st.kind == "open"}
    stalled_when = case(*[(and_(d.c.stage_id == sid, d.c.stage_entered_at < now - timedelta(days=days)), 1)
                          for sid, days in limits.items()], else_=0) if limits else literal_column("0")
    cq = (select(d.c.stage_id, func.count().label("n"), func.sum(stalled_when).label("stalled"))
          .where(d.c.stage_id.in_(list(limits) or [-1]), d.c.status == "open", *conds).group_by(d.c.stage_id))
    with crm.engine.connect() as conn:
        found = {r.stage_id: r for r in conn.execute(q)}
        current = {r.stage_id: r for r in conn.execute(cq)}
    rows = []
    for st in pipe.stages:
        r, c = found.get(st.id), current.get(st.id)
        rows.append({"stage": st.key, "stays": r.n if r is not None else 0,
                     "median_seconds": seconds(r.p50) if r is not None else None,
                     "p90_seconds": seconds(r.p90) if r is not None else None,
                     "current": c.n if c is not None else 0, "stalled": int(c.stalled or 0) if c is not None else 0,
                     "norm_days": limits.get(st.id)})
    return Report("time_in_stage", ("stage",), ("stays", "median_seconds", "p90_seconds", "current", "stalled",
                                               "norm_days"), tuple(rows), scope)


def lost_reasons(services: "Services", scope: Scope) -> Report:
    """Deals lost in the period, per pipeline, the stage they were lost from and the reason
    (the reason's label, else the text given, else ``(none)``), with each one's share."""
    crm = services.crm
    h, d, lr = schema.stage_history.c, schema.deals.c, schema.lost_reasons.c
    # a lost deal's last move is the one into its lost stage: its from_stage (index on deal_id, moved_at)
    from_id = (select(h.from_stage_id).where(h.deal_id == d.id).order_by(h.moved_at.desc(), h.id.desc())
               .limit(1).scalar_subquery())
    lost = (select(d.pipeline_id, from_id.label("from_id"), d.lost_reason_id, d.lost_reason_text)
            .where(d.status == "lost", *deal_scope(services, scope, dated=d.closed_at)).subquery("lost"))
    frm = schema.stages.alias("from_stage")
    p = schema.pipelines.c
    reason = func.coalesce(lr.label, func.nullif(func.trim(lost.c.lost_reason_text), ""), NONE)
    stage = func.coalesce(frm.c.key, NONE)
    q = (select(p.key.label("pipeline"), stage.label("stage"), reason.label("reason"), func.count().label("lost"))
         .select_from(lost.join(schema.pipelines, p.id == lost.c.pipeline_id)
                      .outerjoin(frm, frm.c.id == lost.c.from_id)
                      .outerjoin(schema.lost_reasons, lr.id == lost.c.lost_reason_id))
         .group_by(p.key, stage, reason))
    with crm.engine.connect() as conn:
        found = [dict(r._mapping) for r in conn.execute(q)]
    total = sum(r["lost"] for r in found)
    for r in found:
        r["share"] = r["lost"] / total
    found.sort(key=lambda r: (r["pipeline"], -r["lost"], r["stage"], r["reason"]))
    return Report("lost_reasons", ("pipeline", "stage", "reason"), ("lost", "share"), tuple(found), scope)

