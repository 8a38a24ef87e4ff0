"""The plugin as a deployment loads it: conformance, nothing left behind when disabled, its
migrations, its reports' arithmetic and the segment hook."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping, Sequence

from crmkit import Crm, FrozenClock, hookimpl
from crmkit.testing import check_plugin
from crmkit_inventory import reports

from inventory_support import MakeCrm, bar, enabled, stocked


def test_conforms(db_url: str) -> None:
    check_plugin("inventory", db_url)


def test_disabled_leaves_nothing_behind(make_crm: MakeCrm) -> None:
    crm = make_crm(plugins=[])
    assert not crm.pm.has_plugin("inventory")
    assert not [t for t in crm.tables if t.startswith("inventory")]
    assert not hasattr(crm.pm.hook, "inventory_tab_holds")


def test_reports(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    inv = stocked(crm)
    inv.receive("bar", [{"sku": "WATER", "qty": "30", "unit_cost": "0.40"},
                        {"sku": "SHAKE", "qty": "10", "unit_cost": "2.00"}])
    till = bar(crm)
    member = crm.contacts.create(first_name="Maya", last_name="Stone")
    till.sell("bar", [{"sku": "WATER", "qty": "10"}], payment="card")  # revenue 15.00 - 1.36 VAT = 13.64
    till.sell("bar", [{"sku": "SHAKE", "qty": "2"}], payment="card", contact_id=member.id)  # 9.80 - 1.63 = 8.17
    [margin] = reports.gross_margin(crm)
    assert (margin.revenue.amount, margin.cost.amount, margin.margin.amount) == (
        Decimal("21.81"), Decimal("8.00"), Decimal("13.81"))
    assert margin.margin_percent == Decimal("63.32")
    assert [b.sku for b in reports.best_sellers(crm)] == ["WATER", "SHAKE"]
    assert [b.sku for b in reports.best_sellers(crm, by="margin")] == ["WATER", "SHAKE"]  # 9.64 vs 4.17
    turn = {t.sku: t for t in reports.turnover(crm)}
    # 20 water left, 10 sold in 30 days: 60 days left; value 8.00 / (4.00 / 30 days) = 60 days of turnover
    assert (turn["WATER"].days_left, turn["WATER"].turnover_days) == (Decimal("60.0"), Decimal("60.0"))
    assert turn["NUTS"].days_left is None if "NUTS" in turn else True
    segments = {s.segment: s for s in reports.sales_by_segment(crm)}
    assert set(segments) == {"walk-in", "unsegmented"} and segments["unsegmented"].members == 1

    class Phases:
        @hookimpl
        def inventory_member_segments(self, contact_ids: Sequence[int]) -> Mapping[int, str]:
            return {c: "active use" for c in contact_ids}

    crm.pm.register(Phases())
    assert {s.segment for s in reports.sales_by_segment(crm)} == {"walk-in", "active use"}
    assert reports.sales_by_segment(crm, since="2020-01-01", until="2020-01-31") == []


def test_a_later_start_finds_the_ledger(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    inv = stocked(crm)
    inv.receive("bar", [{"sku": "WATER", "qty": "3", "unit_cost": "0.40"}])
    again: Any = enabled(make_crm, clock)
    from crmkit_inventory.service import Inventory

    assert Inventory(again).stock()[0].on_hand == 3
    assert isinstance(again, Crm)
