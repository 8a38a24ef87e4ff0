"""Analytics, each a SQL aggregate (no Python loop over members).

* :func:`renewals` -- renewal rate of memberships whose outcome is known (renewed or lapsed),
  by ``cohort`` (the month the membership started), ``product`` or ``trainer``;
* :func:`touch_attribution` -- per touch-point rule: the renewal rate of the memberships it
  fired in, of those it did not, and the lift (the difference, in percentage points);
* :func:`at_risk` -- members in the ``at_risk`` phase, highest churn-risk score first (the score:
  :func:`crmkit_fitness.lifecycle.risk_score`);
* :func:`trainers` -- per trainer: classes run, bookings attended and missed, members, their
  members' renewal rate, touch-point tasks done on time, late, and open past due.

Rates are ``Decimal`` percentages with one decimal place (``None`` when nothing is known).
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import String, and_, case, cast, distinct, func, literal, select

from crmkit import Crm, ValidationError, schema

from .tables import bookings, classes, members, memberships, products, touches

BY = ("cohort", "product", "trainer")


def rate(part: int, whole: int) -> Decimal | None:
    """``part / whole`` as a percentage with one decimal place (half up)."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _pct(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _renewed() -> Any:
    return func.sum(case((memberships.c.outcome == "renewed", 1), else_=0))


def _resolved() -> Any:
    m, p = memberships.c, products.c
    return and_(m.kind == "membership", p.trial.is_(False), m.outcome.is_not(None))


def renewals(crm: Crm, by: str = "cohort") -> list[dict[str, Any]]:
    """Rows ``{key, ended, renewed, rate}`` (``rate`` in percent), ordered by key."""
    if by not in BY:
        raise ValidationError(f"by: {by!r} is not one of {', '.join(BY)}", field="by")
    m, p, u = memberships.c, products.c, schema.users.c
    key: Any = {"cohort": func.substr(cast(m.starts_on, String), 1, 7), "product": p.key,
                "trainer": func.coalesce(u.name, literal("(no trainer)"))}[by]
    query = (select(key.label("key"), func.count(m.id).label("ended"), _renewed().label("renewed"))
             .select_from(memberships).join(products, m.product_id == p.id)
             .outerjoin(schema.users, u.id == m.trainer_id).where(_resolved()).group_by(key).order_by(key))
    with crm.engine.connect() as conn:
        return [{"key": r.key, "ended": r.ended, "renewed": int(r.renewed or 0),
                 "rate": _pct(rate(int(r.renewed or 0), r.ended))} for r in conn.execute(query)]


def touch_attribution(crm: Crm) -> dict[str, Any]:
    """``{ended, renewed, rate, rules: [{rule, with, renewed_with, rate_with, without, renewed_without,
    rate_without, lift}]}`` over memberships whose outcome is known; a rule counts for a membership
    when it fired during it."""
    m, p, t = memberships.c, products.c, touches.c
    base = select(memberships).join(products, m.product_id == p.id).where(_resolved()).subquery()
    with crm.engine.connect() as conn:
        total = conn.execute(select(func.count(), func.sum(case((base.c.outcome == "renewed", 1), else_=0)))
                             .select_from(base)).one()
        ended, renewed = int(total[0] or 0), int(total[1] or 0)
        rows = conn.execute(
            select(t.rule, func.count(distinct(base.c.id)).label("n"),
                   func.count(distinct(case((base.c.outcome == "renewed", base.c.id)))).label("r"))
            .select_from(touches).join(base, base.c.id == t.membership_id).group_by(t.rule).order_by(t.rule)).all()
    out = []
    for row in rows:
        with_n, with_r = int(row.n), int(row.r)
        without_n, without_r = ended - with_n, renewed - with_r
        rw, ro = rate(with_r, with_n), rate(without_r, without_n)
        out.append({"rule": row.rule, "with": with_n, "renewed_with": with_r, "rate_with": _pct(rw),
                    "without": without_n, "renewed_without": without_r, "rate_without": _pct(ro),
                    "lift": _pct(rw - ro) if rw is not None and ro is not None else None})
    return {"ended": ended, "renewed": renewed, "rate": _pct(rate(renewed, ended)), "rules": out}


