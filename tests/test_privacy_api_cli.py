"""Personal data through the HTTP API and the CLI: who may, what is refused, what is printed."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from test_api_helpers import Api, build_api
from test_cli import as_json, cfg, deployment, fails, ok, run  # noqa: F401  (fixtures)

from crmkit import Crm
from crmkit.testing import MakeCrm


def person(crm: Crm) -> int:
    contact = crm.contacts.create(first_name="Quentin", last_name="Zorrilla", phones=["+1 202 555 0177"],
                                  emails=["qz@example.org"])
    deal = crm.deals.create(title="Zorrilla: bay window", amount="900.00", contact_id=contact.id)
    crm.notes.add("deal", deal.id, "Quentin wants it before May")
    return contact.id


def test_api_export_and_erase(make_crm: MakeCrm) -> None:
    api: Api = build_api(make_crm())
    ident = person(api.crm)
    doc = api.ok(api.get(f"/api/v1/contacts/{ident}/export"))
    assert doc["contact"]["last_name"] == "Zorrilla" and [n["body"] for n in doc["notes"]] == [
        "Quentin wants it before May"]
    assert doc["plugins"] == {}
    erased = api.ok(api.post(f"/api/v1/contacts/{ident}/erase", json={"reason": "Zorrilla asked by phone"}))
    assert erased["reason"] == "[erased] asked by phone" and erased["contact_id"] == ident
    assert erased["rows"]["crm_contacts"] == 1 and erased["rows"]["crm_notes"] == 1
    assert api.ok(api.get(f"/api/v1/contacts/{ident}"))["first_name"] == "[erased]"
    api.error(api.post(f"/api/v1/contacts/{ident}/erase"), 409, "id")  # no body at all is fine; twice is not
    after = api.ok(api.get(f"/api/v1/contacts/{ident}/export"))
    assert "Zorrilla" not in json.dumps(after) and "0177" not in json.dumps(after)


def test_api_refuses_without_the_permission_and_bad_input(make_crm: MakeCrm) -> None:
    api = build_api(make_crm())
    ident = person(api.crm)
    manager = api.crm.users.create(email="mia@windows.example", name="Mia", role="manager")
    api.crm.contacts.update(ident, {"responsible_id": manager.id})
    as_manager = api.token_for(manager.id)
    api.error(api.get(f"/api/v1/contacts/{ident}/export", headers=as_manager), 403)
    api.error(api.post(f"/api/v1/contacts/{ident}/erase", json={}, headers=as_manager), 403)
    api.error(api.get("/api/v1/contacts/999999/export"), 404)
    api.error(api.post("/api/v1/contacts/999999/erase", json={}), 404)
    api.error(api.post(f"/api/v1/contacts/{ident}/erase", json={"reason": 7}), 422, "reason")
    api.error(api.post(f"/api/v1/contacts/{ident}/erase", json={"why": "x"}), 422)
    api.error(api.post(f"/api/v1/contacts/{ident}/erase", json={"reason": "a\u202eb"}), 422, "reason")
    assert api.crm.contacts.get(ident).last_name == "Zorrilla"  # nothing happened
    assert api.crm.timeline.all(type="contact.erased").items == []


def test_api_erase_replays_with_the_same_idempotency_key(make_crm: MakeCrm) -> None:
    api = build_api(make_crm())
    ident = person(api.crm)
    key = {"Idempotency-Key": "erase-zorrilla"}
    first = api.ok(api.post(f"/api/v1/contacts/{ident}/erase", json={}, headers=key))
    again = api.post(f"/api/v1/contacts/{ident}/erase", json={}, headers=key)
    assert api.ok(again) == first and again.headers["Idempotent-Replayed"] == "true"


def test_cli_export_and_erase(cfg: list[str], deployment: str, tmp_path: Path) -> None:
    crm = Crm.from_config(deployment)
    try:
        ident = person(crm)
        crm.users.create(email="mia@windows.example", name="Mia", role="manager")
    finally:
        crm.close()
    doc = json.loads(ok(*cfg, "contacts", "export", str(ident)).stdout)
    assert doc["contact"]["emails"] == ["qz@example.org"] and doc["deals"][0]["title"] == "Zorrilla: bay window"
    target = tmp_path / "zorrilla.json"
    assert "Exported contact" in ok(*cfg, "contacts", "export", str(ident), "--output", str(target)).stdout
    assert json.loads(target.read_text())["contact"]["id"] == ident
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    fails(*cfg, "contacts", "export", str(ident), "--output", str(target), contains="already exists")
    fails(*cfg, "--as", "mia@windows.example", "contacts", "erase", str(ident), "--yes",
          contains="may not export or erase personal data")
    fails(*cfg, "contacts", "erase", "424242", "--yes", contains="does not exist")
    fails(*cfg, "contacts", "erase", str(ident), contains="aborted")  # no --yes, no confirmation typed
    assert json.loads(ok(*cfg, "contacts", "export", str(ident)).stdout)["contact"]["last_name"] == "Zorrilla"
    out = ok(*cfg, "contacts", "erase", str(ident), "--yes", "--reason", "ticket 9").stdout
    assert out.startswith(f"Erased contact {ident} (rows changed: ") and "crm_contacts 1" in out
    shown = as_json(*cfg, "contacts", "show", str(ident))
    assert (shown["first_name"], shown["phones"], shown["emails"]) == ("[erased]", [], [])
    fails(*cfg, "contacts", "erase", str(ident), "--yes", contains="erased already")
