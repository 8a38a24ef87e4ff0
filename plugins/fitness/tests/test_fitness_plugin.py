"""The plugin as a deployment loads it: conformance (disabled leaves nothing behind), settings,
its CLI group and its user routes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from crmkit import ConfigError, FrozenClock
from crmkit.cli import cli
from crmkit.testing import MakeCrm, auth_headers, check_plugin
from crmkit.web import create_app
from crmkit_fitness.club import Club

from fitness_support import catalogue, enabled, member, user


def test_conforms(db_url: str) -> None:
    check_plugin("fitness", db_url)


def test_disabled_it_leaves_nothing(make_crm: MakeCrm) -> None:
    crm = make_crm(plugins=[])
    assert not crm.pm.has_plugin("fitness")
    assert not [t for t in crm.tables if t.startswith("fitness_")]
    assert {p.key for p in crm.pipelines} & {"membership_sales", "renewals"} == set()


def test_settings_are_checked_at_start(make_crm: MakeCrm) -> None:
    with pytest.raises(ConfigError, match="no_visit_dayz"):
        make_crm(plugins=["fitness"], settings={"fitness": {"no_visit_dayz": 3}})
    with pytest.raises(ConfigError, match=r"touch_points\[0\].when"):
        make_crm(plugins=["fitness"], settings={"fitness": {"touch_points": [
            {"key": "x", "title": "X", "when": "day:soon"}]}})
    with pytest.raises(ConfigError, match="used twice"):
        make_crm(plugins=["fitness"], settings={"fitness": {"touch_points": [
            {"key": "x", "title": "X", "when": "birthday"}, {"key": "x", "title": "Y", "when": "season:02-29"}]}})


def test_user_routes(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    mia, tom = user(crm), user(crm, "tom", role="trainer")
    club = Club(crm, mia.id)
    catalogue(club)
    ann = club.services.contacts.create(first_name="Ann")
    with TestClient(create_app(crm)) as client:
        h = auth_headers(crm, mia.id)
        r = client.post("/api/v1/fitness/sales", headers=h, json={"contact_id": ann.id, "product": "year"})
        assert r.status_code == 201 and r.json()["pipeline"] == "membership_sales", r.text
        assert client.post("/api/v1/fitness/sales", headers=h,
                           json={"contact_id": ann.id, "product": "nope"}).json()["error"]["field"] == "product"
        assert client.post("/api/v1/fitness/sales", headers=auth_headers(crm, tom.id),
                           json={"contact_id": ann.id, "product": "year"}).status_code == 403
        crm.as_user(mia.id).deals.win(r.json()["deal_id"])
        state = client.get(f"/api/v1/fitness/members/{ann.id}", headers=h).json()
        [m] = state["memberships"]
        r = client.post(f"/api/v1/fitness/memberships/{m['id']}/freeze", headers=h,
                        json={"starts_on": "2026-03-01", "days": 31, "reason": "travel"})
        assert r.status_code == 422 and "31 days is over the allowance: 30 of 30 days" in r.json()["error"]["message"]
        r = client.post("/api/v1/fitness/devices", headers=h, json={"name": "Door"})
        assert r.status_code == 201 and r.json()["key"].startswith("fdk_")
        for path in ("renewals?by=product", "touch-points", "at-risk", "trainers"):
            assert client.get(f"/api/v1/fitness/reports/{path}", headers=h).status_code == 200, path
        assert client.get("/api/v1/fitness/reports/renewals?by=colour", headers=h).status_code == 422
        assert client.get("/api/v1/fitness/reports/at-risk").status_code == 401


def test_club_demo(tmp_path: Path) -> None:
    """``crmkit fitness demo`` fills a new deployment with a simulated club (here a small, short one)."""
    runner = CliRunner()
    env = {"CRMKIT_PLUGINS": "fitness,installments", "CRMKIT_CONFIG": None, "CRMKIT_USER": None}
    assert runner.invoke(cli, ["init", str(tmp_path / "club")], env=env).exit_code == 0
    config = str(tmp_path / "club" / "crmkit.toml")
    result = runner.invoke(cli, ["--config", config, "--json", "fitness", "demo", "--members", "12", "--days", "40"],
                           env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["checkins"] > 0
    listed = runner.invoke(cli, ["--config", config, "fitness", "products"], env=env)
    assert "quarter" in listed.output


def test_cli(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"CRMKIT_PLUGINS": "fitness", "CRMKIT_CONFIG": None, "CRMKIT_USER": None}
    config = str(tmp_path / "club" / "crmkit.toml")

    def run(*args: str, ok: bool = True) -> str:
        result = runner.invoke(cli, ["--config", config, *args], env=env)
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    assert runner.invoke(cli, ["init", str(tmp_path / "club"), "--database", db_url], env=env).exit_code == 0
    run("users", "add", "--email", "mia@club.example", "--name", "Mia", "--role", "admin")
    env["CRMKIT_USER"] = "mia@club.example"
    run("fitness", "activity", "gym", "Gym")
    assert "membership year" in run("fitness", "product", "year", "--name", "Year", "--price", "690.00",
                                    "--days", "365", "--activity", "gym", "--freeze-days", "14", "--freeze-times", "1")
    assert "Error" in run("fitness", "product", "bad", "--name", "B", "--price", "1.001", "--days", "3", ok=False)
    assert "year" in run("fitness", "products")
    contact = json.loads(run("--json", "contacts", "create", "--first-name", "Ann"))
    issued = json.loads(run("--json", "fitness", "sell", str(contact["id"]), "year", "--win"))
    assert issued["cycle"] == 1
    out = run("fitness", "freeze", str(issued["id"]), "--from", "2099-01-01", "--days", "3", "--reason", "trip", ok=False)
    assert "starts_on" in out
    assert "prospect" in run("fitness", "member", str(contact["id"]))
    assert "1 members, 1 phase changes" in run("fitness", "pass")
    assert "adaptation" in run("fitness", "member", str(contact["id"]))
    assert "key: fdk_" in run("fitness", "device", "Door")
    for report in ("renewals", "touch-points", "at-risk", "trainers"):
        run("fitness", "report", report)
    assert "not empty" in run("fitness", "demo", "--members", "10", "--days", "30", ok=False)
    no_plugin = runner.invoke(cli, ["--config", config, "fitness", "products"], env={**env, "CRMKIT_PLUGINS": ""})
    assert no_plugin.exit_code != 0 and "No such command" in no_plugin.output
