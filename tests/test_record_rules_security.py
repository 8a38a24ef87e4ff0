"""Regression tests for the record-rule holes of the security review (issue 10, items 1, 3, 10, 11),
and the table of service methods x roles that keeps every method reaching a card under the rules.

Each test runs on SQLite and PostgreSQL (the ``world`` of :mod:`test_api_authz`: managers m_a1,
m_a2 (team A), m_b (team B), head_a, admin, a measurer with a task on dl_a2).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import pytest
from sqlalchemy import func, select
from test_api_authz import World, world  # noqa: F401  (fixture)

from crmkit import NotFoundError, PermissionDeniedError, ValidationError, schema
from crmkit.core.services import Services
from crmkit.core.services.base import Service


def _events(world: World) -> int:
    with world.crm.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(schema.events)) or 0)


# -- 1. lead auto-matching obeys the record rules -------------------------------------------------


def test_a_lead_with_a_hidden_contacts_phone_is_not_linked_to_it(world: World) -> None:
    crm, c, ids, h = world.crm, world.client, world.ids, world.headers
    crm.as_user(ids["m_b"]).contacts.update(ids["ct_b"], {"phones": ["+12025550123"], "emails": ["b@x.example"]})
    for body in ({"title": "probe", "phone": "202-555-0123"}, {"title": "probe", "email": "B@x.example"}):
        r = c.post("/api/v1/leads", json={**body, "responsible_id": ids["m_a1"]}, headers=h["m_a1"])
        assert r.status_code == 201, r.text
        assert r.json()["contact_id"] is None  # no phone -> contact look-up through a lead
        lead = r.json()["id"]
    r = c.post(f"/api/v1/leads/{lead}/convert", json={}, headers=h["m_a1"])
    assert r.status_code == 200, r.text
    made = r.json()["contact"]
    assert made["id"] != ids["ct_b"] and made["emails"] == ["b@x.example"]
    assert c.get(f"/api/v1/contacts/{ids['ct_b']}", headers=h["m_a1"]).status_code == 404
    assert c.patch(f"/api/v1/contacts/{ids['ct_b']}", json={"last_name": "X"}, headers=h["m_a1"]).status_code == 404
    # the likely duplicate is flagged where the hidden contact's own users see it, and only there
    flagged = [e for e in crm.timeline.of("contact", ids["ct_b"]).items if e.type == "contact.possible_duplicate"]
    assert [(e.data["duplicate_id"], e.data["lead_id"]) for e in flagged] == [(made["id"], lead)]
    assert c.get(f"/api/v1/timeline/contact/{ids['ct_b']}", headers=h["m_b"]).status_code == 200
    assert c.get(f"/api/v1/timeline/contact/{ids['ct_b']}", headers=h["m_a1"]).status_code == 404


def test_a_form_lead_from_a_known_customer_goes_to_its_manager(world: World) -> None:
    """No token: the form's lead is linked only where its readers may read the contact."""
    crm, c, ids, h = world.crm, world.client, world.ids, world.headers
    crm.as_user(ids["m_b"]).contacts.update(ids["ct_b"], {"phones": ["+12025550123"]})
    lead = crm.leads.create(title="form", phone="+1 202 555 0123", source="web_form")  # the form's system capture
    assert (lead.contact_id, lead.responsible_id) == (ids["ct_b"], ids["m_b"])
    assert c.get(f"/api/v1/leads/{lead.id}", headers=h["m_a1"]).status_code == 404
    assert c.post(f"/api/v1/leads/{lead.id}/convert", json={}, headers=h["m_a1"]).status_code == 404
    # a contact nobody owns stays unlinked: an unassigned lead is read by every manager
    orphan = crm.contacts.create(first_name="Orphan", phones=["+12025550177"])
    free = crm.leads.create(title="form", phone="+1 202 555 0177", source="web_form")
    assert (free.contact_id, free.responsible_id, orphan.responsible_id) == (None, None, None)
    r = c.post(f"/api/v1/leads/{free.id}/convert", json={}, headers=h["m_a1"])
    assert r.status_code == 200 and r.json()["contact"]["id"] != orphan.id, r.text
    # an assigned lead is linked only if its responsible user may read the contact
    other = crm.leads.create(title="call", phone="+1 202 555 0123", responsible_id=ids["m_a1"], source="call")
    assert other.contact_id is None
    mine = crm.leads.create(title="call", phone="+1 202 555 0123", responsible_id=ids["m_b"], source="call")
    assert mine.contact_id == ids["ct_b"]


