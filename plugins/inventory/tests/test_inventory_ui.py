"""The bar-sale screen and the stock page in the web UI (HTTP, logged in through the login form):
a sale with its receipt, a refused sale that shows its error and writes nothing, the stock page,
the sale on the member's timeline; absent without the plugin."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from crmkit import Crm
from crmkit.cli import cli
from crmkit.web import create_app
from crmkit_inventory.service import Inventory

PASSWORD = "bar-password-1"


@pytest.fixture
def deployment(db_url: str, tmp_path: Path) -> Iterator[tuple[Crm, int]]:
    """A deployment made by ``crmkit init`` with the plugin enabled, a bartender with a password."""
    folder = tmp_path / "club"
    env = {"CRMKIT_PLUGINS": None, "CRMKIT_CONFIG": None, "CRMKIT_USER": None}
    runner = CliRunner()
    assert runner.invoke(cli, ["init", str(folder), "--database", db_url], env=env).exit_code == 0
    config = folder / "crmkit.toml"
    config.write_text(config.read_text().replace("plugins = []", 'plugins = ["inventory"]', 1))
    added = runner.invoke(cli, ["--config", str(config), "users", "add", "--email", "ben@club.example", "--name", "Ben",
                                "--role", "head", "--password", PASSWORD], env=env)
    assert added.exit_code == 0, added.output
    crm = Crm.from_config(config)
    ben = crm.users.by_email("ben@club.example")
    inv = Inventory(crm, ben.id)
    inv.create_location("bar", "Bar")
    inv.create_product(sku="WATER", name="Water 0.5 l", price="1.50", vat_rate="10")
    inv.create_product(sku="SHAKE", name="Protein shake", price="4.90", vat_rate="20")
    inv.receive("bar", [{"sku": "WATER", "qty": "24", "unit_cost": "0.40"}, {"sku": "SHAKE", "qty": "6",
                                                                              "unit_cost": "1.90"}])
    inv.set_threshold("SHAKE", "bar", "5")
    yield crm, ben.id
    crm.close()


def logged_in(crm: Crm) -> TestClient:
    client = TestClient(create_app(crm))
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    answer = client.post("/login", data={"email": "ben@club.example", "password": PASSWORD, "csrf": csrf, "next": "/"},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client


def csrf(page: Any) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr,no-any-return]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # pages; their services run on both elsewhere
def test_sell_at_the_bar_and_see_the_stock(deployment: tuple[Crm, int]) -> None:
    crm, ben = deployment
    member = crm.as_user(ben).contacts.create(first_name="Maya", last_name="Stone")
    with logged_in(crm) as client:
        page = client.get("/p/inventory/sell")
        assert page.status_code == 200 and "Protein shake" in page.text and 'href="/p/inventory/stock"' in page.text
        sold = client.post("/p/inventory/sell", data={
            "csrf": csrf(page), "location": "bar", "sku0": "WATER", "qty0": "2", "sku1": "SHAKE", "qty1": "2",
            "payment": "cash", "tendered": "20.00", "contact_id": str(member.id)})
        assert sold.status_code == 200, sold.text
        assert "Receipt" in sold.text and "12.80" in sold.text and "7.20" in sold.text  # total, change
        refused = client.post("/p/inventory/sell", data={
            "csrf": csrf(page), "location": "bar", "sku0": "SHAKE", "qty0": "9", "payment": "card"})
        assert "only 4.000 pcs of SHAKE at bar" in refused.text and "Receipt" not in refused.text
        assert Inventory(crm).stock(sku="SHAKE")[0].on_hand == 4
        stock = client.get("/p/inventory/stock")
        assert stock.status_code == 200 and "WATER" in stock.text and "low" in stock.text  # SHAKE 4 < 5
        assert "$16.40" in stock.text  # the total: water 22 x 0.40 + shake 4 x 1.90 = 8.80 + 7.60
        card = client.get(f"/contacts/{member.id}")
        assert "Bar: sale 12.80 USD (2.000 x WATER, 2.000 x SHAKE)" in card.text
        assert client.post("/p/inventory/sell", data={"location": "bar", "sku0": "WATER", "qty0": "1"}).status_code == 403
        assert Inventory(crm).stock(sku="WATER")[0].on_hand == 22
        analysis = client.get("/p/inventory/analysis?by=margin")
        assert analysis.status_code == 200 and "Gross margin" in analysis.text
        # revenue net of VAT 2.73 + 8.17, cost 2 x 0.40 + 2 x 1.90, margin 6.30 = 57.80 % of 10.90
        assert all(f in analysis.text for f in ("$10.90", "$4.60", "$6.30", "57.80 %"))
        assert client.get("/p/inventory/analysis?since=2026-99-01").status_code == 200  # the error, shown


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_stock_count_on_the_count_page(deployment: tuple[Crm, int]) -> None:
    crm, ben = deployment
    with logged_in(crm) as client:
        sheets = client.get("/p/inventory/count")
        assert sheets.status_code == 200 and "No counts yet." in sheets.text
        opened = client.post("/p/inventory/count", data={"csrf": csrf(sheets), "action": "open", "location": "bar"},
                             follow_redirects=False)
        assert opened.status_code == 303
        page = client.get(opened.headers["location"])
        sheet_id = opened.headers["location"].rsplit("=", 1)[1]
        saved = client.post("/p/inventory/count", data={"csrf": csrf(page), "id": sheet_id, "action": "enter",
                                                        "q_WATER": "21", "r_WATER": "broken", "q_SHAKE": ""})
        assert "1 counted quantity saved." in saved.text and 'value="21"' in saved.text
        bad = client.post("/p/inventory/count", data={"csrf": csrf(page), "id": sheet_id, "action": "enter",
                                                      "q_SHAKE": "-1"})
        assert "lines[0].qty: must not be negative" in bad.text and 'value="-1"' in bad.text
        closed = client.post("/p/inventory/count", data={"csrf": csrf(page), "id": sheet_id, "action": "close"})
        assert "The count is closed" in closed.text and "-3.000" in closed.text  # 24 on hand, 21 counted
    from crmkit_inventory import reports

    [lost] = reports.shrinkage(crm)
    assert (lost.sku, lost.reason, str(lost.qty)) == ("WATER", "broken", "3.000")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_no_pages_without_the_plugin(make_crm: Any) -> None:
    crm = make_crm(plugins=[])
    with TestClient(create_app(crm)) as client:
        assert client.get("/p/inventory/stock", follow_redirects=False).status_code in (303, 404)
