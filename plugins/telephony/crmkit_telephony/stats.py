"""Call statistics, each one SQL aggregate: per user and day, answered rate, response to missed calls,
recordings per deal."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, select, true

from .schema import calls

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm


def _day(conn_dialect: str) -> Any:
    col = calls.c.started_at
    if conn_dialect == "postgresql":
        return func.to_char(func.timezone("UTC", col), "YYYY-MM-DD")
    return func.date(col)


def _count(cond: Any) -> Any:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def stats(crm: "Crm", *, since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:
    """Statistics of the calls started in ``[since, until)`` (UTC days)."""
    c = calls.c
    where = and_(true(), *([c.started_at >= since] if since else []), *([c.started_at < until] if until else []))
    answered = c.result == "answered"
    missed = and_(c.direction == "inbound", c.status == "ended", c.result != "answered")
    with crm.engine.connect() as conn:
        day = _day(conn.dialect.name)
        per_day = conn.execute(
            select(c.user_id, day.label("day"), func.count().label("calls"),
                   _count(c.direction == "inbound").label("inbound"), _count(c.direction == "outbound").label("outbound"),
                   _count(answered).label("answered"), _count(missed).label("missed"))
            .where(where).group_by(c.user_id, day).order_by(day, c.user_id)
        ).all()
        per_user = conn.execute(
            select(c.user_id, func.count().label("calls"), _count(answered).label("answered"),
                   func.coalesce(func.sum(c.duration), 0).label("talk_seconds"))
            .where(where, c.status == "ended").group_by(c.user_id).order_by(c.user_id)
        ).all()
        m = conn.execute(
            select(func.count().label("missed"), func.count(c.callback_call_id).label("called_back"),
                   func.avg(c.response_seconds).label("avg"), func.max(c.response_seconds).label("max"))
            .where(where, missed)
        ).one()
        ended = conn.execute(select(func.count(), _count(answered)).where(where, c.status == "ended")).one()
        recordings = conn.execute(
            select(c.deal_id, func.count().label("recordings")).where(where, c.deal_id.is_not(None),
                                                                      c.recording_url.is_not(None))
            .group_by(c.deal_id).order_by(func.count().desc(), c.deal_id)
        ).all()
    return {
        "calls_per_user_day": [
            {"user_id": r.user_id, "day": str(r.day), "calls": int(r.calls), "inbound": int(r.inbound),
             "outbound": int(r.outbound), "answered": int(r.answered), "missed": int(r.missed)} for r in per_day],
        "answered_rate": {
            "calls": int(ended[0]), "answered": int(ended[1]), "rate": _rate(ended[1], ended[0]),
            "per_user": [{"user_id": r.user_id, "calls": int(r.calls), "answered": int(r.answered),
                          "rate": _rate(r.answered, r.calls), "talk_seconds": int(r.talk_seconds)} for r in per_user],
        },
        "missed_calls": {
            "missed": int(m.missed), "called_back": int(m.called_back),
            "not_called_back": int(m.missed) - int(m.called_back),
            "avg_response_seconds": None if m.avg is None else round(float(m.avg)),
            "max_response_seconds": None if m.max is None else int(m.max),
        },
        "recordings_per_deal": [{"deal_id": r.deal_id, "recordings": int(r.recordings)} for r in recordings],
    }


def _rate(part: Any, whole: Any) -> float | None:
    return round(int(part) / int(whole), 4) if whole else None


__all__ = ["stats"]