def at_risk(crm: Crm, *, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Members at risk, highest score first: ``{contact_id, name, risk, last_visit_on, trainer_id, manager_id}``."""
    mc, c = members.c, schema.contacts.c
    query = (select(mc.contact_id, c.first_name, c.last_name, mc.risk, mc.last_visit_on, mc.trainer_id,
                    mc.manager_id, mc.phase_since)
             .join(schema.contacts, c.id == mc.contact_id).where(mc.phase == "at_risk")
             .order_by(mc.risk.desc(), mc.contact_id).limit(limit).offset(offset))
    with crm.engine.connect() as conn:
        return [{"contact_id": r.contact_id, "name": f"{r.first_name} {r.last_name}".strip(), "risk": r.risk,
                 "last_visit_on": r.last_visit_on and r.last_visit_on.isoformat(), "trainer_id": r.trainer_id,
                 "manager_id": r.manager_id, "at_risk_since": r.phase_since.isoformat()}
                for r in conn.execute(query)]


def trainers(crm: Crm, now: datetime) -> list[dict[str, Any]]:
    """One row per trainer (users with the trainer role), by name."""
    u, k, b, m, mc, t, tk = (schema.users.c, classes.c, bookings.c, memberships.c, members.c, touches.c,
                             schema.tasks.c)
    with crm.engine.connect() as conn:
        people = conn.execute(select(u.id, u.name).where(u.role == "trainer").order_by(u.name, u.id)).all()
        runs = dict(conn.execute(select(k.trainer_id, func.count()).where(k.starts_at <= now).group_by(k.trainer_id))
                    .all())
        att = {r.trainer_id: r for r in conn.execute(
            select(k.trainer_id, func.sum(case((b.status == "attended", 1), else_=0)).label("attended"),
                   func.sum(case((b.status == "no_show", 1), else_=0)).label("no_show"))
            .join_from(bookings, classes, b.class_id == k.id).group_by(k.trainer_id))}
        mem = dict(conn.execute(select(mc.trainer_id, func.count()).where(mc.trainer_id.is_not(None))
                                .group_by(mc.trainer_id)).all())
        ren = {r.trainer_id: r for r in conn.execute(
            select(m.trainer_id, func.count(m.id).label("ended"), _renewed().label("renewed"))
            .join(products, m.product_id == products.c.id).where(_resolved()).group_by(m.trainer_id))}
        tasks = {r.assignee_id: r for r in conn.execute(
            select(tk.assignee_id,
                   func.sum(case((and_(tk.status == "done", tk.completed_at <= tk.due_at), 1), else_=0)).label("on_time"),
                   func.sum(case((and_(tk.status == "done", tk.completed_at > tk.due_at), 1), else_=0)).label("late"),
                   func.sum(case((and_(tk.status == "open", tk.due_at < now), 1), else_=0)).label("overdue"))
            .join_from(touches, schema.tasks, tk.id == t.task_id).group_by(tk.assignee_id))}
    out = []
    for person in people:
        a, r, tt = att.get(person.id), ren.get(person.id), tasks.get(person.id)
        ended, renewed = (int(r.ended), int(r.renewed or 0)) if r is not None else (0, 0)
        out.append({"trainer_id": person.id, "name": person.name, "classes": int(runs.get(person.id, 0)),
                    "attended": int(a.attended or 0) if a else 0, "no_shows": int(a.no_show or 0) if a else 0,
                    "members": int(mem.get(person.id, 0)), "ended": ended, "renewed": renewed,
                    "renewal_rate": _pct(rate(renewed, ended)),
                    "tasks_on_time": int(tt.on_time or 0) if tt else 0, "tasks_late": int(tt.late or 0) if tt else 0,
                    "tasks_overdue": int(tt.overdue or 0) if tt else 0})
    return out
