"""Sales at once from several threads (the web app's thread pool): stock is never oversold, a
tab's limit holds, a member's first charges open one tab (on PostgreSQL, row locks; on SQLite,
the single writer)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from sqlalchemy import func, select

from crmkit import FrozenClock, ValidationError
from crmkit_inventory.tables import tabs

from inventory_support import MakeCrm, bar, enabled, stocked


def test_concurrent_sales_never_oversell_or_overcharge(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock, tab_limit="20.00")
    stocked(crm).receive("bar", [{"sku": "SHAKE", "qty": "10", "unit_cost": "1.90"}])
    member = crm.contacts.create(first_name="Maya", last_name="Stone")

    def sell(n: int) -> str:
        try:
            bar(crm).sell("bar", [{"sku": "SHAKE", "qty": "1"}], payment="tab", contact_id=member.id)
            return "sold"
        except ValidationError as err:
            return str(err.field)

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(sell, range(8)))
    assert outcomes.count("sold") == 4 and outcomes.count("payment") == 4  # 4 x 4.90 = 19.60 <= 20.00
    tab = bar(crm).tab(member.id)
    assert tab.balance.amount == Decimal("19.60") and len(tab.entries) == 4
    with crm.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(tabs)) == 1

    def sell_card(n: int) -> str:
        try:
            bar(crm).sell("bar", [{"sku": "SHAKE", "qty": "2"}], payment="card")
            return "sold"
        except ValidationError as err:
            return str(err.field)

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(sell_card, range(8)))
    assert outcomes.count("sold") == 3 and outcomes.count("lines[0].qty") == 5  # 6 left: 3 sales of 2
    from crmkit_inventory.service import Inventory

    [level] = Inventory(crm).stock(sku="SHAKE")
    assert (level.on_hand, level.value.amount) == (Decimal("0.000"), Decimal("0.00"))


def test_a_retried_sale_is_written_once(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    stocked(crm).receive("bar", [{"sku": "WATER", "qty": "10", "unit_cost": "0.40"}])

    def sell(n: int) -> tuple[int, bool]:
        sale = bar(crm).sell("bar", [{"sku": "WATER", "qty": "2"}], payment="card", client_key="till-7")
        return sale.id, sale.replayed

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(sell, range(4)))
    assert len({sale_id for sale_id, _ in outcomes}) == 1 and [r for _, r in outcomes].count(False) == 1
    from crmkit_inventory.service import Inventory

    assert Inventory(crm).stock(sku="WATER")[0].on_hand == 8
