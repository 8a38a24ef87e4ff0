"""A member's bar sales in customer analytics (purchases), in their personal-data export and
erasure, and when contacts are merged."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from click.testing import CliRunner
from sqlalchemy import func, select
from starlette.testclient import TestClient

from crmkit import FrozenClock, PrivacyService
from crmkit.testing import auth_headers
from crmkit.web import create_app
from crmkit_inventory.tables import sales

from inventory_support import MakeCrm, bar, enabled, stocked, user


def test_export_and_erase(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    stocked(crm).receive("bar", [{"sku": "SHAKE", "qty": "10", "unit_cost": "1.90"}])
    ines = crm.contacts.create(first_name="Ines", last_name="Ibarra")
    till = bar(crm)
    sale = till.sell("bar", [{"sku": "SHAKE", "qty": "1"}], payment="tab", contact_id=ines.id)
    till.void(sale.id, reason="Ines Ibarra changed her mind")
    till.sell("bar", [{"sku": "SHAKE", "qty": "2"}], payment="tab", contact_id=ines.id)
    till.pay_tab(ines.id, "4.90", method="card of Ines Ibarra")
    mine = PrivacyService(crm, None).export_contact(ines.id)["plugins"]["inventory"]
    assert [s["total"]["amount"] for s in mine["sales"]] == ["4.90", "9.80"]
    assert mine["tab"]["balance_minor"] == 490 and len(mine["tab"]["entries"]) == 4
    erasure = PrivacyService(crm, None).erase_contact(ines.id)
    assert erasure.rows["inventory_sales"] == 1 and erasure.rows["inventory_tab_entries"] == 1
    assert till.sale(sale.id).void_reason == "[erased] changed her mind"
    tab = till.tab(ines.id)
    assert tab.balance.amount == Decimal("4.90") and [e.method for e in tab.entries][0] == "card of [erased]"


def test_merging_members_merges_their_tabs(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock, tab_limit="30.00")
    stocked(crm).receive("bar", [{"sku": "SHAKE", "qty": "10", "unit_cost": "1.90"}])
    admin = user(crm)
    a = crm.contacts.create(first_name="Maya", last_name="Stone")
    b = crm.contacts.create(first_name="Maya", last_name="Stone")
    till = bar(crm)
    till.sell("bar", [{"sku": "SHAKE", "qty": "1"}], payment="tab", contact_id=a.id)
    till.sell("bar", [{"sku": "SHAKE", "qty": "2"}], payment="tab", contact_id=b.id)
    till.set_tab_limit(b.id, "40.00")
    with TestClient(create_app(crm)) as client:
        r = client.post(f"/api/v1/contacts/{a.id}/merge", headers=auth_headers(crm, admin.id), json={"ids": [b.id]})
        assert r.status_code == 200, r.text
    tab = till.tab(a.id)
    assert (tab.balance.amount, tab.limit.amount) == (Decimal("14.70"), Decimal("40.00"))
    assert len(tab.entries) == 2
    assert till.tab(b.id).balance.amount == 0
    with crm.engine.connect() as conn:  # both members' sales follow the survivor
        owners = conn.execute(select(sales.c.contact_id, func.count()).group_by(sales.c.contact_id)).all()
    assert [tuple(r) for r in owners] == [(a.id, 2)]


def test_bar_sales_are_purchases_in_customer_analytics(db_url: str, tmp_path: Any) -> None:
    from crmkit.cli import cli

    runner = CliRunner()
    env = {"CRMKIT_PLUGINS": "inventory", "CRMKIT_CONFIG": None, "CRMKIT_USER": None}
    config = str(tmp_path / "crm" / "crmkit.toml")

    def run(*args: str) -> str:
        result = runner.invoke(cli, ["--config", config, *args], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    assert runner.invoke(cli, ["init", str(tmp_path / "crm"), "--database", db_url], env=env).exit_code == 0
    run("users", "add", "--email", "ada@club.example", "--name", "Ada", "--role", "admin")
    env["CRMKIT_USER"] = "ada@club.example"
    run("inventory", "location-add", "bar", "Bar")
    run("inventory", "product-add", "--sku", "SHAKE", "--name", "Shake", "--price", "4.90")
    run("inventory", "receive", "bar", "--line", "SHAKE:10:1.90")
    contact = json.loads(run("--json", "contacts", "create", "--first-name", "Maya", "--last-name", "Stone"))
    assert json.loads(run("--json", "report", "rfm"))["rows"] == []
    run("inventory", "sell", "bar", "--line", "SHAKE:2", "--pay", "card", "--contact", str(contact["id"]))
    run("inventory", "sell", "bar", "--line", "SHAKE:1", "--pay", "cash")  # a walk-in: nobody's purchase
    [row] = json.loads(run("--json", "report", "rfm"))["rows"]
    assert (row["entity_type"], row["customers"], row["purchases"], row["amount"]) == (
        "contact", 1, 1, {"amount": "9.80", "currency": "USD"})