def test_the_form_route_does_not_link_hidden_contacts(make_crm: Any) -> None:
    from test_api_helpers import FORMS, build_api

    api = build_api(make_crm(settings={"forms": FORMS}))
    crm = api.crm
    owner = crm.users.create(email="o@x.example", name="Owner")
    other = crm.users.create(email="p@x.example", name="Other")
    known = crm.as_user(owner.id).contacts.create(first_name="Known", phones=["+12025550123"])
    with api.client:
        made = api.ok(api.client.post("/api/v1/forms/site", headers={"Authorization": ""},
                                      json={"name": "Probe", "phone": "202 555 0123"}), 201)
        r = api.client.get(f"/api/v1/leads/{made['lead_id']}", headers=api.token_for(other.id))
        assert r.status_code == 404, r.text  # the repeat request went to the customer's manager
        lead = api.ok(api.client.get(f"/api/v1/leads/{made['lead_id']}", headers=api.token_for(owner.id)))
        assert lead["contact_id"] == known.id


# -- 3. a task is a read-only grant, only while it is open ----------------------------------------


def test_a_task_grant_is_read_only_and_ends_with_the_task(world: World) -> None:
    crm, c, ids, h = world.crm, world.client, world.ids, world.headers
    head = crm.as_user(ids["head_a"])
    task = head.tasks.add(title="check the sills", assignee_id=ids["m_b"], entity_type="deal", entity_id=ids["dl_a2"])
    deal = f"/api/v1/deals/{ids['dl_a2']}"
    assert c.get(deal, headers=h["m_b"]).status_code == 200
    before = _events(world)
    for method, url, body in (("PATCH", deal, {"responsible_id": ids["m_b"]}), ("PATCH", deal, {"title": "mine"}),
                              ("POST", f"{deal}/move", {"stage": "proposal_sent"}),
                              ("POST", f"{deal}/lose", {"reason_text": "x"}),
                              ("POST", "/api/v1/tasks", {"title": "t", "entity_type": "deal", "entity_id": ids["dl_a2"],
                                                          "assignee_id": ids["m_b"]})):
        r = c.request(method, url, json=body, headers=h["m_b"])
        assert r.status_code == 403, (url, body, r.text)
    with pytest.raises(PermissionDeniedError):
        crm.as_user(ids["m_b"]).deals.share(ids["dl_a2"], ids["m_b"])
    with pytest.raises(PermissionDeniedError):
        crm.as_user(ids["m_b"]).deals.copy(ids["dl_a2"], pipeline="deferred")
    assert _events(world) == before  # nothing written
    assert crm.deals.get(ids["dl_a2"]).responsible_id == ids["m_a2"]
    crm.as_user(ids["m_b"]).tasks.complete(task.id)
    assert c.get(deal, headers=h["m_b"]).status_code == 404  # a finished task grants nothing


def test_reassigning_a_task_needs_the_card(world: World) -> None:
    """m_a2 gave m_b a task on their deal, then lost the deal to m_a1: the task cannot bring it back."""
    crm, ids = world.crm, world.ids
    task = crm.as_user(ids["m_a2"]).tasks.add(title="call", assignee_id=ids["m_b"], entity_type="deal",
                                             entity_id=ids["dl_a2"])
    crm.deals.update(ids["dl_a2"], {"responsible_id": ids["m_a1"]})
    with pytest.raises(PermissionDeniedError, match="not give out tasks on it"):
        crm.as_user(ids["m_a2"]).tasks.reassign(task.id, ids["m_a2"])
    assert crm.tasks.get(task.id).assignee_id == ids["m_b"]
    # who may change the card may hand its tasks around
    assert crm.as_user(ids["m_a1"]).tasks.reassign(task.id, ids["m_a1"]).assignee_id == ids["m_a1"]


