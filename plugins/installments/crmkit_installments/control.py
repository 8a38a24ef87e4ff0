"""The "Installment control" pipeline at work: starting control when a deal is won,
moving the control deal by the state of its schedule, reminders and overdue tasks.

Everything here runs inside a transaction (a payment, a won deal, the worker's
review) and acts through the core's services as that transaction's actor.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from crmkit import Crm, Money, Tx, schema

from .config import DUE_SOON, NAME, OVERDUE, OVERDUE_RULE, PAID_OFF, PIPELINE, WAITING, config, local_date
from .records import money
from .tables import items, plans

BATCH = 200


def activate(tx: Tx, plan_id: int) -> int:
    """Copy the plan's won deal into Installment control (the core's ``deals.copy``) and link it."""
    plan = tx.conn.execute(select(plans).where(plans.c.id == plan_id)).one()
    copy = tx.crm.as_user(tx.actor_id).deals.copy(plan.deal_id, pipeline=PIPELINE, stage=WAITING)
    tx.conn.execute(update(plans).where(plans.c.id == plan_id).values(
        control_deal_id=copy.id, status="active", updated_at=tx.now, version=plans.c.version + 1))
    tx.emit(f"{NAME}.control_started", "deal", copy.id, data={
        "plan_id": plan_id, "origin_deal_id": plan.deal_id,
        "financed": money(plan.financed_minor, plan.currency).to_json(),
        "outstanding": money(plan.financed_minor - plan.paid_minor, plan.currency).to_json(),
    })
    review(tx, plan_id, local_date(tx.crm, tx.now))
    return int(copy.id)


def review(tx: Tx, plan_id: int, today: date) -> None:
    """Bring the plan's control deal in line with its schedule on ``today`` (idempotent).

    Fully paid: won ("Paid off"). Otherwise: "Overdue" when an item is past due (and
    one task for the responsible manager), "Due soon" when one is due within
    ``due_soon_days`` (and one reminder event per item), else "Waiting for payment".
    A written-off (lost) control deal is left alone.
    """
    plan = tx.conn.execute(select(plans).where(plans.c.id == plan_id)).one()
    if plan.control_deal_id is None:
        return
    d = schema.deals.c
    deal = tx.conn.execute(select(d.id, d.stage_id, d.status, d.responsible_id, d.title)
                           .where(d.id == plan.control_deal_id)).one()
    deals = tx.crm.as_user(tx.actor_id).deals
    outstanding = plan.financed_minor - plan.paid_minor
    if outstanding == 0:
        _close_overdue_tasks(tx, deal.id)
        if deal.status != "won":
            deals.win(deal.id, stage=PAID_OFF)
            tx.emit(f"{NAME}.paid_off", "deal", deal.id, data={
                "plan_id": plan.id, "paid": money(plan.paid_minor, plan.currency).to_json(),
                "credit": money(plan.credit_minor, plan.currency).to_json()})
        return
    if deal.status == "lost":
        return
    i = items.c
    unpaid = tx.conn.execute(select(items).where(i.plan_id == plan.id, i.paid_minor < i.amount_minor)
                             .order_by(i.due_date, i.seq)).all()
    overdue = [r for r in unpaid if r.due_date < today]
    soon = [r for r in unpaid if today <= r.due_date <= today + timedelta(days=config(tx.crm).due_soon_days)]
    wanted = OVERDUE if overdue else DUE_SOON if soon else WAITING
    if tx.crm.stage_by_id(deal.stage_id).key != wanted:
        deals.move(deal.id, wanted, pipeline=PIPELINE)
    for r in soon:
        if r.reminded_at is None:
            _remind(tx, plan, deal, r, today)
    if overdue:
        if any(r.overdue_notified_at is None for r in overdue):
            _chase(tx, plan, deal, overdue, today)
    else:
        _close_overdue_tasks(tx, deal.id)


def _remind(tx: Tx, plan: Any, deal: Any, item: Any, today: date) -> None:
    tx.conn.execute(update(items).where(items.c.id == item.id).values(reminded_at=tx.now))
    tx.emit(f"{NAME}.payment_due_soon", "deal", deal.id, data={
        "plan_id": plan.id, "seq": item.seq, "due_date": item.due_date.isoformat(),
        "days_left": (item.due_date - today).days,
        "amount_due": money(item.amount_minor - item.paid_minor, plan.currency).to_json(),
        "responsible_id": deal.responsible_id,
    })


def _chase(tx: Tx, plan: Any, deal: Any, overdue: list[Any], today: date) -> None:
    """One overdue task per control deal (none while one is open), one overdue event."""
    amount = money(sum(r.amount_minor - r.paid_minor for r in overdue), plan.currency)
    days = (today - overdue[0].due_date).days
    t = schema.tasks.c
    task_id = tx.conn.scalar(select(t.id).where(t.rule == OVERDUE_RULE, t.entity_type == "deal",
                                                t.entity_id == deal.id, t.status == "open").limit(1))
    if task_id is None:
        task = tx.crm.as_user(tx.actor_id).tasks.add(
            title=_title(amount, days, deal.title), assignee_id=deal.responsible_id,
            description=f"Installment payment {amount} is {days} days overdue (due {overdue[0].due_date}).",
            due_at=tx.now + timedelta(hours=config(tx.crm).task_due_hours),
            entity_type="deal", entity_id=deal.id, rule=OVERDUE_RULE)
        task_id = task.id
    tx.conn.execute(update(items).where(items.c.id.in_([r.id for r in overdue]),
                                        items.c.overdue_notified_at.is_(None)).values(overdue_notified_at=tx.now))
    tx.emit(f"{NAME}.payment_overdue", "deal", deal.id, data={
        "plan_id": plan.id, "amount_overdue": amount.to_json(), "days_overdue": days,
        "seqs": [r.seq for r in overdue], "task_id": task_id, "responsible_id": deal.responsible_id,
    })


def _title(amount: Money, days: int, deal_title: str) -> str:
    head = f"Collect overdue installment {amount} ({days} days overdue): "
    return head + deal_title[: 300 - len(head)]


def _close_overdue_tasks(tx: Tx, deal_id: int) -> None:
    t = schema.tasks.c
    open_ids = list(tx.conn.scalars(select(t.id).where(
        t.rule == OVERDUE_RULE, t.entity_type == "deal", t.entity_id == deal_id, t.status == "open")))
    tasks = tx.crm.as_user(tx.actor_id).tasks
    for task_id in open_ids:
        tasks.complete(task_id)


def check_plans(crm: Crm, now: datetime) -> int:
    """The periodic job: review every active plan (batches of :data:`BATCH`, one transaction each).

    Returns how many plans were reviewed. Running it twice changes nothing the second time.
    """
    today = local_date(crm, now)
    p = plans.c
    last, seen = 0, 0
    while True:
        with crm.transaction(None) as tx:
            ids = list(tx.conn.scalars(select(p.id).where(
                p.status == "active", p.control_deal_id.is_not(None), p.id > last).order_by(p.id).limit(BATCH)))
            for plan_id in ids:
                review(tx, plan_id, today)
        if not ids:
            return seen
        seen += len(ids)
        last = ids[-1]
