"""Search (issue 13): contacts, companies, leads and deals by name, phone (any format, matched in
E.164) and e-mail, within record rules -- through the SDK, ``GET /api/v1/search`` and ``crmkit search``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from crmkit import Crm, ValidationError
from crmkit.cli import cli
from crmkit.cli.deployment import render
from crmkit.core import auth
from crmkit.web import create_app


@pytest.fixture
def world(crm: Crm) -> dict[str, Any]:
    """Two managers, each with a contact (and its company and deal), and an unassigned lead."""
    admin = crm.system.users.create(email="admin@example.com", name="Admin", role="admin")
    anna = crm.system.users.create(email="anna@example.com", name="Anna", role="manager")
    bob = crm.system.users.create(email="bob@example.com", name="Bob", role="manager")
    a, b = crm.as_user(anna.id), crm.as_user(bob.id)
    acme = a.companies.create(name="Acme Windows")
    jane = a.contacts.create(first_name="Jane", last_name="Doe", phones=["+1 212 555 0100"],
                             emails=["Jane@Example.com"], company_id=acme.id)
    deal_a = a.deals.create(title="Five windows for Jane", contact_id=jane.id, company_id=acme.id)
    john = b.contacts.create(first_name="John", last_name="Doerr", phones=["(415) 555-0134"])
    deal_b = b.deals.create(title="Doerr: a new door", contact_id=john.id)
    lead = crm.system.leads.create(title="Request from the site", name="Jane Doe", phone="212-555-0100")
    return {"admin": admin, "anna": anna, "bob": bob, "jane": jane, "john": john, "acme": acme,
            "deal_a": deal_a, "deal_b": deal_b, "lead": lead}


def found(hits: Any) -> set[tuple[str, int]]:
    return {(h.entity, h.id) if hasattr(h, "entity") else (h["entity"], h["id"]) for h in hits}


def test_a_phone_in_any_format_is_matched_in_e164(crm: Crm, world: dict[str, Any]) -> None:
    me = crm.as_user(world["admin"].id)
    expected = {("contact", world["jane"].id), ("company", world["acme"].id), ("deal", world["deal_a"].id),
                ("lead", world["lead"].id)}
    for typed in ("(212) 555-0100", "+12125550100", "212.555.0100", "1 212 555 0100"):
        hits = me.search(typed)
        assert found(hits) == expected, typed
        assert {h.matched for h in hits} == {"phone"}
    assert found(me.search("555-0134")) == {("contact", world["john"].id), ("deal", world["deal_b"].id)}


def test_names_and_emails(crm: Crm, world: dict[str, Any]) -> None:
    me = crm.as_user(world["admin"].id)
    assert found(me.search("doe")) == {("contact", world["jane"].id), ("contact", world["john"].id),
                                       ("lead", world["lead"].id), ("deal", world["deal_b"].id)}
    assert found(me.search("Jane Doe")) == {("contact", world["jane"].id), ("lead", world["lead"].id)}
    assert found(me.search("acme", kinds=["company"])) == {("company", world["acme"].id)}
    assert found(me.search("JANE@example.COM")) == {("contact", world["jane"].id), ("deal", world["deal_a"].id),
                                                     ("company", world["acme"].id)}
    assert found(me.search("jane@", kinds=["contact"])) == {("contact", world["jane"].id)}
    assert me.search("100%_windows") == []  # LIKE's wildcards are plain characters


def test_search_keeps_to_the_record_rules(crm: Crm, world: dict[str, Any]) -> None:
    bob = crm.as_user(world["bob"].id)
    assert world["lead"].responsible_id == world["anna"].id  # a repeat request goes to Jane's manager
    assert found(bob.search("(212) 555-0100")) == set()
    assert found(bob.search("doe")) == {("contact", world["john"].id), ("deal", world["deal_b"].id)}
    stranger = crm.system.leads.create(title="Walk-in", name="Max Doe")  # unassigned leads are everyone's
    assert found(bob.search("doe")) == {("contact", world["john"].id), ("deal", world["deal_b"].id),
                                        ("lead", stranger.id)}
    assert bob.search("jane@example.com") == []


def test_bad_queries_are_clear_errors(crm: Crm, world: dict[str, Any]) -> None:
    me = crm.as_user(world["admin"].id)
    for q, field in (("", "q"), ("a", "q"), ("x" * 201, "q"), ("bad\x00", "q")):
        with pytest.raises(ValidationError) as err:
            me.search(q)
        assert err.value.field == field
    with pytest.raises(ValidationError, match="limit"):
        me.search("doe", limit=0)
    with pytest.raises(ValidationError, match="kinds"):
        me.search("doe", kinds=["task"])


def test_the_api(crm: Crm, world: dict[str, Any]) -> None:
    _, secret = auth.create_token(crm, world["bob"].id)
    with TestClient(create_app(crm)) as client:
        headers = {"Authorization": f"Bearer {secret}"}
        r = client.get("/api/v1/search", params={"q": "(415) 555-0134"}, headers=headers)
        assert r.status_code == 200, r.text
        assert found(r.json()["items"]) == {("contact", world["john"].id), ("deal", world["deal_b"].id)}
        assert client.get("/api/v1/search", params={"q": "jane@example.com"}, headers=headers).json() == {"items": []}
        r = client.get("/api/v1/search", params={"q": "doe", "kinds": "deal", "limit": "1"}, headers=headers)
        assert found(r.json()["items"]) == {("deal", world["deal_b"].id)}
        bad = client.get("/api/v1/search", params={"q": "x"}, headers=headers)
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "q"
        bad = client.get("/api/v1/search", params={"q": "doe", "kinds": "tasks"}, headers=headers)
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "kinds"
        assert client.get("/api/v1/search", params={"q": "doe"}).status_code == 401


def test_the_cli(crm: Crm, world: dict[str, Any], tmp_path: Path, db_url: str) -> None:
    config = tmp_path / "crmkit.toml"
    config.write_text(render(database=db_url))
    env = {"CRMKIT_CONFIG": str(config), "CRMKIT_PLUGINS": None, "CRMKIT_DATABASE_URL": None}
    runner = CliRunner()
    out = runner.invoke(cli, ["--as", "bob@example.com", "search", "415 555 0134", "--json"], env=env,
                        catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert found(json.loads(out.stdout)["items"]) == {("contact", world["john"].id), ("deal", world["deal_b"].id)}
    out = runner.invoke(cli, ["--as", "anna@example.com", "search", "doe", "--kind", "contact"], env=env,
                        catch_exceptions=False)
    assert out.exit_code == 0 and "Jane Doe" in out.stdout and "Doerr" not in out.stdout, out.output
    bad = runner.invoke(cli, ["search", "x"], env=env)
    assert bad.exit_code == 1 and "q: search for at least 2 characters" in bad.stderr