# -- 10. cards.read is checked ---------------------------------------------------------------------


def test_a_role_without_cards_read_sees_no_cards(world: World) -> None:
    crm, c = world.crm, world.client
    kiosk = crm.users.create(email="kiosk@x.example", name="Kiosk", role="kiosk")
    svc = crm.as_user(kiosk.id)
    assert svc.deals.count() == 0 and svc.contacts.list().items == [] and svc.leads.list().items == []
    with pytest.raises(NotFoundError):
        svc.deals.get(world.ids["dl_a1"])
    from crmkit.core import auth

    _, secret = auth.create_token(crm, kiosk.id, "t")
    r = c.get("/api/v1/deals", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 200 and r.json()["items"] == [], r.text


# -- 11. bulk contacts refuse links to invisible companies ------------------------------------------


def test_bulk_contacts_refuse_invisible_companies(world: World) -> None:
    crm, ids = world.crm, world.ids
    me = crm.as_user(ids["m_a1"])
    before = _events(world)
    with pytest.raises(ValidationError, match=r"rows\[1\]\.company_id: company \d+ does not exist") as err:
        me.contacts.bulk_create([{"first_name": "ok", "company_id": ids["co_a1"]},
                                 {"first_name": "bad", "company_id": ids["co_b"]}])
    assert err.value.field == "company_id" and _events(world) == before
    [new] = me.contacts.bulk_create([{"first_name": "mine"}])
    assert me.contacts.get(new).responsible_id == ids["m_a1"]  # as create: the importer's own


# -- every service method reaching a card, x roles ---------------------------------------------------

Call = Callable[[Services, dict[str, int], str], Any]
# (service, method) -> (kind, entity, call); ``o`` is the owner suffix of the target cards.
CALLS: dict[tuple[str, str], tuple[str, str, Call]] = {
    ("deals", "get"): ("read", "deal", lambda s, i, o: s.deals.get(i[f"dl_{o}"])),
    ("deals", "history"): ("read", "deal", lambda s, i, o: s.deals.history(i[f"dl_{o}"])),
    ("deals", "update"): ("write", "deal", lambda s, i, o: s.deals.update(i[f"dl_{o}"], {"title": "x"})),
    ("deals", "move"): ("write", "deal", lambda s, i, o: s.deals.move(i[f"dl_{o}"], "proposal_sent")),
    ("deals", "lose"): ("write", "deal", lambda s, i, o: s.deals.lose(i[f"dl_{o}"], reason_text="x")),
    ("deals", "win"): ("write", "deal", lambda s, i, o: s.deals.win(i[f"dl_{o}"])),
    ("deals", "copy"): ("write", "deal", lambda s, i, o: s.deals.copy(i[f"dl_{o}"], pipeline="deferred")),
    ("deals", "share"): ("write", "deal", lambda s, i, o: s.deals.share(i[f"dl_{o}"], i["m_a1"])),
    ("leads", "get"): ("read", "lead", lambda s, i, o: s.leads.get(i[f"ld_{o}"])),
    ("leads", "update"): ("write", "lead", lambda s, i, o: s.leads.update(i[f"ld_{o}"], {"title": "x"})),
    ("leads", "move"): ("write", "lead", lambda s, i, o: s.leads.move(i[f"ld_{o}"], "qualifying")),
    ("leads", "convert"): ("write", "lead", lambda s, i, o: s.leads.convert(i[f"ld_{o}"])),
    ("leads", "reject"): ("write", "lead", lambda s, i, o: s.leads.reject(i[f"ld_{o}"], reason_text="x")),
    ("leads", "reopen"): ("write", "lead", lambda s, i, o: s.leads.reopen(i[f"ld_{o}"])),
    ("leads", "share"): ("write", "lead", lambda s, i, o: s.leads.share(i[f"ld_{o}"], i["m_a1"])),
    ("contacts", "get"): ("read", "contact", lambda s, i, o: s.contacts.get(i[f"ct_{o}"])),
    ("contacts", "update"): ("write", "contact", lambda s, i, o: s.contacts.update(i[f"ct_{o}"], {"last_name": "x"})),
    ("contacts", "share"): ("write", "contact", lambda s, i, o: s.contacts.share(i[f"ct_{o}"], i["m_a1"])),
    ("companies", "get"): ("read", "company", lambda s, i, o: s.companies.get(i[f"co_{o}"])),
    ("companies", "update"): ("write", "company", lambda s, i, o: s.companies.update(i[f"co_{o}"], {"address": "x"})),
    ("companies", "share"): ("write", "company", lambda s, i, o: s.companies.share(i[f"co_{o}"], i["m_a1"])),
    ("tasks", "get"): ("read", "task", lambda s, i, o: s.tasks.get(i[f"tk_{o}"])),
    ("tasks", "add"): ("write", "deal", lambda s, i, o: s.tasks.add(title="t", entity_type="deal",
                                                                     entity_id=i[f"dl_{o}"])),
    ("tasks", "update"): ("write", "task", lambda s, i, o: s.tasks.update(i[f"tk_{o}"], {"title": "x"})),
    ("tasks", "reassign"): ("write", "task", lambda s, i, o: s.tasks.reassign(i[f"tk_{o}"], i["m_a1"])),
    ("tasks", "complete"): ("write", "task", lambda s, i, o: s.tasks.complete(i[f"tk_{o}"])),
    ("tasks", "cancel"): ("write", "task", lambda s, i, o: s.tasks.cancel(i[f"tk_{o}"])),
    ("tasks", "reopen"): ("write", "task", lambda s, i, o: s.tasks.reopen(i[f"tk_{o}"])),
    ("tasks", "share"): ("write", "task", lambda s, i, o: s.tasks.share(i[f"tk_{o}"], i["m_a1"])),
    ("notes", "get"): ("read", "note", lambda s, i, o: s.notes.get(i[f"nt_{o}"])),
    ("notes", "add"): ("read", "deal", lambda s, i, o: s.notes.add("deal", i[f"dl_{o}"], "hi")),
    ("notes", "share"): ("write", "note", lambda s, i, o: s.notes.share(i[f"nt_{o}"], i["m_a1"])),
    ("timeline", "of"): ("read", "deal", lambda s, i, o: s.timeline.of("deal", i[f"dl_{o}"])),
    # last: archive, restore, then delete (which the admin's run really does)
    **{(svc, action): ("write", entity, (lambda s, i, o, svc=svc, key=key, action=action:
                                         getattr(getattr(s, svc), action)(i[f"{key}_{o}"])))
       for action in ("archive", "restore", "delete")
       for svc, entity, key in (("tasks", "task", "tk"), ("deals", "deal", "dl"), ("leads", "lead", "ld"),
                                ("contacts", "contact", "ct"), ("companies", "company", "co"))},
}
CARD_PARAMS = {"id", "entity_id"}


def _card_methods() -> set[tuple[str, str]]:
    """Every public method of the card services taking a card (``id`` or ``entity_id``)."""
    found = set()
    for name, attr in vars(Services).items():
        service = getattr(attr, "func", None)
        cls = inspect.signature(service).return_annotation if service else None
        cls = getattr(__import__("crmkit.core.services", fromlist=[str(cls)]), str(cls), None) if cls else None
        if not (isinstance(cls, type) and issubclass(cls, Service)) or cls.entity == "user":
            if name == "timeline":
                found.add(("timeline", "of"))
            continue
        for meth, fn in inspect.getmembers(cls, inspect.isfunction):
            if not meth.startswith("_") and CARD_PARAMS & set(inspect.signature(fn).parameters):
                found.add((name, meth))
    return found


def test_every_card_method_is_in_the_table() -> None:
    """A new service method taking a card must be added to CALLS (and so tested against the rules)."""
    methods = _card_methods()
    assert ("deals", "move") in methods and ("notes", "add") in methods
    assert methods == set(CALLS), f"missing: {sorted(methods - set(CALLS))}; stale: {sorted(set(CALLS) - methods)}"


def _expected(role: str, kind: str, entity: str) -> bool:
    """Whether ``role`` may make the call on the world's target cards."""
    if role == "admin":
        return True
    if role == "measurer":  # reads dl_a2 (its contact, its notes) through an open task assigned to them
        return kind == "read" and entity in ("deal", "contact", "note")
    return False  # m_a1 on m_a2's cards


@pytest.mark.parametrize("role,owner", [("m_a1", "a2"), ("measurer", "a2"), ("admin", "b")])
def test_service_methods_x_roles(world: World, role: str, owner: str) -> None:
    services = world.crm.as_user(world.ids[role])
    wrong = []
    for (svc, meth), (kind, entity, call) in CALLS.items():
        before = _events(world)
        try:
            call(services, world.ids, owner)
            denied = False
        except (PermissionDeniedError, NotFoundError):
            denied = True
        except ValidationError as exc:  # a card in the arguments that one may not see: "does not exist"
            denied = exc.message.endswith("does not exist")
        except Exception:  # noqa: BLE001 - a conflict is not a record-rule answer
            denied = False
        if denied == _expected(role, kind, entity):
            wrong.append(f"{svc}.{meth}: {'denied' if denied else 'allowed'}")
        if denied and _events(world) != before:
            wrong.append(f"{svc}.{meth}: denied but wrote events")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


# -- no existence oracle: a card one may not see answers exactly like a missing one ------------------

ORACLE_CALLS: list[tuple[str, str, Any]] = [  # (method, path with {id}, body with "{id}")
    ("GET", "/deals/{id}", None), ("GET", "/deals/{id}/history", None), ("GET", "/timeline/deal/{id}", None),
    ("PATCH", "/deals/{id}", {"title": "x"}), ("POST", "/deals/{id}/move", {"stage": "proposal_sent"}),
    ("POST", "/deals/{id}/lose", {"reason_text": "x"}), ("POST", "/deals/{id}/win", {}),
    ("GET", "/contacts/{id}", None), ("PATCH", "/contacts/{id}", {"last_name": "x"}),
    ("POST", "/notes", {"entity_type": "deal", "entity_id": "{id}", "body": "x"}),
    ("POST", "/tasks", {"title": "x", "entity_type": "deal", "entity_id": "{id}"}),
    ("POST", "/deals", {"title": "x", "contact_id": "{contact}"}),
    ("POST", "/leads", {"title": "x", "contact_id": "{contact}"}),
]


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    return value


def test_invisible_answers_exactly_like_missing(world: World) -> None:
    """m_a1 may not see dl_b (contact ct_b): every answer equals the one for an id that does not exist."""
    c, ids, h = world.client, world.ids, world.headers
    hidden = {"id": ids["dl_b"], "contact": ids["ct_b"]}
    missing = {"id": 999_999, "contact": 999_998}
    before = _events(world)
    for method, path, body in ORACLE_CALLS:
        answers = []
        for which in (hidden, missing):
            r = c.request(method, "/api/v1" + path.format(**which), json=_fill(body, which), headers=h["m_a1"])
            key = "contact" if "{contact}" in str(body) else "id"
            text = r.text.replace(str(which[key]), "ID")
            answers.append((r.status_code, text))
        assert answers[0] == answers[1], (method, path, answers)
        assert answers[0][0] in (404, 422), (method, path, answers)
    assert _events(world) == before
