"""Check-in decisions: allow or deny a member at a turnstile, with the reason, and record it.

The rules, in order (the first that applies is the answer):

``unknown_member`` (no such card or member), ``no_membership`` (nothing held, or nothing yet
started), ``expired`` (everything held has ended), ``not_booked`` (a class check-in without a
booking), ``frozen`` (every running membership is frozen that day), ``not_included`` (the class's
activity is in no running membership or pack), ``outside_hours`` (not within the access hours),
``no_sessions_left`` (the visit limit or the pack's sessions are used up), then any refusal a
plugin answers through ``fitness_checkin_refusal`` (the glue plugin with installments:
``installment_overdue``). Otherwise ``ok``: the visit counts against the membership (or the
pack: one session), a booking becomes attended, and the member's visit pace is updated.

Recording is idempotent by (device, event id): the same event again returns the first decision.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import attrs
from sqlalchemy import Connection, bindparam, exists, insert, select, update

from crmkit import Tx, ValidationError, check_text, schema

from .checks import as_datetime, as_id, within_hours
from .config import NAME, config, local_date
from .tables import activities, bookings, checkins, classes, freezes, members, memberships, products

REASONS = ("ok", "unknown_member", "no_membership", "expired", "not_booked", "frozen", "not_included",
           "outside_hours", "no_sessions_left")
"""The reasons the plugin itself answers (plugins may add theirs through ``fitness_checkin_refusal``)."""


@attrs.frozen
class Decision:
    """A check-in's answer."""

    event_id: str
    allowed: bool
    reason: str
    contact_id: int | None
    at: datetime
    membership_id: int | None = None
    class_id: int | None = None
    duplicate: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "allowed": self.allowed, "reason": self.reason,
                "member_id": self.contact_id, "at": self.at.isoformat(), "membership_id": self.membership_id,
                "class_id": self.class_id, "duplicate": self.duplicate}


@attrs.frozen
class Request:
    """One check-in as a device reports it: who (``member_id`` or ``card``), when, for which class."""

    event_id: str
    at: datetime
    member_id: int | None = None
    card: str | None = None
    class_id: int | None = None


def parse_request(data: Any, now: datetime, where: str = "") -> Request:
    """A :class:`Request` from a device's JSON object (``ValidationError`` naming the field)."""
    if not isinstance(data, dict):
        raise ValidationError(f"{where or 'body'}: expected an object", field=where or "body")
    unknown = sorted(set(data) - {"event_id", "member_id", "card", "at", "class_id"})
    if unknown:
        raise ValidationError(f"{where}{unknown[0]}: unknown field", field=f"{where}{unknown[0]}")
    event_id = check_text(data.get("event_id"), f"{where}event_id", max_length=80, required=True)
    member = data.get("member_id")
    card = data.get("card")
    if (member is None) == (card is None):
        raise ValidationError(f"{where}member_id: give member_id or card", field=f"{where}member_id")
    at = as_datetime(data["at"], f"{where}at") if data.get("at") is not None else now
    if (at - now).total_seconds() > 300:
        raise ValidationError(f"{where}at: {at.isoformat()} is in the future", field=f"{where}at")
    return Request(
        event_id=event_id, at=at, member_id=as_id(member, f"{where}member_id") if member is not None else None,
        card=check_text(card, f"{where}card", max_length=40, required=True) if card is not None else None,
        class_id=as_id(data["class_id"], f"{where}class_id") if data.get("class_id") is not None else None)


# The hot path's statements, built once (a check-in runs a handful of them).
_m, _p, _f, _c, _mc = memberships.c, products.c, freezes.c, checkins.c, members.c
_SEEN = {
    True: select(checkins).where(_c.device_id == bindparam("device"), _c.event_id == bindparam("event")),
    False: select(checkins).where(_c.device_id.is_(None), _c.event_id == bindparam("event")),
}
_BY_ID = select(members).where(_mc.contact_id == bindparam("who"))
_BY_CARD = select(members).where(_mc.card == bindparam("who"))
_FROZEN = exists().where(_f.membership_id == _m.id, _f.starts_on <= bindparam("day"), _f.ends_on >= bindparam("day"))
_HELD = (select(_m.id, _m.kind, _m.starts_on, _m.ends_on, _m.visits_used, _m.sessions_used, _p.visit_limit, _p.sessions,
                _p.access_from, _p.access_to, _p.activities, _p.trainer_id, _FROZEN.label("frozen"))
         .join_from(memberships, products, _m.product_id == _p.id).where(_m.contact_id == bindparam("cid"))
         .order_by(_m.kind, _m.ends_on, _m.id))  # memberships before packs ("membership" < "pack")
_INSERT = insert(checkins)
_USE_VISIT = update(memberships).where(_m.id == bindparam("mid")).values(visits_used=_m.visits_used + 1)
_USE_SESSION = update(memberships).where(_m.id == bindparam("mid")).values(sessions_used=_m.sessions_used + 1)
_PACE = update(members).where(_mc.contact_id == bindparam("cid")).values(
    visits=_mc.visits + 1, last_visit_on=bindparam("p_last"), first_visit_on=bindparam("p_first"),
    recent=bindparam("p_recent"), norm=bindparam("p_norm"), rate_on=bindparam("p_on"))


def _member(conn: Connection, req: Request) -> Any:
    if req.member_id is not None:
        return conn.execute(_BY_ID, {"who": req.member_id}).first()
    return conn.execute(_BY_CARD, {"who": req.card}).first()


