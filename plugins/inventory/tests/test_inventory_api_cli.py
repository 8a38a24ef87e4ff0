"""The plugin's HTTP routes and CLI group: receipts, sales, tabs, counts, reports; bad input is a
4xx naming the field (or one CLI line and a non-zero exit) and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from starlette.testclient import TestClient

from crmkit import FrozenClock
from crmkit.cli import cli
from crmkit.testing import auth_headers
from crmkit.web import create_app
from crmkit_inventory.tables import movements, sales, tab_entries

from inventory_support import MakeCrm, enabled, stocked, user

BASE = "/api/v1/inventory"


def rows(crm: Any) -> tuple[int, int, int]:
    with crm.engine.connect() as conn:
        return tuple(int(conn.scalar(select(func.count()).select_from(t))) for t in (movements, sales, tab_entries))


def error(response: Any, status: int, field: str | None) -> None:
    assert response.status_code == status, response.text
    err = response.json()["error"]
    assert err["message"] and err.get("field") == field, err


def test_api(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock, tab_limit="10.00")
    admin, ben = user(crm, "ada"), user(crm, "ben", role="manager")
    stocked(crm, admin.id)
    member = crm.contacts.create(first_name="Maya", last_name="Stone")
    with TestClient(create_app(crm)) as client:
        assert client.get(f"{BASE}/stock").status_code == 401
        as_admin, as_ben = auth_headers(crm, admin.id), auth_headers(crm, ben.id)
        r = client.post(f"{BASE}/receipts", headers=as_admin, json={
            "location": "bar", "supplier": "Aqua Ltd",
            "lines": [{"sku": "WATER", "qty": "24", "unit_cost": "0.40"}, {"sku": "SHAKE", "qty": 6, "unit_cost": "1.90"}]})
        assert r.status_code == 201, r.text
        assert [m["value"]["amount"] for m in r.json()["items"]] == ["9.60", "11.40"]
        assert client.post(f"{BASE}/receipts", headers=as_ben, json={
            "location": "bar", "lines": [{"sku": "WATER", "qty": "1", "unit_cost": "0.40"}]}).status_code == 403
        before = rows(crm)
        for body, field in [
            ({"location": "bar", "lines": [{"sku": "WATER", "qty": "-2"}]}, "lines[0].qty"),
            ({"location": "bar", "lines": [{"sku": "NOPE", "qty": "1"}]}, "lines[0].sku"),
            ({"location": "bar", "lines": [{"sku": "WATER", "qty": "1.5"}]}, "lines[0].qty"),
            ({"location": "bar", "lines": [{"sku": "WATER", "qty": "1", "currency": "EUR"}]}, "lines[0].currency"),
            ({"location": "bar", "lines": [{"sku": "WATER", "qty": "1"}], "currency": "EUR"}, "currency"),
            ({"location": "bar", "lines": [{"sku": "WATER", "qty": "1"}], "tendered": "1.001"}, "tendered"),
            ({"location": "bar", "lines": [{"sku": "WATER", "qty": "99"}]}, "lines[0].qty"),
            ({"location": "bar", "lines": [{"sku": "WATER", "qty": "1"}, {"sku": "WATER", "qty": "30"}]},
             "lines[1].qty"),
            ({"location": "bar", "lines": [{"sku": "WATER", "qty": "1"}], "payment": "tab"}, "contact_id"),
            ({"location": "cellar", "lines": [{"sku": "WATER", "qty": "1"}]}, "location"),
            ({"location": "bar", "lines": []}, "lines"),
        ]:
            error(client.post(f"{BASE}/sales", headers=as_ben, json=body), 422, field)
        error(client.post(f"{BASE}/sales", headers=as_ben, json={"location": "bar", "lines": [
            {"sku": "WATER", "qty": 1.5}]}), 422, "lines[0].qty")  # JSON floats are refused by the schema
        assert rows(crm) == before  # nothing written by any refusal
        r = client.post(f"{BASE}/sales", headers=as_ben, json={
            "location": "bar", "payment": "cash", "tendered": "10.00",
            "lines": [{"sku": "WATER", "qty": "2"}, {"sku": "SHAKE", "qty": "1"}]})
        assert r.status_code == 201, r.text
        sale = r.json()
        assert (sale["total"]["amount"], sale["vat"]["amount"], sale["change"]["amount"]) == ("7.90", "1.09", "2.10")
        assert client.get(f"{BASE}/sales/{sale['id']}", headers=as_ben).json()["id"] == sale["id"]
        retry = {**as_ben, "Idempotency-Key": "till-1-0001"}
        once = {"location": "bar", "payment": "card", "lines": [{"sku": "WATER", "qty": "1"}]}
        first = client.post(f"{BASE}/sales", headers=retry, json=once)
        again = client.post(f"{BASE}/sales", headers=retry, json=once)
        assert (first.status_code, again.status_code, again.headers["idempotent-replayed"]) == (201, 200, "true")
        assert again.json()["id"] == first.json()["id"] and again.json()["replayed"] is True
        error(client.post(f"{BASE}/sales", headers=retry, json={**once, "payment": "cash"}), 409, "client_key")
        error(client.post(f"{BASE}/sales", headers={**as_ben, "Idempotency-Key": "x" * 65}, json=once), 422,
              "client_key")
        assert client.get(f"{BASE}/stock?sku=WATER", headers=as_ben).json()["items"][0]["on_hand"] == "21.000"
        tab_sale = {"location": "bar", "payment": "tab", "contact_id": member.id, "lines": [{"sku": "SHAKE", "qty": "2"}]}
        assert client.post(f"{BASE}/sales", headers=as_ben, json=tab_sale).status_code == 201
        error(client.post(f"{BASE}/sales", headers=as_ben, json=tab_sale), 422, "payment")  # over the limit
        tab = client.get(f"{BASE}/tabs/{member.id}", headers=as_ben).json()
        assert (tab["balance"]["amount"], tab["available"]["amount"], tab["blocked"]) == ("9.80", "0.20", False)
        error(client.post(f"{BASE}/tabs/{member.id}/payments", headers=as_ben,
                          json={"amount": "5.00", "currency": "EUR"}), 422, "currency")
        paid = client.post(f"{BASE}/tabs/{member.id}/payments", headers=as_ben, json={"amount": "9.80"})
        assert paid.status_code == 201 and paid.json()["amount"]["amount"] == "-9.80"
        assert client.put(f"{BASE}/tabs/{member.id}/limit", headers=as_admin,
                          json={"limit": "25.00"}).json()["limit"]["amount"] == "25.00"
        count = client.post(f"{BASE}/counts", headers=as_admin, json={"location": "bar"}).json()
        error(client.post(f"{BASE}/counts", headers=as_admin, json={"location": "bar"}), 409, "location")
        assert client.post(f"{BASE}/counts/{count['id']}/lines", headers=as_ben,
                           json={"lines": [{"sku": "WATER", "qty": "20", "reason": "broken"}]}).status_code == 200
        closed = client.post(f"{BASE}/counts/{count['id']}/close", headers=as_admin).json()
        assert closed["lines"][0]["difference"] == "-1.000" and closed["status"] == "closed"
        error(client.post(f"{BASE}/counts/{count['id']}/close", headers=as_admin), 409, "count_id")
        stock = {(s["sku"], s["location"]): s for s in client.get(f"{BASE}/stock", headers=as_ben).json()["items"]}
        assert stock[("WATER", "bar")]["on_hand"] == "20.000" and stock[("WATER", "bar")]["value"]["amount"] == "8.00"
        best = client.get(f"{BASE}/reports/best-sellers", headers=as_ben).json()["items"]
        assert [(b["sku"], b["qty"]) for b in best] == [("SHAKE", "3.000"), ("WATER", "3.000")]
        lost = client.get(f"{BASE}/reports/shrinkage", headers=as_ben).json()["items"]
        assert [(x["sku"], x["reason"], x["qty"]) for x in lost] == [("WATER", "broken", "1.000")]
        error(client.get(f"{BASE}/reports/shrinkage?since=2026-13-01", headers=as_ben), 422, "since")
        error(client.get(f"{BASE}/reports/nope", headers=as_ben), 422, "name")
        voided = client.post(f"{BASE}/sales/{sale['id']}/void", headers=as_admin, json={"reason": "test"})
        assert voided.status_code == 200 and voided.json()["voided_at"]
        water = client.get(f"{BASE}/products", headers=as_ben).json()["items"][0]
        changed = client.patch(f"{BASE}/products/{water['id']}", headers=as_admin,
                               json={"price": "1.60", "version": water["version"]})
        assert changed.status_code == 200 and changed.json()["price"]["amount"] == "1.60"
        error(client.patch(f"{BASE}/products/{water['id']}", headers=as_admin,
                           json={"active": False, "version": water["version"]}), 409, "version")
        error(client.patch(f"{BASE}/products/{water['id']}", headers=as_ben, json={"price": "0.10"}), 403, None)
        error(client.patch(f"{BASE}/products/{water['id']}", headers=as_admin, json={"sku": "NEW"}), 422, "sku")
        assert client.get(f"{BASE}/products/{water['id']}", headers=as_ben).json()["price"]["amount"] == "1.60"
        doc = client.get("/api/v1/openapi.json").json()["paths"]
        assert doc[f"{BASE}/sales"]["post"]["summary"].startswith("A bar sale")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the services under it: both DBs (test_api)
def test_cli(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"CRMKIT_PLUGINS": "inventory", "CRMKIT_CONFIG": None, "CRMKIT_USER": None}
    config = str(tmp_path / "crm" / "crmkit.toml")

    def run(*args: str, ok: bool = True) -> str:
        result = runner.invoke(cli, ["--config", config, *args], env=env)
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    assert runner.invoke(cli, ["init", str(tmp_path / "crm"), "--database", db_url], env=env).exit_code == 0
    run("users", "add", "--email", "ada@club.example", "--name", "Ada", "--role", "admin")
    env["CRMKIT_USER"] = "ada@club.example"
    run("inventory", "location-add", "bar", "Bar")
    run("inventory", "supplier-add", "Aqua Ltd")
    run("inventory", "product-add", "--sku", "WATER", "--name", "Water", "--price", "1.50", "--vat", "10")
    run("inventory", "product-add", "--sku", "NUTS", "--name", "Nuts", "--price", "24.00", "--unit", "kg")
    assert "(inactive), version 2" in run("inventory", "product-set", "NUTS", "--inactive")
    assert "version 3" in run("inventory", "product-set", "NUTS", "--active", "--price", "24.00")
    assert "receipt" in run("inventory", "receive", "bar", "--line", "WATER:10:0.40", "--line", "NUTS:1.5:10.00",
                            "--supplier", "Aqua Ltd")
    out = run("inventory", "sell", "bar", "--line", "WATER:2", "--line", "NUTS:0.25", "--tendered", "20")
    assert "total 9.00 USD (VAT 0.27 USD), cash, tendered 20.00 USD, change 11.00 USD" in out
    sold = json.loads(run("--json", "inventory", "sell", "bar", "--line", "WATER:1", "--pay", "card"))
    back = run("inventory", "return", str(sold["lines"][0]["movement_id"]), "1")
    assert "return" in back and "refund: 1.50 USD (card)" in back
    contact = json.loads(run("--json", "contacts", "create", "--first-name", "Maya", "--last-name", "Stone"))
    run("inventory", "sell", "bar", "--line", "WATER:1", "--pay", "tab", "--contact", str(contact["id"]))
    assert "owes 1.50 USD" in run("inventory", "tab", str(contact["id"]))
    assert "paid -1.50 USD" in run("inventory", "pay-tab", str(contact["id"]), "1.50")
    bad = run("inventory", "sell", "bar", "--line", "WATER:-1", ok=False)
    assert "lines[0].qty" in bad and "Traceback" not in bad
    assert "unknown" not in run("inventory", "stock") and "WATER" in run("inventory", "stock")
    stock = json.loads(run("--json", "inventory", "stock", "--sku", "WATER"))
    assert stock[0]["on_hand"] == "7.000" and stock[0]["value"]["amount"] == "2.80"
    sheet = json.loads(run("--json", "inventory", "count", "open", "bar"))
    run("inventory", "count", "enter", str(sheet["id"]), "--line", "WATER:6:theft")
    assert "difference -1.000 (theft)" in run("inventory", "count", "close", str(sheet["id"]))
    assert "theft" in run("inventory", "report", "shrinkage")
    assert "WATER" in run("inventory", "report", "best-sellers", "--by", "margin")
    assert "margin" in run("inventory", "report", "margin")
    assert "walk-in" in run("inventory", "report", "segments")
    run("inventory", "write-off", "bar", "WATER", "99", "--reason", "x", ok=False)
    no_plugin = runner.invoke(cli, ["--config", config, "inventory", "stock"], env={**env, "CRMKIT_PLUGINS": ""})
    assert no_plugin.exit_code != 0 and "No such command" in no_plugin.output
