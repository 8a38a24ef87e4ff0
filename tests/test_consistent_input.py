"""Consistent input (issue 13): a user field takes an e-mail wherever it takes an id (API, CLI and
the SDK); a date-only due date means the end of that day in the deployment's timezone, the same in
the CLI and the API; converting a company lead gives every new card to one owner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from test_api_helpers import build_api
from test_cli import cfg, deployment, fails, ok  # noqa: F401  (fixtures)

from crmkit.testing import auth_headers


def test_a_user_by_e_mail_through_the_api(make_crm: Any) -> None:
    crm = make_crm()
    api = build_api(crm)
    anna = crm.users.create(email="anna@windows.example", name="Anna").id
    max_ = crm.users.create(email="max@windows.example", name="Max").id
    with api.client:
        deal = api.ok(api.post("/api/v1/deals", {"title": "W", "responsible_id": "Anna@Windows.example",
                                                 "custom": {"measurer_id": "max@windows.example"}}), 201)
        assert deal["responsible_id"] == anna and deal["custom"]["measurer_id"] == max_
        task = api.ok(api.post("/api/v1/tasks", {"title": "Measure", "assignee_id": "max@windows.example"}), 201)
        assert task["assignee_id"] == max_
        moved = api.ok(api.post(f"/api/v1/tasks/{task['id']}/reassign", {"assignee_id": "anna@windows.example"}))
        assert moved["assignee_id"] == anna
        lead = api.ok(api.post("/api/v1/leads", {"title": "L", "responsible_id": "max@windows.example"}), 201)
        assert lead["responsible_id"] == max_
        listed = api.ok(api.get("/api/v1/deals", params={"responsible_id": "anna@windows.example"}))["items"]
        assert [d["id"] for d in listed] == [deal["id"]]
        listed = api.ok(api.get("/api/v1/deals", params={"measurer_id": "max@windows.example"}))["items"]
        assert [d["id"] for d in listed] == [deal["id"]]
        err = api.error(api.post("/api/v1/deals", {"title": "W", "responsible_id": "nobody@windows.example"}), 422,
                        "responsible_id")
        assert err["message"] == ("responsible_id: no user has the e-mail address nobody@windows.example "
                                  "(give the user's id)")
        api.error(api.post("/api/v1/deals", {"title": "W", "custom": {"measurer_id": "max"}}), 422, "measurer_id")
        # who does not see e-mails names only themselves by e-mail: a colleague's answers like nobody's
        as_anna = auth_headers(crm, anna)
        mine = api.ok(api.post("/api/v1/tasks", {"title": "Mine", "assignee_id": "anna@windows.example"},
                               headers=as_anna), 201)
        assert mine["assignee_id"] == anna
        colleague = api.post("/api/v1/tasks", {"title": "x", "assignee_id": "max@windows.example"}, headers=as_anna)
        nobody = api.post("/api/v1/tasks", {"title": "x", "assignee_id": "nix@windows.example"}, headers=as_anna)
        assert colleague.status_code == nobody.status_code == 422
        assert colleague.json()["error"]["message"].replace("max@", "nix@") == nobody.json()["error"]["message"]


def test_a_user_by_e_mail_in_the_cli_and_the_same_due_date_as_the_api(make_crm: Any, deployment: str,
                                                                         cfg: list[str]) -> None:
    path = Path(deployment)
    path.write_text(path.read_text().replace('timezone = "UTC"', 'timezone = "Europe/Berlin"'))
    ok(*cfg, "users", "add", "--email", "anna@windows.example", "--name", "Anna Lee")
    ok(*cfg, "users", "add", "--email", "max@windows.example", "--name", "Max")
    anna = [*cfg, "--as", "anna@windows.example"]
    deal = json.loads(ok(*anna, "--json", "deals", "create", "--title", "W",
                         "--custom", "measurer_id=max@windows.example").stdout)
    assert deal["custom"]["measurer_id"] == 2
    assert [d["id"] for d in json.loads(ok(*cfg, "--json", "deals", "list", "--filter",
                                          "responsible_id=anna@windows.example").stdout)["items"]] == [deal["id"]]
    fails(*anna, "deals", "update", str(deal["id"]), "--custom", "measurer_id=bob", contains="measurer_id:")
    task = json.loads(ok(*anna, "--json", "tasks", "add", "--title", "Measure", "--due", "2030-01-02").stdout)
    assert task["assignee_id"] == 1  # without --assignee: the one adding it
    assert task["due_at"] == "2030-01-02T22:59:59+00:00"  # 23:59:59 in Berlin

    crm = make_crm(timezone="Europe/Berlin")
    api = build_api(crm)
    with api.client:
        made = api.ok(api.post("/api/v1/tasks", {"title": "Measure", "due_at": "2030-01-02"}), 201)
        assert made["due_at"] == task["due_at"] and made["assignee_id"] == api.admin_id
        updated = api.ok(api.patch(f"/api/v1/tasks/{made['id']}", {"due_at": "2030-07-01"}))
        assert updated["due_at"] == "2030-07-01T21:59:59+00:00"  # summer time
        api.error(api.post("/api/v1/tasks", {"title": "x", "due_at": "2030-01-02T10:00"}), 422, "due_at")
        api.error(api.post("/api/v1/tasks", {"title": "x", "due_at": "soon"}), 422, "due_at")


def test_converting_a_company_lead_gives_everything_to_one_owner(make_crm: Any) -> None:
    crm = make_crm()
    api = build_api(crm)
    head = crm.users.create(email="hana@windows.example", name="Hana", role="head", team="a").id
    manager = crm.users.create(email="mo@windows.example", name="Mo", team="a").id
    lead = crm.as_user(manager).leads.create(title="Office glazing", name="Bob Stone", company_name="Glass LLC",
                                             responsible_id=manager)
    other = crm.as_user(manager).leads.create(title="Shop front", name="Eve", company_name="Shop Ltd")
    with api.client:
        done = api.ok(api.post(f"/api/v1/leads/{lead.id}/convert", {"customer_kind": "legal_entity"},
                               headers=auth_headers(crm, head)))
        assert (done["company"]["responsible_id"], done["contact"]["responsible_id"],
                done["deal"]["responsible_id"]) == (manager, manager, manager)
        # nobody responsible for the lead: the converting user; a deal's own responsible: that one, for all
        done = api.ok(api.post(f"/api/v1/leads/{other.id}/convert",
                               {"customer_kind": "legal_entity", "deal": {"responsible_id": "hana@windows.example"}}))
        assert (done["company"]["responsible_id"], done["contact"]["responsible_id"],
                done["deal"]["responsible_id"]) == (head, head, head)


def test_the_config_template_lists_every_custom_field_type() -> None:
    from importlib import resources

    from crmkit.core.customfields import FIELD_TYPES

    text = resources.files("crmkit").joinpath("templates/crmkit.toml").read_text(encoding="utf-8")
    start = text.index("# Custom fields per entity:")
    listed = text[start:text.index("[custom_fields.", start)]
    assert [t for t in FIELD_TYPES if f" {t}" not in listed] == []
