"""The bar's day, end to end: receive from a supplier, sell to a member on account, hit the tab's
limit, pay the tab, count with a shortage, one low-stock task; and with installments enabled too,
a member with an overdue installment is refused at the tab."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crmkit import FrozenClock, ValidationError
from crmkit_inventory.config import LOW_STOCK_RULE
from crmkit_inventory.counts import Counts
from crmkit_inventory.reports import shrinkage

from inventory_support import MakeCrm, bar, enabled, stocked, user


def low_stock_tasks(crm) -> list:
    return [t for t in crm.tasks.list(limit=100).items if t.rule == LOW_STOCK_RULE]


def test_a_day_at_the_bar(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock, tab_limit="20.00", manager="max@club.example")
    manager = user(crm, "max", role="head")
    ben = user(crm, "ben", role="manager")
    inv = stocked(crm, manager.id)
    inv.receive("bar", [{"sku": "SHAKE", "qty": "6", "unit_cost": "1.90"}], supplier="Aqua Ltd")
    inv.set_threshold("SHAKE", "bar", "3")
    assert low_stock_tasks(crm) == []
    member = crm.contacts.create(first_name="Maya", last_name="Stone")
    till = bar(crm, ben.id)

    till.sell("bar", [{"sku": "SHAKE", "qty": "2"}], payment="tab", contact_id=member.id)  # 9.80 on the tab
    till.sell("bar", [{"sku": "SHAKE", "qty": "1"}], payment="tab", contact_id=member.id)  # 14.70
    with pytest.raises(ValidationError, match="would make it 24.50 USD"):
        till.sell("bar", [{"sku": "SHAKE", "qty": "2"}], payment="tab", contact_id=member.id)
    assert inv.stock(sku="SHAKE")[0].on_hand == 3  # the refused sale took nothing
    till.pay_tab(member.id, "14.70", method="cash")
    assert till.tab(member.id).balance.amount == 0
    till.sell("bar", [{"sku": "SHAKE", "qty": "1"}], payment="tab", contact_id=member.id)  # 2 left: below 3
    till.sell("bar", [{"sku": "SHAKE", "qty": "1"}], payment="card")  # still below: no second task
    [task] = low_stock_tasks(crm)
    assert task.assignee_id == manager.id and "SHAKE" in task.title and task.status == "open"

    counts = Counts(crm, manager.id)
    sheet = counts.open("bar")
    Counts(crm, ben.id).enter(sheet.id, [{"sku": "SHAKE", "qty": "0", "reason": "theft"}])  # one is missing
    Counts(crm, ben.id).enter(sheet.id, [{"sku": "WATER", "qty": "0"}])
    closed = counts.close(sheet.id)
    assert [(ln.sku, ln.expected, ln.difference) for ln in closed.lines] == [
        ("SHAKE", Decimal("1.000"), Decimal("-1.000")), ("WATER", Decimal("0.000"), Decimal("0.000"))]
    [lost] = shrinkage(crm)
    assert (lost.sku, lost.reason, lost.qty, lost.value.amount) == ("SHAKE", "theft", Decimal("1.000"),
                                                                    Decimal("1.90"))
    assert len(low_stock_tasks(crm)) == 1  # still the one task
    inv.receive("bar", [{"sku": "SHAKE", "qty": "12", "unit_cost": "1.90"}])
    [task] = low_stock_tasks(crm)
    assert task.status == "done"  # back above the threshold: the task is closed
    till.sell("bar", [{"sku": "SHAKE", "qty": "10"}], payment="card")
    assert [t.status for t in low_stock_tasks(crm)].count("open") == 1  # below again: a new task, once


def test_an_overdue_installment_closes_the_tab(make_crm: MakeCrm, clock: FrozenClock) -> None:
    from crmkit_installments.service import Installments

    crm = enabled(make_crm, clock, plugins=("inventory", "installments"), tab_limit="50.00")
    assert "inventory_installments" in crm.auto_enabled
    inv = stocked(crm)
    inv.receive("bar", [{"sku": "SHAKE", "qty": "10", "unit_cost": "1.90"}])
    member = crm.contacts.create(first_name="Maya", last_name="Stone")
    other = crm.contacts.create(first_name="Omar", last_name="Reed")
    deal = crm.deals.create(title="Yearly membership", amount="600.00", contact_id=member.id)
    Installments(crm).create_plan(deal.id, payments=3, start="2026-02-01")  # on 2026-03-02: 2 x 200.00 overdue
    crm.deals.win(deal.id)
    till = bar(crm)
    with pytest.raises(ValidationError, match="closed to charges: overdue installments: 400.00 USD") as err:
        till.sell("bar", [{"sku": "SHAKE", "qty": "1"}], payment="tab", contact_id=member.id)
    assert err.value.field == "payment"
    tab = till.tab(member.id)
    assert tab.blocked and tab.available.amount == 0 and tab.holds[0].reduce_by.amount == Decimal("400.00")
    till.sell("bar", [{"sku": "SHAKE", "qty": "1"}], payment="cash", contact_id=member.id)  # cash is fine
    till.sell("bar", [{"sku": "SHAKE", "qty": "1"}], payment="tab", contact_id=other.id)  # others unaffected
    Installments(crm).record_payment(deal.id, "200.00")  # one still overdue
    with pytest.raises(ValidationError, match="overdue installments: 200.00 USD"):
        till.sell("bar", [{"sku": "SHAKE", "qty": "1"}], payment="tab", contact_id=member.id)
    Installments(crm).record_payment(deal.id, "200.00")
    till.sell("bar", [{"sku": "SHAKE", "qty": "1"}], payment="tab", contact_id=member.id)
    assert till.tab(member.id).balance.amount == Decimal("4.90")


def test_a_manager_who_is_no_user_leaves_the_task_unassigned(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock, manager="nobody@club.example")
    inv = stocked(crm)
    inv.receive("bar", [{"sku": "WATER", "qty": "3", "unit_cost": "0.40"}])
    inv.set_threshold("WATER", "bar", "5")  # below at once: the task is made, the command goes through
    [task] = low_stock_tasks(crm)
    assert task.assignee_id is None and "Restock Water 0.5 l (WATER) at Bar" == task.title


def test_without_installments_the_glue_stays_off(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    assert not crm.pm.has_plugin("inventory_installments")