def _left(row: Any) -> bool:
    if row.kind == "pack":
        return bool(row.sessions_used < (row.sessions or 0))
    return row.visit_limit is None or row.visits_used < row.visit_limit


def decide(tx: Tx, req: Request, device_id: int | None) -> Decision:
    """Decide and record one check-in (in the open transaction); a known event id returns its decision."""
    seen = tx.conn.execute(_SEEN[device_id is not None], {"device": device_id, "event": req.event_id}).first()
    if seen is not None:
        return Decision(req.event_id, seen.allowed, seen.reason, seen.contact_id, seen.at, seen.membership_id,
                        seen.class_id, duplicate=True)
    member = _member(tx.conn, req)
    reason, used, klass = _rules(tx, member, req)
    contact_id = member.contact_id if member is not None else None
    if member is None and req.member_id is not None and tx.conn.scalar(
            select(schema.contacts.c.id).where(schema.contacts.c.id == req.member_id)) is not None:
        reason, contact_id = "no_membership", req.member_id  # a contact who never held anything
    if reason == "ok":
        assert used is not None and member is not None
        _consume(tx, member, used, req, klass)
    decision = Decision(req.event_id, reason == "ok", reason, contact_id, req.at,
                        used.id if used is not None and reason == "ok" else None, req.class_id)
    tx.conn.execute(_INSERT, {
        "device_id": device_id, "event_id": req.event_id, "contact_id": contact_id, "at": req.at,
        "allowed": decision.allowed, "reason": reason, "membership_id": decision.membership_id,
        "class_id": req.class_id if klass is not None else None, "decided_at": tx.now})
    if contact_id is not None:
        tx.emit(f"{NAME}.checkin", "contact", contact_id, data={**decision.to_json(), "device_id": device_id})
    tx.crm.pm.hook.fitness_checkin_decided(tx=tx, decision=decision)
    return decision


def _rules(tx: Tx, member: Any, req: Request) -> tuple[str, Any, Any]:
    """``(reason, the membership or pack used, the class row)``."""
    if member is None:
        return "unknown_member", None, None
    local = req.at.astimezone(tx.crm.settings.tz)
    day, minute = local.date(), local.hour * 60 + local.minute
    held = tx.conn.execute(_HELD, {"cid": member.contact_id, "day": day}).all()
    running = [h for h in held if h.starts_on <= day <= h.ends_on]
    if not running:
        return ("expired" if any(h.ends_on < day for h in held) else "no_membership"), None, None
    klass, activity = None, None
    if req.class_id is not None:
        klass = tx.conn.execute(select(classes).where(classes.c.id == req.class_id)).first()
        booked = tx.conn.scalar(select(bookings.c.id).where(
            bookings.c.class_id == req.class_id, bookings.c.contact_id == member.contact_id,
            bookings.c.status.in_(("booked", "attended", "no_show"))))
        if klass is None or booked is None:
            return "not_booked", None, None
        activity = tx.conn.scalar(select(activities.c.key).where(activities.c.id == klass.activity_id))
    usable = [h for h in running if not (h.kind == "membership" and h.frozen)]
    if not usable:
        return "frozen", None, None
    if activity is not None:
        usable = [h for h in usable if not h.activities or activity in h.activities]
        usable = [h for h in usable if h.trainer_id is None or h.trainer_id == klass.trainer_id]
        if not usable:
            return "not_included", None, None
    usable = [h for h in usable if within_hours(h.access_from, h.access_to, minute)]
    if not usable:
        return "outside_hours", None, None
    usable = [h for h in usable if _left(h)]
    if not usable:
        return "no_sessions_left", None, None
    for refusal in tx.crm.pm.hook.fitness_checkin_refusal(tx=tx, contact_id=member.contact_id, at=req.at):
        if refusal:
            return str(refusal), None, None
    return "ok", usable[0], klass


def pace(value: float, since: date | None, day: date, tau: int) -> float:
    """A decaying visit count ``value`` (as of ``since``) carried to ``day`` (time constant ``tau`` days)."""
    if since is None or value == 0.0:
        return 0.0
    return value * math.exp(-max((day - since).days, 0) / max(tau, 1))


def _consume(tx: Tx, member: Any, used: Any, req: Request, klass: Any) -> None:
    tx.conn.execute(_USE_SESSION if used.kind == "pack" else _USE_VISIT, {"mid": used.id})
    if klass is not None:
        tx.conn.execute(update(bookings).where(bookings.c.class_id == klass.id,
                                               bookings.c.contact_id == member.contact_id).values(status="attended"))
    day = local_date(tx.crm, req.at)
    cfg = config(tx.crm)
    first_today = member.last_visit_on is None or day > member.last_visit_on
    if not first_today:
        return  # one visit a day counts toward the pace
    rate_on = member.rate_on
    if rate_on is not None and day < rate_on:  # an offline turnstile's older event: count it as of rate_on
        day = rate_on
    tx.conn.execute(_PACE, {
        "cid": member.contact_id, "p_last": max(day, member.last_visit_on or day),
        "p_first": member.first_visit_on or day, "p_recent": pace(member.recent, rate_on, day, cfg.recent_days) + 1.0,
        "p_norm": pace(member.norm, rate_on, day, cfg.norm_days) + 1.0, "p_on": day})


def visible_checkins(conn: Connection, contact_id: int, limit: int = 50) -> list[Any]:
    c = checkins.c
    return conn.execute(select(checkins).where(c.contact_id == contact_id).order_by(c.at.desc(), c.id.desc())
                        .limit(limit)).all()


