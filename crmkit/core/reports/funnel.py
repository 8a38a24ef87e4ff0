"""The stage-by-stage funnel of one pipeline: where deals stall and where they break.

    report = funnel(crm, "sales", responsible_id=alice.id, since=q1_start, until=q2_start)
    report.stage("proposal_sent").conversion   # 0.42

For every stage, in board order:

* ``entered``: deals that entered the stage at least once (from the stage history);
* ``current``: deals in the stage now;
* ``advanced``: of those that entered, deals that later reached a further
  non-lost stage of the pipeline (the next one or beyond: skipping counts);
* ``conversion``: ``advanced / entered`` (``None`` for won/lost stages and for
  stages nobody entered);
* ``median_time``: the median time a deal spent in the stage over the stays that
  ended (entry until the deal's next stage move, also into another pipeline);
  ``stays`` is how many. Deals still in the stage are not counted.

Scope: ``responsible_id`` keeps the deals of one manager; ``since``/``until``
keep the deals *created* in ``[since, until)`` (a cohort funnel).

Everything is computed in SQL: one window query over the stage history (the
median is ``percentile_cont`` on PostgreSQL and a row-number window on SQLite)
and one ``GROUP BY`` over the deals for the current counts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import (
    Float, and_, case, cast, func, literal_column, or_, select,
)
from sqlalchemy.sql import ColumnElement, Select

from .. import schema
from ..clock import ensure_utc
from ..errors import ValidationError
from ..services.base import check_id

if TYPE_CHECKING:  # pragma: no cover
    from ..app import Crm


@attrs.frozen
class StageFunnel:
    """One stage of a :class:`FunnelReport`."""

    key: str
    name: str
    kind: str
    position: int
    entered: int
    current: int
    advanced: int
    stays: int
    median_time: timedelta | None

    @property
    def conversion(self) -> float | None:
        """Share of the deals that entered this stage and went on to a later stage."""
        if self.kind != "open" or not self.entered:
            return None
        return self.advanced / self.entered


@attrs.frozen
class FunnelReport:
    """The funnel of ``pipeline`` over the deals in scope."""

    pipeline: str
    responsible_id: int | None
    since: datetime | None
    until: datetime | None
    stages: tuple[StageFunnel, ...]

    def stage(self, key: str) -> StageFunnel:
        for st in self.stages:
            if st.key == key:
                return st
        raise KeyError(key)

    @property
    def deals(self) -> int:
        """Deals in scope that entered the pipeline's first stage."""
        return self.stages[0].entered if self.stages else 0


