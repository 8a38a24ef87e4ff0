"""The glue plugin switches itself on exactly when inventory and installments both are, owns no
tables, and holds an overdue member's tab (the whole bar scenario is in the inventory plugin's
test_inventory_scenario.py).

``check_plugin`` is not run here: it starts the glue's sides minus the last one, then all of
them, and counts the last side's own tables (installments has tables) as the glue's."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from crmkit import FrozenClock
from crmkit.testing import MakeCrm
from crmkit_installments.service import Installments
from crmkit_inventory.sales import Bar

NAME = "inventory_installments"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # plugin loading, not storage
def test_on_with_both_sides_only(make_crm: MakeCrm) -> None:
    for plugins in (["inventory"], ["installments"]):
        assert not make_crm(plugins=plugins).pm.has_plugin(NAME), plugins
    both = make_crm(plugins=["inventory", "installments"])
    assert both.auto_enabled == {NAME: ("inventory", "installments")}
    alone = make_crm(plugins=["inventory"])
    assert set(both.tables) - set(alone.tables) == {t for t in both.tables if t.startswith("installments_")}


def test_the_hold_follows_the_overdue_amount(make_crm: MakeCrm, clock: FrozenClock) -> None:
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc))
    crm = make_crm(plugins=["inventory", "installments"])
    member = crm.contacts.create(first_name="Maya", last_name="Stone")
    deal = crm.deals.create(title="Membership", amount="300.00", contact_id=member.id)
    Installments(crm).create_plan(deal.id, payments=3, start="2026-02-15")  # 100.00 due 02-15: overdue
    bar = Bar(crm)
    assert bar.tab(member.id).holds == ()  # not won yet: no active plan
    crm.deals.win(deal.id)
    tab = bar.tab(member.id)
    assert tab.blocked and [h.reduce_by.amount for h in tab.holds] == [Decimal("100.00")]
    assert "overdue installments: 100.00 USD" in tab.holds[0].reason
    clock.set(datetime(2026, 3, 16, 9, 0, tzinfo=timezone.utc))  # 03-15 is overdue too
    assert bar.tab(member.id).holds[0].reduce_by.amount == Decimal("200.00")
    Installments(crm).record_payment(deal.id, "200.00")
    assert bar.tab(member.id).holds == () and not bar.tab(member.id).blocked
