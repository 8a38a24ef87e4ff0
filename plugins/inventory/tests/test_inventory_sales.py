"""Bar sales and tabs through the service: totals, VAT and change exactly, walk-ins and members,
the tab's limit, paying it off, voiding, the receipt on the contact's timeline."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crmkit import ConflictError, FrozenClock, PermissionDeniedError, ValidationError

from inventory_support import MakeCrm, bar, enabled, stocked, user

D = Decimal


def test_a_cash_sale_with_totals_vat_and_change(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    inv = stocked(crm)
    inv.receive("bar", [{"sku": "WATER", "qty": "10", "unit_cost": "0.40"},
                        {"sku": "SHAKE", "qty": "5", "unit_cost": "1.90"},
                        {"sku": "NUTS", "qty": "1.000", "unit_cost": "11.00"}])
    sale = bar(crm).sell("bar", [{"sku": "WATER", "qty": "3"}, {"sku": "SHAKE", "qty": "1"},
                                 {"sku": "NUTS", "qty": "0.155"}], payment="cash", tendered="20.00")
    # 3 x 1.50 = 4.50 (VAT 10 %: 4.50 - 4.09 = 0.41); 4.90 (20 %: 4.90 - 4.08 = 0.82);
    # 24.00 x 0.155 = 3.72 (7 %: 3.72 - 3.48 = 0.24)
    assert [ln.total.amount for ln in sale.lines] == [D("4.50"), D("4.90"), D("3.72")]
    assert [ln.vat.amount for ln in sale.lines] == [D("0.41"), D("0.82"), D("0.24")]
    assert (sale.total.amount, sale.vat.amount, sale.tendered.amount, sale.change.amount) == (
        D("13.12"), D("1.47"), D("20.00"), D("6.88"))
    assert sale.contact_id is None and sale.payment == "cash"
    scanned = bar(crm).sell("bar", [{"sku": "4006381333931", "qty": "1"}], payment="card")  # the shake's barcode
    assert [(ln.sku, ln.total.amount) for ln in scanned.lines] == [("SHAKE", D("4.90"))]
    assert inv.stock(sku="WATER")[0].on_hand == 7
    with pytest.raises(ValidationError, match="less than the total") as err:
        bar(crm).sell("bar", [{"sku": "WATER", "qty": "1"}], tendered="1.00")
    assert err.value.field == "tendered"
    with pytest.raises(ValidationError) as err:
        bar(crm).sell("bar", [{"sku": "WATER", "qty": "1"}], payment="card", tendered="2.00")
    assert err.value.field == "tendered"
    with pytest.raises(ValidationError) as err:
        bar(crm).sell("bar", [{"sku": "WATER", "qty": "1"}], currency="EUR")
    assert err.value.field == "currency"
    with pytest.raises(ValidationError) as err:
        bar(crm).sell("bar", [{"sku": "WATER", "qty": "1", "currency": "EUR"}])
    assert err.value.field == "lines[0].currency"
    assert inv.stock(sku="WATER")[0].on_hand == 7


def test_a_members_tab_its_limit_and_paying_it(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock, tab_limit="10.00")
    inv = stocked(crm)
    inv.receive("bar", [{"sku": "SHAKE", "qty": "10", "unit_cost": "1.90"}])
    member = crm.contacts.create(first_name="Maya", last_name="Stone")
    till = bar(crm)
    with pytest.raises(ValidationError) as err:
        till.sell("bar", [{"sku": "SHAKE", "qty": "1"}], payment="tab")
    assert err.value.field == "contact_id"
    till.sell("bar", [{"sku": "SHAKE", "qty": "2"}], payment="tab", contact_id=member.id)  # 9.80
    with pytest.raises(ValidationError, match=r"limit is 10.00 USD; it owes 9.80 USD and this sale of 4.90 USD "
                                              r"would make it 14.70 USD"):
        till.sell("bar", [{"sku": "SHAKE", "qty": "1"}], payment="tab", contact_id=member.id)
    tab = till.tab(member.id)
    assert (tab.balance.amount, tab.available.amount, tab.limit.amount) == (D("9.80"), D("0.20"), D("10.00"))
    with pytest.raises(ValidationError, match="owes 9.80 USD"):
        till.pay_tab(member.id, "10.00")
    till.pay_tab(member.id, "5.00", method="card")
    till.sell("bar", [{"sku": "SHAKE", "qty": "1"}], payment="tab", contact_id=member.id)
    assert till.tab(member.id).balance.amount == D("9.70")
    types = [e.type for e in crm.timeline.of("contact", member.id)]
    assert types.count("inventory.sale") == 2 and "inventory.tab_paid" in types
    [event] = [e for e in crm.timeline.of("contact", member.id) if e.type == "inventory.sale"][:1]
    assert event.data["payment"] == "tab" and event.data["lines"][0]["sku"] == "SHAKE"


def test_void_puts_stock_back_and_refunds_the_tab(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    inv = stocked(crm)
    inv.receive("bar", [{"sku": "SHAKE", "qty": "4", "unit_cost": "1.95"}])
    member = crm.contacts.create(first_name="Maya", last_name="Stone")
    before = inv.stock(sku="SHAKE")[0]
    sale = bar(crm).sell("bar", [{"sku": "SHAKE", "qty": "3"}], payment="tab", contact_id=member.id)
    voided = bar(crm).void(sale.id, reason="wrong member")
    assert voided.voided_at is not None
    after = inv.stock(sku="SHAKE")[0]
    assert (after.on_hand, after.value) == (before.on_hand, before.value)
    assert bar(crm).tab(member.id).balance.amount == 0
    with pytest.raises(ConflictError):
        bar(crm).void(sale.id, reason="again")
    with pytest.raises(ValidationError, match="void the sale"):
        inv.reverse(sale.lines[0].movement_id, reason="sneaky")


def test_roles_sell_and_manage(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    inv = stocked(crm)
    inv.receive("bar", [{"sku": "WATER", "qty": "4", "unit_cost": "0.40"}])
    bartender = user(crm, "ben", role="manager")
    bar(crm, bartender.id).sell("bar", [{"sku": "WATER", "qty": "1"}], payment="card")
    from crmkit_inventory.service import Inventory

    with pytest.raises(PermissionDeniedError):
        Inventory(crm, bartender.id).receive("bar", [{"sku": "WATER", "qty": "1", "unit_cost": "0.40"}])
    with pytest.raises(PermissionDeniedError):
        bar(crm, bartender.id).set_tab_limit(crm.contacts.create(first_name="A", last_name="B").id, "100.00")
