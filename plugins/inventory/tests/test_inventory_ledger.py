"""The stock ledger through the service: receipts, write-offs, transfers, returns, reversals,
on hand and stock value at the moving average, the negative-stock policy."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crmkit import ConflictError, FrozenClock, ValidationError
from crmkit_inventory.tables import movements

from inventory_support import MakeCrm, bar, enabled, stocked

D = Decimal


def level(inv, sku: str, location: str = "bar") -> tuple[Decimal, Decimal]:
    [found] = inv.stock(sku=sku, location=location)
    return found.on_hand, found.value.amount


def ledger_rows(crm) -> int:
    with crm.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(movements)))


def test_receipts_value_stock_at_the_moving_average(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    inv = stocked(crm)
    inv.receive("bar", [{"sku": "WATER", "qty": "10", "unit_cost": "0.40"}], supplier="Aqua Ltd")
    inv.receive("bar", [{"sku": "WATER", "qty": "20", "unit_cost": "0.55"}])
    assert level(inv, "WATER") == (D("30.000"), D("15.00"))  # 4.00 + 11.00
    [out] = [inv.write_off("bar", "WATER", "7", reason="broken")]
    assert out.value.amount == D("-3.50")  # 15.00 * 7 / 30 = 3.50
    assert level(inv, "WATER") == (D("23.000"), D("11.50"))
    third = inv.write_off("bar", "WATER", "3", reason="expired")
    assert third.value.amount == D("-1.50")
    assert inv.stock(sku="WATER")[0].average_cost.amount == D("0.50")


def test_rounding_is_half_up_and_emptying_takes_the_whole_value(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    inv = stocked(crm)
    inv.receive("bar", [{"sku": "WATER", "qty": "3", "unit_cost": "0.33"},
                        {"sku": "WATER", "qty": "1", "unit_cost": "0.34"}])  # 0.99 + 0.34 = 1.33 for 4
    assert inv.write_off("bar", "WATER", "1", reason="x").value.amount == D("-0.33")  # 0.3325 -> 0.33
    assert inv.write_off("bar", "WATER", "2", reason="x").value.amount == D("-0.67")  # 1.00*2/3 = 0.666.. -> 0.67
    assert inv.write_off("bar", "WATER", "1", reason="x").value.amount == D("-0.33")  # the rest, exactly
    assert level(inv, "WATER") == (D("0.000"), D("0.00"))


def test_weighed_goods_take_three_decimals(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    inv = stocked(crm)
    inv.receive("store", [{"sku": "NUTS", "qty": "2.500", "unit_cost": "9.99"}])  # 24.975 -> 24.98
    assert level(inv, "NUTS", "store") == (D("2.500"), D("24.98"))
    moved = inv.transfer("NUTS", "0.125", source="store", target="bar")
    assert [m.qty for m in moved] == [D("-0.125"), D("0.125")]
    assert -moved[0].value.amount == moved[1].value.amount == D("1.25")  # 24.98 * 0.125 / 2.5 = 1.249
    with pytest.raises(ValidationError, match="too many decimals") as err:
        inv.transfer("NUTS", "0.0001", source="store", target="bar")
    assert err.value.field == "qty"
    with pytest.raises(ValidationError, match="whole units"):
        inv.receive("bar", [{"sku": "WATER", "qty": "1.5", "unit_cost": "0.40"}])


def test_negative_stock_is_refused_with_the_numbers_and_nothing_is_written(make_crm: MakeCrm,
                                                                           clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    inv = stocked(crm)
    inv.receive("bar", [{"sku": "WATER", "qty": "2", "unit_cost": "0.40"}])
    before = ledger_rows(crm)
    with pytest.raises(ValidationError, match=r"only 2.000 pcs of WATER at bar; taking 5.000 would leave -3.000"):
        inv.write_off("bar", "WATER", "5", reason="broken")
    with pytest.raises(ValidationError) as err:  # the second line fails: the first is not written either
        bar(crm).sell("bar", [{"sku": "WATER", "qty": "1"}, {"sku": "WATER", "qty": "2"}])
    assert err.value.field == "lines[1].qty"
    assert ledger_rows(crm) == before
    assert level(inv, "WATER") == (D("2.000"), D("0.80"))


def test_negative_stock_allowed_is_flagged_and_costed_at_zero(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock, negative_stock="allow")
    inv = stocked(crm)
    inv.receive("bar", [{"sku": "WATER", "qty": "2", "unit_cost": "0.40"}])
    sale = bar(crm).sell("bar", [{"sku": "WATER", "qty": "5"}])
    [moved] = inv.movements(kind="sale")
    assert moved.negative and moved.value.amount == D("-0.80") and sale.lines[0].qty == D("5.000")
    assert level(inv, "WATER") == (D("-3.000"), D("0.00"))
    inv.receive("bar", [{"sku": "WATER", "qty": "10", "unit_cost": "0.50"}])  # 3 of them fill the hole
    assert level(inv, "WATER") == (D("7.000"), D("3.50"))


def test_reversal_restores_exactly_and_only_once(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    inv = stocked(crm)
    inv.receive("bar", [{"sku": "WATER", "qty": "10", "unit_cost": "0.40"}])
    before = level(inv, "WATER")
    [late] = inv.receive("bar", [{"sku": "WATER", "qty": "3", "unit_cost": "0.77"}])
    back = inv.reverse(late.id, reason="wrong delivery")
    assert (back.qty, back.value.amount, back.reverses_id, back.kind) == (D("-3.000"), D("-2.31"), late.id, "receipt")
    assert level(inv, "WATER") == before
    with pytest.raises(ConflictError):
        inv.reverse(late.id, reason="again")
    with pytest.raises(ValidationError, match="is a reversal"):
        inv.reverse(back.id, reason="undo the undo")
    moved = inv.transfer("WATER", "4", source="bar", target="store")
    inv.reverse(moved[0].id, reason="not moved after all")
    assert level(inv, "WATER") == before
    assert inv.stock(sku="WATER", location="store")[0].on_hand == 0


def test_a_reversal_that_would_take_stock_negative_is_refused(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    inv = stocked(crm)
    [got] = inv.receive("bar", [{"sku": "WATER", "qty": "3", "unit_cost": "0.40"}])
    bar(crm).sell("bar", [{"sku": "WATER", "qty": "2"}])
    with pytest.raises(ValidationError, match="only 1.000"):
        inv.reverse(got.id, reason="wrong")


def test_returns_give_back_the_sales_cost_pro_rata(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    inv = stocked(crm)
    inv.receive("bar", [{"sku": "WATER", "qty": "3", "unit_cost": "0.33"}])
    sale = bar(crm).sell("bar", [{"sku": "WATER", "qty": "3"}])
    movement = sale.lines[0].movement_id
    values = [inv.return_sold(movement, "1").value.amount for _ in range(3)]
    assert values == [D("0.33"), D("0.33"), D("0.33")] and sum(values) == D("0.99")
    with pytest.raises(ValidationError, match="0.000 of that sale can still be returned"):
        inv.return_sold(movement, "1")
    assert level(inv, "WATER") == (D("3.000"), D("0.99"))


def test_unknown_references_and_bad_values_name_the_field(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    inv = stocked(crm)
    cases = [
        (lambda: inv.receive("bar", [{"sku": "NOPE", "qty": "1", "unit_cost": "1"}]), "lines[0].sku"),
        (lambda: inv.receive("attic", [{"sku": "WATER", "qty": "1", "unit_cost": "1"}]), "location"),
        (lambda: inv.receive("bar", [{"sku": "WATER", "qty": "-1", "unit_cost": "1"}]), "lines[0].qty"),
        (lambda: inv.receive("bar", [{"sku": "WATER", "qty": 1.5, "unit_cost": "1"}]), "lines[0].qty"),
        (lambda: inv.receive("bar", [{"sku": "WATER", "qty": "١", "unit_cost": "1"}]), "lines[0].qty"),
        (lambda: inv.receive("bar", [{"sku": "WATER", "qty": "1e-400", "unit_cost": "1"}]), "lines[0].qty"),
        (lambda: inv.receive("bar", [{"sku": "WATER", "qty": "1", "unit_cost": "0.001"}]), "lines[0].unit_cost"),
        (lambda: inv.receive("bar", [{"sku": "WATER", "qty": "1", "unit_cost": "1", "currency": "EUR"}]),
         "lines[0].currency"),
        (lambda: inv.receive("bar", [{"sku": "WATER", "qty": "1", "unit_cost": "1", "colour": "red"}]),
         "lines[0].colour"),
        (lambda: inv.receive("bar", []), "lines"),
        (lambda: inv.receive("bar", [{"sku": "WATER", "qty": "1", "unit_cost": "1"}], supplier="Nobody"), "supplier"),
        (lambda: inv.create_product(sku="WATER", name="Again", price="1"), "sku"),
        (lambda: inv.create_product(sku="X", name="X", price="1.001"), "price"),
        (lambda: inv.create_product(sku="X", name="X", price="1", vat_rate="120"), "vat_rate"),
        (lambda: inv.create_product(sku="X", name="X", price="1", unit="crate"), "unit"),
        (lambda: inv.create_product(sku="X", name="X", price="1", currency="EUR"), "currency"),
        (lambda: inv.write_off("bar", "WATER", "1", reason=""), "reason"),
    ]
    for call, field in cases:
        with pytest.raises((ValidationError, ConflictError)) as err:
            call()
        assert err.value.field == field, (field, err.value)
    assert ledger_rows(crm) == 0
    assert [p.sku for p in inv.products()] == ["WATER", "SHAKE", "NUTS"]
