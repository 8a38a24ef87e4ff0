"""The whole story with the worker and a frozen clock: won -> control -> on time -> overdue -> paid off."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from crmkit import Crm, FrozenClock, Worker
from crmkit_installments.config import OVERDUE_RULE, PIPELINE
from crmkit_installments.service import Installments

from installments_support import MakeCrm, control_stage, enabled, event_types, sold, user


def at(clock: FrozenClock, day: str) -> None:
    clock.set(datetime.fromisoformat(f"{day}T09:00:00").replace(tzinfo=timezone.utc))


def passes(crm: Crm, clock: FrozenClock, n: int = 2) -> None:
    """``n`` worker passes, each after the job's interval: the second must change nothing."""
    for _ in range(n):
        Worker(crm).run_once()
        clock.advance(minutes=61)


def overdue_tasks(crm: Crm, deal_id: int) -> list[str]:
    return [t.title for t in crm.tasks.list(entity_type="deal", entity_id=deal_id, rule=OVERDUE_RULE)]


def test_installment_sale_from_win_to_paid_off(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock, due_soon_days=3)
    mia = user(crm)
    inst = Installments(crm, mia.id)
    deal, plan = sold(crm, mia.id, amount="1200.00", down="200.00", payments=4, start="2026-02-01")
    control = plan.control_deal_id
    assert control is not None and crm.deals.get(control).pipeline == PIPELINE
    assert [i.amount.amount for i in plan.items] == [Decimal("250.00")] * 4

    passes(crm, clock)
    assert control_stage(crm, plan) == ("waiting", "open")

    at(clock, "2026-01-29")  # 3 days before the first due date
    passes(crm, clock)
    assert control_stage(crm, plan) == ("due_soon", "open")
    assert event_types(crm, control).count("installments.payment_due_soon") == 1

    at(clock, "2026-01-30")
    inst.record_payment(control, "250.00", method="card", reference="R-1")
    assert control_stage(crm, plan) == ("waiting", "open")
    at(clock, "2026-02-27")
    passes(crm, clock)
    assert control_stage(crm, plan) == ("due_soon", "open")
    inst.record_payment(deal.id, "250.00", method="transfer", reference="R-2")
    assert control_stage(crm, plan) == ("waiting", "open")

    at(clock, "2026-04-03")  # the third payment (due April 1) did not arrive
    passes(crm, clock, 3)
    assert control_stage(crm, plan) == ("overdue", "open")
    [task] = crm.tasks.list(entity_type="deal", entity_id=control, rule=OVERDUE_RULE)
    assert task.title.startswith("Collect overdue installment 250.00 USD (2 days overdue)")
    assert task.assignee_id == mia.id and task.status == "open"
    at(clock, "2026-04-05")
    passes(crm, clock)
    assert len(overdue_tasks(crm, control)) == 1  # no duplicate on later runs
    assert event_types(crm, control).count("installments.payment_overdue") == 1

    at(clock, "2026-04-06")
    inst.record_payment(control, "500.00", reference="R-3")  # the overdue one and the last one, early
    assert control_stage(crm, plan) == ("paid_off", "won")
    done = Installments(crm, mia.id).plan(deal.id)
    assert (done.status, done.outstanding.amount, done.paid.amount) == ("paid_off", Decimal("0.00"), Decimal("1000.00"))
    assert crm.tasks.get(task.id).status == "done"
    types = event_types(crm, control)
    assert types.count("installments.payment_recorded") == 3 and "installments.paid_off" in types

    before = len(event_types(crm, control))
    passes(crm, clock)
    assert len(event_types(crm, control)) == before  # nothing left to do
    assert crm.deals.get(deal.id).status == "won"
