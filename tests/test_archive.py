"""Archive, restore and delete every kind of card (issue 13): the SDK, the API and the CLI, on
SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from test_api_helpers import build_api
from test_cli import CLEAN_ENV

from crmkit import Crm
from crmkit.cli import cli
from crmkit.cli.deployment import render
from crmkit.core import schema
from crmkit.core.errors import ConflictError, NotFoundError, PermissionDeniedError

KINDS = ["lead", "contact", "company", "deal", "task"]
PLURAL = {"lead": "leads", "contact": "contacts", "company": "companies", "deal": "deals", "task": "tasks"}


def _make(crm: Crm, actor: int, kind: str) -> int:
    me = crm.as_user(actor)
    if kind == "lead":
        return me.leads.create(title="Request", name="Jane Doe", phone="+12025550188").id
    if kind == "contact":
        return me.contacts.create(first_name="Jane", last_name="Doe", phones=["+12025550188"]).id
    if kind == "company":
        return me.companies.create(name="Acme").id
    if kind == "deal":
        return me.deals.create(title="Jane Doe: 3 windows", amount="1200.00").id
    return me.tasks.add(title="Call Jane", assignee_id=actor).id


@pytest.fixture
def people(crm: Crm) -> dict[str, int]:
    return {"admin": crm.users.create(email="ada@w.example", name="Ada", role="admin").id,
            "anna": crm.users.create(email="anna@w.example", name="Anna", role="manager").id,
            "tom": crm.users.create(email="tom@w.example", name="Tom", role="manager").id}


@pytest.mark.parametrize("kind", KINDS)
def test_an_archived_card_leaves_the_lists_and_stays_everywhere_else(crm: Crm, people: dict[str, int],
                                                                      kind: str) -> None:
    anna = crm.as_user(people["anna"])
    service: Any = getattr(anna, PLURAL[kind])
    ident = _make(crm, people["anna"], kind)
    other = _make(crm, people["anna"], kind)
    version = service.get(ident).version

    archived = service.archive(ident, version=version)
    assert archived.version == version + 1
    assert [c.id for c in service.list()] == [other]
    assert service.count() == 1
    assert [c.id for c in service.list(archived="true")] == [ident]
    assert sorted(c.id for c in service.list(archived="any")) == sorted([ident, other])
    assert service.count(archived=True) == 1
    assert service.get(ident).id == ident  # reachable by id
    events = [e.type for e in crm.timeline.of(kind, ident) if e.entity_type == kind]  # its own, not its tasks'
    assert events[-1] == f"{kind}.archived"
    with pytest.raises(ConflictError, match="already archived"):
        service.archive(ident)

    service.restore(ident)
    assert sorted(c.id for c in service.list()) == sorted([ident, other])
    assert [e.type for e in crm.timeline.of(kind, ident) if e.entity_type == kind][-1] == f"{kind}.restored"
    with pytest.raises(ConflictError, match="not archived"):
        service.restore(ident)


def test_archiving_needs_the_right_to_change_the_card(crm: Crm, people: dict[str, int]) -> None:
    deal = _make(crm, people["anna"], "deal")
    tom = crm.as_user(people["tom"])
    with pytest.raises(NotFoundError):  # a card Tom may not see is missing to him
        tom.deals.archive(deal)
    with pytest.raises(ConflictError):  # a stale version changes nothing
        crm.as_user(people["anna"]).deals.archive(deal, version=7)
    assert crm.deals.get(deal).version == 1


def test_archived_cards_still_count_in_reports_and_timelines(crm: Crm, people: dict[str, int]) -> None:
    from crmkit.core.reports.funnel import funnel

    anna = crm.as_user(people["anna"])
    deal = _make(crm, people["anna"], "deal")
    before = funnel(crm, "sales").deals
    anna.deals.archive(deal)
    assert funnel(crm, "sales").deals == before == 1
    assert [e.type for e in anna.timeline.of("deal", deal)] == ["deal.created", "deal.archived"]


@pytest.mark.parametrize("kind", KINDS)
def test_only_admins_delete_and_the_events_stay(crm: Crm, people: dict[str, int], kind: str) -> None:
    ident = _make(crm, people["anna"], kind)
    crm.as_user(people["anna"]).notes.add(kind, ident, "Called Jane Doe at +1 202 555 0188")
    with pytest.raises(PermissionDeniedError, match="may not delete"):
        getattr(crm.as_user(people["anna"]), PLURAL[kind]).delete(ident)

    result = getattr(crm.as_user(people["admin"]), PLURAL[kind]).delete(ident)
    assert result["removed"]["notes"] == 1
    with pytest.raises(NotFoundError):
        getattr(crm, PLURAL[kind]).get(ident)
    events = list(crm.timeline.of(kind, ident))
    assert [e.type for e in events][:1] == [f"{kind}.created"] and events[-1].type == f"{kind}.deleted"
    deleted = events[-1]
    assert deleted.actor_id == people["admin"]
    text = repr(deleted.to_dict())
    for personal in ("Jane", "Doe", "5550188", "windows", "Call"):  # no names, phones, titles
        assert personal not in text, (personal, text)
    assert deleted.data["card"]["created_at"]
    with crm.engine.connect() as conn:
        assert conn.scalar(select(schema.notes.c.id).where(schema.notes.c.entity_id == ident,
                                                           schema.notes.c.entity_type == kind)) is None


def test_a_linked_card_is_refused_and_tasks_are_detached(crm: Crm, people: dict[str, int]) -> None:
    admin = crm.as_user(people["admin"])
    contact = admin.contacts.create(first_name="Jane")
    deal = admin.deals.create(title="Windows", contact_id=contact.id)
    task = admin.tasks.add(title="Measure", entity_type="deal", entity_id=deal.id)
    with pytest.raises(ConflictError, match=f"contact {contact.id} cannot be deleted: deal {deal.id} refer"):
        admin.contacts.delete(contact.id)
    assert admin.contacts.get(contact.id).id == contact.id  # nothing changed

    result = admin.deals.delete(deal.id)
    assert result["removed"]["detached_tasks"] == [task.id] and result["removed"]["stage_history"] == 1
    kept = admin.tasks.get(task.id)
    assert (kept.entity_type, kept.entity_id, kept.version) == (None, None, 2)
    admin.contacts.delete(contact.id)  # nothing links to it any more
    with crm.engine.connect() as conn:
        assert conn.scalar(select(schema.stage_history.c.id).where(schema.stage_history.c.deal_id == deal.id)) is None
        assert conn.scalar(select(schema.contact_phones.c.contact_id)
                           .where(schema.contact_phones.c.contact_id == contact.id)) is None


def test_a_plugins_rows_referring_to_the_card_refuse_the_deletion(make_crm: Any) -> None:
    from crmkit_installments.service import Installments

    crm = make_crm(plugins=["installments"])
    admin = crm.users.create(email="ada@w.example", name="Ada", role="admin")
    deal = crm.deals.create(title="On credit", amount="900.00")
    Installments(crm).create_plan(deal.id, payments=3, start="2026-02-01", down_payment="0.00")
    with pytest.raises(ConflictError, match="rows of installments_"):
        crm.as_user(admin.id).deals.delete(deal.id)
    assert crm.deals.get(deal.id).id == deal.id
    assert [e.type for e in crm.timeline.of("deal", deal.id)][-1] != "deal.deleted"  # rolled back, event too


# -- the API -----------------------------------------------------------------------------------


def test_archive_restore_delete_through_the_api(crm: Crm, people: dict[str, int]) -> None:
    api = build_api(crm)
    anna = api.token_for(people["anna"])
    deal = api.ok(api.post("/api/v1/deals", {"title": "Windows"}, headers=anna), 201)
    archived = api.ok(api.post(f"/api/v1/deals/{deal['id']}/archive", headers={**anna, "If-Match": '"1"'}))
    assert archived["version"] == 2
    assert api.ok(api.get("/api/v1/deals", headers=anna))["items"] == []
    assert [d["id"] for d in api.ok(api.get("/api/v1/deals?archived=true", headers=anna))["items"]] == [deal["id"]]
    assert len(api.ok(api.get("/api/v1/deals?archived=any", headers=anna))["items"]) == 1
    api.error(api.get("/api/v1/deals?archived=maybe", headers=anna), 422, "archived")
    api.error(api.post(f"/api/v1/deals/{deal['id']}/archive", headers=anna), 409, "archived")
    api.ok(api.post(f"/api/v1/deals/{deal['id']}/restore", headers=anna))
    api.error(api.client.delete(f"/api/v1/deals/{deal['id']}", headers=anna), 403)
    deleted = api.ok(api.client.delete(f"/api/v1/deals/{deal['id']}"))
    assert deleted["entity_type"] == "deal" and deleted["id"] == deal["id"]
    api.error(api.get(f"/api/v1/deals/{deal['id']}"), 404)
    api.error(api.client.delete(f"/api/v1/deals/{deal['id']}"), 404)
    audit = api.ok(api.get("/api/v1/events?type=deal.deleted"))["items"]  # the audit log keeps it
    assert [(e["entity_id"], e["actor_id"]) for e in audit] == [(deal["id"], api.admin_id)]
    assert [e.type for e in crm.timeline.of("deal", deal["id"])][-3:] == ["deal.archived", "deal.restored",
                                                                          "deal.deleted"]
    doc = api.ok(api.get("/api/v1/openapi.json"))
    for plural in PLURAL.values():
        assert "delete" in doc["paths"][f"/api/v1/{plural}/{{id}}"]
        assert "archived" in [p["name"] for p in doc["paths"][f"/api/v1/{plural}"]["get"]["parameters"]]
    allow = api.client.options(f"/api/v1/deals/{deal['id']}").headers["allow"]
    assert allow == "DELETE, GET, HEAD, OPTIONS, PATCH"


# -- the CLI -----------------------------------------------------------------------------------


def test_archive_restore_delete_through_the_cli(crm: Crm, people: dict[str, int], tmp_path: Any) -> None:
    config = tmp_path / "crmkit.toml"
    config.write_text(render(database=crm.settings.database))

    def run(*args: str, input: str | None = None) -> Any:
        return CliRunner().invoke(cli, ["--config", str(config), *args], env=CLEAN_ENV, input=input,
                                  catch_exceptions=False)

    lead = _make(crm, people["anna"], "lead")
    done = run("--as", "anna@w.example", "leads", "archive", str(lead))
    assert done.exit_code == 0 and f"Archived lead {lead}" in done.stdout, done.output
    assert "(none)" in run("leads", "list").stdout
    assert "Request" in run("leads", "list", "--filter", "archived=true").stdout
    again = run("--as", "anna@w.example", "leads", "archive", str(lead))
    assert again.exit_code == 1 and "already archived" in again.stderr and "Traceback" not in again.output
    assert run("--as", "anna@w.example", "leads", "restore", str(lead)).exit_code == 0
    refused = run("--as", "anna@w.example", "leads", "delete", str(lead), "--yes")
    assert refused.exit_code == 1 and "may not delete" in refused.stderr
    kept = run("--as", "ada@w.example", "leads", "delete", str(lead), input="n\n")
    assert kept.exit_code == 1 and crm.leads.get(lead).id == lead  # asked, answered no
    gone = run("--as", "ada@w.example", "leads", "delete", str(lead), "--yes")
    assert gone.exit_code == 0 and f"Deleted lead {lead}" in gone.stdout, gone.output
    with pytest.raises(NotFoundError):
        crm.leads.get(lead)
