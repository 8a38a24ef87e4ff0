"""The plugin's HTTP routes (behind the token check) and its CLI group."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from starlette.testclient import TestClient

from crmkit import FrozenClock
from crmkit.cli import cli
from crmkit.testing import auth_headers
from crmkit.web import create_app

from installments_support import MakeCrm, enabled, user

BASE = "/api/v1/installments"


def test_api(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    admin, mia = user(crm, "ada", role="admin"), user(crm, "mia")
    as_admin, as_mia = auth_headers(crm, admin.id), auth_headers(crm, mia.id)
    deal = crm.as_user(mia.id).deals.create(title="Windows", amount="1200.00")
    with TestClient(create_app(crm)) as client:
        assert client.get(f"{BASE}/plans/{deal.id}").status_code == 401
        doc = client.get("/api/v1/openapi.json").json()["paths"]
        assert doc[f"{BASE}/plans/{{deal_id}}"]["post"]["summary"] == "Put an installment plan on a deal."
        r = client.post(f"{BASE}/plans/{deal.id}", headers=as_mia,
                        json={"payments": 3, "start": "2026-02-01", "down_payment": "300.00"})
        assert r.status_code == 201, r.text
        assert [i["amount"]["amount"] for i in r.json()["items"]] == ["300.00", "300.00", "300.00"]
        bad = client.post(f"{BASE}/plans/{deal.id}", headers=as_mia, json={"payments": 3, "colour": "red"})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "colour"
        assert client.post(f"{BASE}/plans/{deal.id}/payments", headers=as_mia,
                           json={"amount": "10.00"}).status_code == 422  # pending until won
        crm.as_user(mia.id).deals.win(deal.id)
        plan = client.get(f"{BASE}/plans/{deal.id}", headers=as_mia).json()
        assert plan["status"] == "active" and plan["control_deal_id"]
        r = client.post(f"{BASE}/plans/{plan['control_deal_id']}/payments", headers=as_mia,
                        json={"amount": "450.00", "method": "card", "reference": "R-1"})
        assert r.status_code == 201, r.text
        payment = r.json()
        assert [(a["seq"], a["amount"]["amount"]) for a in payment["allocations"]] == [(1, "300.00"), (2, "150.00")]
        assert client.post(f"{BASE}/plans/{deal.id}/payments", headers=as_mia,
                           json={"amount": 1.5}).status_code == 422  # floats are refused
        listed = client.get(f"{BASE}/plans/{deal.id}/payments", headers=as_mia).json()["items"]
        assert [p["id"] for p in listed] == [payment["id"]]
        assert client.post(f"{BASE}/payments/{payment['id']}/reverse", headers=as_mia,
                           json={"reason": "bounced"}).status_code == 403
        r = client.post(f"{BASE}/payments/{payment['id']}/reverse", headers=as_admin, json={"reason": "bounced"})
        assert r.status_code == 200 and r.json()["reversal_reason"] == "bounced"
        assert client.post(f"{BASE}/payments/{payment['id']}/reverse", headers=as_admin,
                           json={"reason": "again"}).status_code == 409
        aging = client.get(f"{BASE}/reports/aging", headers=as_mia).json()
        assert aging["totals"][0]["total"] == {"amount": "900.00", "currency": "USD"}
        assert aging["managers"][0]["responsible_id"] == mia.id
        months = client.get(f"{BASE}/reports/cash-in?months=2", headers=as_mia).json()["items"]
        assert [(m["month"], m["expected"]["amount"]) for m in months] == [("2026-02", "300.00")]
        assert client.get(f"{BASE}/reports/cash-in?months=x", headers=as_mia).status_code == 422
        other = crm.deals.create(title="No plan")
        assert client.get(f"{BASE}/plans/{other.id}", headers=as_admin).status_code == 404


def test_cli(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"CRMKIT_PLUGINS": "installments", "CRMKIT_CONFIG": None, "CRMKIT_USER": None}

    def run(*args: str) -> str:
        result = runner.invoke(cli, ["--config", str(tmp_path / "crm" / "crmkit.toml"), *args], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    result = runner.invoke(cli, ["init", str(tmp_path / "crm"), "--database", db_url], env=env)
    assert result.exit_code == 0, result.output
    run("users", "add", "--email", "mia@windows.example", "--name", "Mia", "--role", "admin")
    env["CRMKIT_USER"] = "mia@windows.example"  # changes need a person (issue 13): the default --as
    assert "installments" in run("--help")
    deal = json.loads(run("--json", "deals", "create", "--title", "Windows", "--amount", "1000.00"))
    assert "financed 1000.00 USD" in run("installments", "plan", str(deal["id"]), "--payments", "4",
                                          "--start", "2030-01-10")
    run("deals", "win", str(deal["id"]))
    paid = json.loads(run("--json", "installments", "pay", str(deal["id"]), "300.00", "--reference", "R-9"))
    assert paid["reference"] == "R-9" and len(paid["allocations"]) == 2
    assert "outstanding 700.00 USD" in run("installments", "schedule", str(deal["id"]))
    assert "R-9" in run("installments", "payments", str(deal["id"]))
    assert "reversed" in run("installments", "reverse", str(paid["id"]), "--reason", "bounced")
    assert "TOTAL" in run("installments", "aging")
    assert "(nothing expected)" in run("installments", "cash-in", "--months", "3")
    assert "reviewed 1 plans" in run("installments", "check")
    no_plugin = runner.invoke(cli, ["--config", str(tmp_path / "crm" / "crmkit.toml"), "installments", "aging"],
                              env={**env, "CRMKIT_PLUGINS": ""})
    assert no_plugin.exit_code != 0 and "No such command" in no_plugin.output
