"""Customer returns with their money: the refund recorded pro rata (all returns of a line give back
exactly its total and VAT), paid back the way the sale was paid (a tab is credited), shown by the API
and the CLI; the sales reports subtract returns in the period they are taken (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from starlette.testclient import TestClient

from crmkit import ConflictError, FrozenClock, NotFoundError
from crmkit.testing import auth_headers
from crmkit.web import create_app
from crmkit_inventory import reports

from inventory_support import MakeCrm, bar, enabled, stocked, user


def test_a_return_records_its_refund_pro_rata(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    inv = stocked(crm)
    inv.receive("bar", [{"sku": "WATER", "qty": "10", "unit_cost": "0.33"},
                        {"sku": "SHAKE", "qty": "10", "unit_cost": "1.90"}])
    member = crm.contacts.create(first_name="Maya")
    sale = bar(crm).sell("bar", [{"sku": "WATER", "qty": "3"}, {"sku": "SHAKE", "qty": "1"}], payment="cash",
                         tendered="10.00", contact_id=member.id)
    water = sale.lines[0]
    assert (water.total.amount, water.vat.amount) == (D("4.50"), D("0.41"))
    got = [inv.refund(inv.return_sold(water.movement_id, "1").id) for _ in range(3)]
    assert [(r.amount.amount, r.vat.amount) for r in got] == [(D("1.50"), D("0.14")), (D("1.50"), D("0.13")),
                                                              (D("1.50"), D("0.14"))]
    assert sum(r.vat.amount for r in got) == water.vat.amount  # exactly the line's VAT, no cent lost
    assert {(r.method, r.sale_id, r.contact_id) for r in got} == {("cash", sale.id, member.id)}
    returned = [e for e in crm.timeline.of("contact", member.id).items if e.type == "inventory.returned"]
    assert [e.data["refund"] for e in returned] == [{"amount": "1.50", "currency": "USD"}] * 3
    with pytest.raises(NotFoundError):
        inv.refund(water.movement_id)  # a sale movement has no refund


def test_a_tab_sale_returned_is_credited_to_the_tab(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    inv = stocked(crm)
    inv.receive("bar", [{"sku": "SHAKE", "qty": "5", "unit_cost": "1.90"}])
    member = crm.contacts.create(first_name="Maya")
    till = bar(crm)
    sale = till.sell("bar", [{"sku": "SHAKE", "qty": "2"}], payment="tab", contact_id=member.id)
    assert till.tab(member.id).balance.amount == D("9.80")
    refund = inv.refund(inv.return_sold(sale.lines[0].movement_id, "1").id)
    assert (refund.method, refund.amount.amount) == ("tab", D("4.90"))
    tab = till.tab(member.id)
    assert tab.balance.amount == D("4.90") and sorted(e.kind for e in tab.entries) == ["charge", "refund"]
    with pytest.raises(ConflictError, match="has 1 return"):  # else the returned shake would come back twice
        till.void(sale.id, reason="mistake")
    assert till.tab(member.id).balance.amount == D("4.90")


def test_returns_come_off_the_sales_reports(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    inv = stocked(crm)
    inv.receive("bar", [{"sku": "SHAKE", "qty": "10", "unit_cost": "2.00"}])
    member = crm.contacts.create(first_name="Maya")
    till = bar(crm)
    sale = till.sell("bar", [{"sku": "SHAKE", "qty": "4"}], payment="card", contact_id=member.id)  # 19.60, VAT 3.27
    net_sold = D("19.60") - D("3.27")
    [before] = reports.gross_margin(crm)
    assert (before.revenue.amount, before.cost.amount) == (net_sold, D("8.00"))
    clock.advance(timedelta(days=1))
    refund = inv.refund(inv.return_sold(sale.lines[0].movement_id, "1").id)  # 4.90, VAT 0.82
    assert (refund.amount.amount, refund.vat.amount) == (D("4.90"), D("0.82"))
    net_back = refund.amount.amount - refund.vat.amount
    [after] = reports.gross_margin(crm)
    assert (after.revenue.amount, after.cost.amount, after.margin.amount) == (
        net_sold - net_back, D("6.00"), net_sold - net_back - D("6.00"))
    [best] = reports.best_sellers(crm)
    assert (best.sku, best.qty, best.revenue.amount) == ("SHAKE", D("3.000"), net_sold - net_back)
    shake = next(t for t in reports.turnover(crm) if t.sku == "SHAKE")
    assert (shake.on_hand, shake.sold) == (D("7.000"), D("3.000"))
    [seg] = reports.sales_by_segment(crm)
    assert (seg.segment, seg.receipts, seg.revenue.amount) == ("unsegmented", 1, net_sold - net_back)
    # the period of the sale alone keeps the whole sale; the return's day alone shows only the return
    today = clock.now().date()
    [day_of_sale] = reports.gross_margin(crm, since=today - timedelta(days=1), until=today - timedelta(days=1))
    assert day_of_sale.revenue.amount == net_sold
    [day_of_return] = reports.gross_margin(crm, since=today, until=today)
    assert (day_of_return.revenue.amount, day_of_return.cost.amount) == (-net_back, D("-2.00"))


def test_the_api_and_the_cli_show_the_refund(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    admin = user(crm)
    inv = stocked(crm, admin.id)
    inv.receive("bar", [{"sku": "WATER", "qty": "10", "unit_cost": "0.40"}])
    sale = bar(crm, admin.id).sell("bar", [{"sku": "WATER", "qty": "2"}], payment="card")
    with TestClient(create_app(crm), headers=auth_headers(crm, admin.id)) as client:
        r = client.post("/api/v1/inventory/returns", json={"movement_id": sale.lines[0].movement_id, "qty": "1"})
        assert r.status_code == 201, r.text
        assert r.json()["refund"]["amount"] == {"amount": "1.50", "currency": "USD"}
        assert r.json()["refund"]["method"] == "card"
        again = client.post("/api/v1/inventory/returns", json={"movement_id": sale.lines[0].movement_id, "qty": "2"})
        assert again.status_code == 422 and again.json()["error"]["field"] == "qty"