def funnel(
    crm: "Crm",
    pipeline: str,
    *,
    responsible_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> FunnelReport:
    """The funnel of ``pipeline`` (see the module docstring for every figure)."""
    pipe = crm.pipeline(pipeline)
    since, until = _moment(since, "since"), _moment(until, "until")
    if responsible_id is not None:
        if isinstance(responsible_id, bool) or not isinstance(responsible_id, int):
            raise ValidationError("responsible_id: expected an id (integer)", field="responsible_id")
        check_id(responsible_id, "responsible_id")  # 1 to 2^31-1: a larger one overflows PostgreSQL
    postgres = crm.engine.dialect.name == "postgresql"
    history_q = history_query(pipe.id, _scope(responsible_id, since, until), postgres=postgres)
    current_q = current_query([s.id for s in pipe.stages], _scope(responsible_id, since, until))
    with crm.engine.connect() as conn:
        moves = {r.stage_id: r for r in conn.execute(history_q)}
        current = {r.stage_id: r.n for r in conn.execute(current_q)}
    stages = []
    for st in pipe.stages:
        m = moves.get(st.id)
        median = None
        if m is not None and m.median is not None:
            median = timedelta(milliseconds=round(float(m.median) * 1000))
        stages.append(StageFunnel(
            key=st.key, name=st.name, kind=st.kind, position=st.position,
            entered=m.entered if m is not None else 0, current=current.get(st.id, 0),
            advanced=m.advanced if m is not None else 0, stays=m.stays if m is not None else 0,
            median_time=median,
        ))
    return FunnelReport(pipeline=pipe.key, responsible_id=responsible_id, since=since, until=until,
                        stages=tuple(stages))


def _moment(value: Any, field: str) -> datetime | None:
    """An aware datetime in UTC (``ValidationError`` naming ``field`` for anything else)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ValidationError(f"{field}: expected a datetime, got {type(value).__name__}", field=field)
    return ensure_utc(value, field=field)  # naive, or out of range in UTC: a ValidationError


def _scope(responsible_id: int | None, since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    d = schema.deals.c
    conds: list[ColumnElement[bool]] = []
    if responsible_id is not None:
        conds.append(d.responsible_id == responsible_id)
    if since is not None:
        conds.append(d.created_at >= since)
    if until is not None:
        conds.append(d.created_at < until)
    return conds


def current_query(stage_ids: list[int], scope: list[ColumnElement[bool]]) -> Select[Any]:
    """Deals now in each stage (a covering index scan of ``ix_crm_deals_stage`` when unscoped)."""
    d = schema.deals.c
    return (
        select(d.stage_id, func.count().label("n"))
        .where(d.stage_id.in_(stage_ids), *scope)
        .group_by(d.stage_id)
    )


def history_query(pipeline_id: int, scope: list[ColumnElement[bool]], *, postgres: bool) -> Select[Any]:
    """Per stage of the pipeline: entered, advanced, ended stays and their median (seconds)."""
    h, s, d = schema.stage_history, schema.stages, schema.deals
    # Both windows share one partition and order, so the database sorts the history once
    # (a MAX over its own unordered partition costs a second sort: ~2x on SQLite).
    order = (h.c.moved_at, h.c.id)
    left_at = func.lead(h.c.moved_at).over(partition_by=h.c.deal_id, order_by=order)
    reach = func.max(case((and_(s.c.pipeline_id == pipeline_id, s.c.kind != "lost"), s.c.position))).over(
        partition_by=h.c.deal_id, order_by=order, rows=(None, None))
    moves = (
        select(
            h.c.deal_id, h.c.to_stage_id.label("stage_id"), s.c.pipeline_id, s.c.position,
            h.c.moved_at, left_at.label("left_at"), reach.label("reach"),
        )
        .select_from(h.join(s, s.c.id == h.c.to_stage_id))
    )
    if scope:
        moves = moves.join(d, d.c.id == h.c.deal_id).where(*scope)
    m = moves.cte("moves")
    seconds: ColumnElement[Any]
    if postgres:
        seconds = func.extract("epoch", m.c.left_at - m.c.moved_at)
    else:
        seconds = (func.julianday(m.c.left_at) - func.julianday(m.c.moved_at)) * literal_column("86400.0")
    stays = (
        select(m.c.stage_id, m.c.deal_id, (m.c.reach > m.c.position).label("adv"), seconds.label("dur"))
        .where(m.c.pipeline_id == pipeline_id)
        .cte("stays")
    )
    entered = func.count(stays.c.deal_id.distinct())
    advanced = func.count(case((stays.c.adv, stays.c.deal_id)).distinct())
    if postgres:
        median = func.percentile_cont(0.5).within_group(stays.c.dur)
        return (
            select(stays.c.stage_id, entered.label("entered"), advanced.label("advanced"),
                   func.count(stays.c.dur).label("stays"), median.label("median"))
            .group_by(stays.c.stage_id)
        )
    # SQLite has no percentile: number the ended stays per stage, average the middle one or two.
    ranked = (
        select(
            stays.c.stage_id, stays.c.dur,
            func.row_number().over(partition_by=stays.c.stage_id, order_by=stays.c.dur).label("rn"),
            func.count().over(partition_by=stays.c.stage_id).label("cnt"),
        )
        .where(stays.c.dur.is_not(None))
        .subquery("ranked")
    )
    middle = (
        select(ranked.c.stage_id, func.avg(cast(ranked.c.dur, Float)).label("median"),
               func.max(ranked.c.cnt).label("stays"))
        .where(or_(ranked.c.rn == (ranked.c.cnt + 1) // 2, ranked.c.rn == (ranked.c.cnt + 2) // 2))
        .group_by(ranked.c.stage_id)
        .subquery("middle")
    )
    counts = (
        select(stays.c.stage_id, entered.label("entered"), advanced.label("advanced"))
        .group_by(stays.c.stage_id)
        .subquery("counts")
    )
    return (
        select(counts.c.stage_id, counts.c.entered, counts.c.advanced,
               func.coalesce(middle.c.stays, 0).label("stays"), middle.c.median)
        .select_from(counts.outerjoin(middle, middle.c.stage_id == counts.c.stage_id))
    )
