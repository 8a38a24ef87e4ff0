"""``crmkit telephony stats|calls`` through the real CLI, the stats route and its permission,
a third-party provider registered through ``telephony_register_providers``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from telephony_helpers import (
    CUSTOMER, FakeCloudPlugin, MakeCrm, api_client, inbound, settings, telephony_crm, token_for, user,
)

from crmkit import Crm, FrozenClock, Settings
from crmkit.cli import cli
from crmkit.testing import template

ENV = {"CRMKIT_CONFIG": None, "CRMKIT_USER": None, "CRMKIT_PLUGINS": None, "CRMKIT_DATABASE_URL": None}


def run(*args: str, env: dict[str, Any] | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env={**ENV, **(env or {})}, catch_exceptions=False)


def deployment(db_url: str, tmp_path: Path, enabled: bool) -> str:
    assert run("init", str(tmp_path / "crm"), "--database", db_url).exit_code == 0
    config = tmp_path / "crm" / "crmkit.toml"
    text = config.read_text()
    if enabled:
        text = text.replace("plugins = []", 'plugins = ["telephony"]')
        text += '\n[settings.telephony]\ncallback_minutes = 10\nextensions = { "101" = "anna@windows.example" }\n'
    config.write_text(text)
    return str(config)


def test_cli_stats_and_calls(db_url: str, tmp_path: Path, clock: FrozenClock) -> None:
    config = deployment(db_url, tmp_path, enabled=True)
    crm = Crm(Settings.load(config, environ={}), clock=clock)
    try:
        anna = crm.users.create(email="anna@windows.example", name="Anna")
        inbound(crm, clock, "c1", answer=True, talk=30)
        inbound(crm, clock, "c2", "+12025550177", answer=False)
    finally:
        crm.close()
    out = run("--config", config, "telephony", "stats", "--json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["answered_rate"]["calls"] == 2 and data["answered_rate"]["rate"] == 0.5
    assert data["missed_calls"] == {"missed": 1, "called_back": 0, "not_called_back": 1,
                                    "avg_response_seconds": None, "max_response_seconds": None}
    days = {(r["user_id"], r["day"]): r["calls"] for r in data["calls_per_user_day"]}
    assert days == {(anna.id, "2026-01-05"): 1, (None, "2026-01-05"): 1}
    text = run("--config", config, "telephony", "stats", "--from", "2026-01-05", "--to", "2026-01-05").stdout
    assert "calls ended: 2, answered: 1 (50.0%)" in text and "missed incoming: 1" in text
    assert "calls ended: 0" in run("--config", config, "telephony", "stats", "--from", "2026-01-06").stdout
    calls = run("--config", config, "telephony", "calls").stdout.splitlines()
    assert len(calls) == 2 and "missed" in calls[0] and CUSTOMER in calls[1] and "answered" in calls[1]
    manager = run("--config", config, "--as", "anna@windows.example", "telephony", "stats")
    assert manager.exit_code == 1 and "telephony.stats" in manager.stderr


def test_cli_commands_absent_when_disabled(db_url: str, tmp_path: Path) -> None:
    config = deployment(db_url, tmp_path, enabled=False)
    result = run("--config", config, "telephony", "stats")
    assert result.exit_code != 0 and "No such command 'telephony'" in result.output
    assert "telephony" not in run("--config", config, "--help").stdout
    assert run("--config", config, "telephony", "calls", env={"CRMKIT_PLUGINS": "telephony"}).exit_code == 0


def test_stats_route_and_its_permission(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm)
    client, admin = api_client(crm)
    contact = crm.contacts.create(first_name="Sam", phones=[CUSTOMER])
    deal = crm.deals.create(title="Windows", contact_id=contact.id)
    inbound(crm, clock, "c1", answer=True)
    from telephony_helpers import feed

    feed(crm, clock, "c1", "info", recording_url="https://rec.example/1.mp3")
    data = client.get("/api/v1/telephony/stats?from=2026-01-05&to=2026-01-05", headers=admin).json()
    assert data["recordings_per_deal"] == [{"deal_id": deal.id, "recordings": 1}]
    assert client.get("/api/v1/telephony/stats?from=yesterday", headers=admin).status_code == 422
    anna = token_for(crm, user(crm, "anna@windows.example"))
    assert client.get("/api/v1/telephony/stats", headers=anna).status_code == 403
    mine = client.get("/api/v1/telephony/calls", headers=anna).json()["items"]
    bob = token_for(crm, user(crm, "bob@windows.example"))
    assert [c["call_id"] for c in mine] == ["c1"] and client.get("/api/v1/telephony/calls", headers=bob).json() == {
        "items": [], "next_cursor": None}


def test_a_plugin_registers_a_provider_used_by_click_to_call(db_url: str, clock: FrozenClock, tmp_path: Path) -> None:
    plugin = FakeCloudPlugin()
    data = {**template(), "database": db_url, "plugins": ["telephony"], "settings": settings(provider="fakecloud")}
    crm = Crm(Settings.from_dict(data, base_dir=tmp_path, environ={}), plugins=[plugin], clock=clock)
    try:
        crm.users.create(email="anna@windows.example", name="Anna")
        client, _ = api_client(crm)
        anna = token_for(crm, user(crm, "anna@windows.example"))
        r = client.post("/api/v1/telephony/click-to-call", json={"to": "(202) 555-0144"}, headers=anna)
        assert r.status_code == 202, r.text
        assert plugin.provider.dialled == [("101", CUSTOMER)]
        assert r.json()["call"]["call_id"] == "fake-1" and r.json()["call"]["provider"] == "fakecloud"
        bad = client.post("/api/v1/telephony/click-to-call", json={"to": "12"}, headers=anna)
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "to"
        assert client.post("/api/v1/telephony/click-to-call", content=b"{",
                           headers={**anna, "Content-Type": "application/json"}).status_code == 400
    finally:
        crm.close()
