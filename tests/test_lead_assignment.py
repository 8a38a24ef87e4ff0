"""Who gets a new lead nobody is responsible for (issue 13): ``[lead_assignment]`` in crmkit.toml.
A repeat request still goes to its contact's manager first; then round robin over a team's active
users, or the queue (unassigned, for a manager to take)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_api_helpers import FORMS, build_api
from test_cli import cfg, deployment, fails, ok  # noqa: F401  (fixtures)

from crmkit import ConfigError, Settings


def _capture(api: Any, name: str, phone: str) -> int:
    r = api.client.post("/api/v1/forms/landing", json={"name": name, "phone": phone}, headers={"Authorization": ""})
    assert r.status_code in (200, 201), r.text
    return int(r.json()["lead_id"])


def test_round_robin_over_a_team_after_the_repeat_request_rule(make_crm: Any) -> None:
    crm = make_crm(settings={"forms": FORMS}, lead_assignment={"mode": "round_robin", "team": "sales"})
    api = build_api(crm)
    ann, bob, cy = (crm.users.create(email=f"{n}@windows.example", name=n, team="sales").id
                    for n in ("ann", "bob", "cy"))
    outsider = crm.users.create(email="olga@windows.example", name="Olga", team="service").id
    crm.users.update(cy, {"active": False})  # a deactivated user takes no turn
    known = crm.as_user(outsider).contacts.create(first_name="Known", phones=["+1 212 555 0100"])
    with api.client:
        leads = [_capture(api, f"Visitor {i}", f"+1 212 555 01{10 + i}") for i in range(3)]
        repeat = _capture(api, "Known again", "(212) 555-0100")
        after = _capture(api, "Visitor 4", "+1 212 555 0199")
        owners = [api.ok(api.get(f"/api/v1/leads/{lead}"))["responsible_id"] for lead in [*leads, repeat, after]]
        assert owners == [ann, bob, ann, outsider, bob]  # the repeat request goes to the contact's manager
        assert api.ok(api.get(f"/api/v1/leads/{repeat}"))["contact_id"] == known.id
        created = api.ok(api.get(f"/api/v1/timeline/lead/{leads[1]}"))["items"][0]
        assert created["type"] == "lead.created" and created["data"]["assigned_by"] == "round_robin"
        # a lead given to a team member by hand counts as their turn
        mine = api.ok(api.post("/api/v1/leads", {"title": "Walk-in", "responsible_id": ann}), 201)
        assert mine["responsible_id"] == ann
        assert api.ok(api.get(f"/api/v1/leads/{_capture(api, 'Next', '+1 212 555 0177')}"))["responsible_id"] == bob
        # the new lead's call-back task (the stage rule: the responsible) goes to its owner
        tasks = api.ok(api.get("/api/v1/tasks", params={"entity_type": "lead", "entity_id": leads[0]}))["items"]
        assert [t["assignee_id"] for t in tasks] == [ann]


def test_a_team_without_active_users_leaves_the_lead_in_the_queue(make_crm: Any) -> None:
    crm = make_crm(lead_assignment={"mode": "round_robin", "team": "nobody here"})
    lead = crm.system.leads.create(title="Web request", source="web_form")
    assert lead.responsible_id is None


def test_the_queue_and_taking_a_lead_from_it_in_the_cli(cfg: list[str]) -> None:
    ok(*cfg, "users", "add", "--email", "tom@windows.example", "--name", "Tom Baker")
    tom = [*cfg, "--as", "tom@windows.example"]
    out = ok(*tom, "leads", "create", "--title", "Call: 4 windows", "--phone", "+1 415 555 0134").stdout
    assert out.strip() == "Created lead 1: Call: 4 windows, in the queue (nobody responsible) (by Tom Baker)"
    taken = json.loads(ok(*tom, "--json", "leads", "update", "1", "--responsible", "me").stdout)
    assert taken["responsible_id"] == 1
    assert "Updated lead 1: Call: 4 windows (by Tom Baker)" in ok(*tom, "leads", "update", "1", "--name", "Joe").stdout


def test_the_rule_is_checked_at_start(tmp_path: Path, cfg: list[str], deployment: str) -> None:
    for table, message in (
        ({"mode": "random"}, "mode 'random' is not one of queue, round_robin"),
        ({"mode": "round_robin"}, "round_robin needs the team whose users take turns"),
        ({"mode": "queue", "teams": "sales"}, "unknown key 'teams'"),
        ("round_robin", "must be a table"),
    ):
        with pytest.raises(ConfigError, match=message):
            Settings.from_dict({"lead_assignment": table}, base_dir=tmp_path)
    config = Path(deployment)
    config.write_text(config.read_text() + '\n[lead_assignment]\nmode = "round_robin"\n')
    fails(*cfg, "leads", "list", contains="crmkit.toml [lead_assignment]: round_robin needs the team")
