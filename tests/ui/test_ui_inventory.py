"""The inventory plugin in the browser: a bar sale of two lines paid cash with change (the receipt
on screen, the sale and its stock movements written), and the stock page, checked by axe-core on a
desktop and on a 360 px phone; the screenshots go to plugins/inventory/screenshots."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from conftest import PASSWORD, UiServer, axe_violations, deployment, serving

from crmkit import Crm
from crmkit.core import auth
from crmkit_inventory.service import Inventory

Open = Callable[..., Any]
SHOTS = Path(__file__).resolve().parents[2] / "plugins" / "inventory" / "screenshots"
PHONE = {"width": 360, "height": 760}


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    """A bar: a bartender (head) with a password, a bar and a store room, three products received."""
    crm: Crm = deployment(tmp_path_factory.mktemp("ui-inventory"), plugins=["inventory"], name="Riverside Fitness")
    ben = crm.system.users.create(email="ben@example.com", name="Ben Barista", role="head").id
    auth.set_password(crm, ben, PASSWORD)
    inv = Inventory(crm, ben)
    inv.create_location("bar", "Bar")
    inv.create_location("store", "Store room")
    inv.create_product(sku="WATER", name="Still water 0.5 l", price="1.50", vat_rate="10", category="drinks")
    inv.create_product(sku="SHAKE", name="Protein shake, chocolate", price="4.90", vat_rate="20", category="drinks")
    inv.create_product(sku="NUTS", name="Mixed nuts", price="24.00", unit="kg", vat_rate="7", category="snacks")
    inv.receive("bar", [{"sku": "WATER", "qty": "24", "unit_cost": "0.40"},
                        {"sku": "SHAKE", "qty": "6", "unit_cost": "1.90"},
                        {"sku": "NUTS", "qty": "1.250", "unit_cost": "11.00"}])
    inv.receive("store", [{"sku": "WATER", "qty": "48", "unit_cost": "0.38"}])
    inv.set_threshold("SHAKE", "bar", "5")
    with serving(crm) as url:
        yield UiServer(url, crm, {"ben": ben}, {})
    crm.close()


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def _fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page scrolls sideways ({width} px)"


def _on_hand(crm: Crm, sku: str, location: str) -> Decimal:
    return next(s.on_hand for s in Inventory(crm).stock() if (s.sku, s.location) == (sku, location))


def test_a_two_line_cash_sale_gives_the_change(page_for: Open, ui_server: UiServer) -> None:
    crm = ui_server.crm
    for size, suffix in (({}, "desktop"), (PHONE, "phone")):
        water, shake = _on_hand(crm, "WATER", "bar"), _on_hand(crm, "SHAKE", "bar")
        page = page_for("ben", **size)
        page.goto(f"{ui_server.url}/p/inventory/sell")
        assert axe_violations(page) == []
        page.select_option('select[name="sku0"]', "WATER")
        page.fill('input[name="qty0"]', "2")
        page.select_option('select[name="sku1"]', "SHAKE")
        page.fill('input[name="qty1"]', "1")
        page.select_option('select[name="payment"]', "cash")
        page.fill('input[name="tendered"]', "10.00")
        page.click("form button.primary")
        receipt = page.locator("section.receipt")
        receipt.wait_for()
        text = receipt.inner_text()
        assert "$7.90" in text and "$2.10" in text and "$10.00" in text, text  # 2 x 1.50 + 4.90; 10.00 - 7.90
        assert receipt.locator("tbody tr").count() == 2
        assert (_on_hand(crm, "WATER", "bar"), _on_hand(crm, "SHAKE", "bar")) == (water - 2, shake - 1)
        assert axe_violations(page) == []
        _fits(page)
        _shot(page, f"bar-sale-{suffix}.png")


def test_the_stock_page(page_for: Open, ui_server: UiServer) -> None:
    for size, suffix in (({}, "desktop"), (PHONE, "phone")):
        page = page_for("ben", **size)
        page.goto(f"{ui_server.url}/p/inventory/stock")
        rows = page.locator("table.stock tbody tr")
        assert rows.count() == 4  # water at two places, the shake, the nuts
        text = page.locator("table.stock").inner_text()
        assert "Mixed nuts" in text and "1.25" in text and "store" in text and "low" in text  # the shake is below 5
        assert axe_violations(page) == []
        _fits(page)
        _shot(page, f"stock-{suffix}.png")
