"""Edges of a plan's life: over-payment credit, reversal reopening a paid-off deal, the
"Paid off" veto, writing off, and a bad payment leaving nothing behind."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crmkit import ConflictError, FrozenClock, ValidationError, Worker
from crmkit_installments.config import OVERDUE_RULE
from crmkit_installments.service import Installments

from installments_support import MakeCrm, control_stage, enabled, event_types, sold, user


def test_overpayment_credit_and_reversal_reopens(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    mia = user(crm)
    inst = Installments(crm)
    deal, plan = sold(crm, mia.id, amount="300.00", down="0.00", payments=3)
    first = inst.record_payment(deal.id, "120.00")
    assert [(a.seq, str(a.amount.amount)) for a in first.allocations] == [(1, "100.00"), (2, "20.00")]
    inst.record_payment(deal.id, "230.00")
    state = inst.plan(deal.id)
    assert (str(state.paid.amount), str(state.outstanding.amount), str(state.credit.amount)) == ("300.00", "0.00", "50.00")
    assert control_stage(crm, plan) == ("paid_off", "won")

    inst.reverse_payment(first.id, reason="card charge-back")
    state = inst.plan(deal.id)
    assert (str(state.paid.amount), str(state.credit.amount)) == ("230.00", "0.00")
    assert [str(i.paid.amount) for i in state.items] == ["100.00", "100.00", "30.00"]
    assert state.status == "active" and control_stage(crm, plan) == ("waiting", "open")
    with pytest.raises(ConflictError):
        inst.reverse_payment(first.id, reason="twice")
    with pytest.raises(ValidationError, match="reason"):
        inst.reverse_payment(first.id, reason="  ")
    assert "installments.payment_reversed" in event_types(crm, plan.control_deal_id or 0)


def test_paid_off_by_hand_is_refused_while_money_is_owed(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    _, plan = sold(crm, None, amount="300.00", down="0.00", payments=3)
    with pytest.raises(ValidationError, match="300.00 USD of the installment plan is still unpaid"):
        crm.deals.win(plan.control_deal_id or 0)
    assert control_stage(crm, plan) == ("waiting", "open")


def test_written_off_plans_are_left_alone(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    mia = user(crm)
    deal, plan = sold(crm, mia.id, amount="300.00", down="0.00", payments=3, start="2025-11-01")
    Worker(crm).run_once()
    assert control_stage(crm, plan) == ("overdue", "open")
    [task] = crm.tasks.list(entity_type="deal", entity_id=plan.control_deal_id, rule=OVERDUE_RULE)
    assert "300.00 USD (65 days overdue)" in task.title  # every overdue item, the oldest one's age
    crm.deals.lose(plan.control_deal_id or 0, reason_text="customer insolvent")
    inst = Installments(crm, mia.id)
    assert inst.plan(deal.id).status == "written_off"
    with pytest.raises(ValidationError, match="written_off"):
        inst.record_payment(deal.id, "10.00")
    clock.advance(days=1)
    Worker(crm).run_once()
    assert control_stage(crm, plan) == ("written_off", "lost")


def test_a_refused_payment_leaves_nothing(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    deal, _ = sold(crm, None, amount="300.00", down="0.00", payments=3)
    inst = Installments(crm)
    for amount, kwargs, field in [("0.00", {}, "amount"), ("-5", {}, "amount"), ("1.001", {}, "amount"),
                                  ("10", {"currency": "EUR"}, "currency"), ("10", {"paid_on": "2027-01-01"}, "paid_on"),
                                  ("10", {"method": ""}, "method"), ("10", {"reference": "x" * 121}, "reference")]:
        with pytest.raises(ValidationError) as err:
            inst.record_payment(deal.id, amount, **kwargs)
        assert err.value.field == field
    assert inst.payments(deal.id) == [] and inst.plan(deal.id).paid.amount == Decimal("0.00")
