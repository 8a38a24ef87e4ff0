"""A card's timeline tells its whole story (issue 13): a deal's shows its tasks' activity (notes on
them included), a contact's and a company's the key events of their deals -- within the record
rules: only the tasks and deals the reader may read."""

from __future__ import annotations

from typing import Any

from test_api_helpers import Api, build_api

from crmkit.testing import auth_headers


def _types(api: Api, path: str, headers: dict[str, str] | None = None) -> list[tuple[str, str, int]]:
    items = api.ok(api.get(f"/api/v1/timeline/{path}", params={"limit": 500}, headers=headers or {}))["items"]
    return [(e["type"], e["entity_type"], e["entity_id"]) for e in items]


def test_a_deals_timeline_has_its_tasks_and_a_contacts_its_deals(make_crm: Any) -> None:
    crm = make_crm()
    api = build_api(crm)
    anna = crm.users.create(email="anna@windows.example", name="Anna", team="a").id
    bob = crm.users.create(email="bob@windows.example", name="Bob", team="b").id
    with api.client:
        as_anna, as_bob = auth_headers(crm, anna), auth_headers(crm, bob)
        contact = api.ok(api.post("/api/v1/contacts", {"first_name": "Ann", "responsible_id": anna}, headers=as_anna),
                         201)
        company = api.ok(api.post("/api/v1/companies", {"name": "Glass LLC"}, headers=as_anna), 201)
        mine = api.ok(api.post("/api/v1/deals", {"title": "Anna's", "contact_id": contact["id"],
                                                 "company_id": company["id"]}, headers=as_anna), 201)
        task = api.ok(api.post("/api/v1/tasks", {"title": "Measure", "entity_type": "deal", "entity_id": mine["id"]},
                               headers=as_anna), 201)
        api.ok(api.post("/api/v1/notes", {"entity_type": "task", "entity_id": task["id"], "body": "ladder"},
                        headers=as_anna), 201)
        api.ok(api.post(f"/api/v1/tasks/{task['id']}/complete", headers=as_anna))
        api.ok(api.patch(f"/api/v1/deals/{mine['id']}", {"title": "Anna's deal"}, headers=as_anna))
        api.ok(api.post(f"/api/v1/deals/{mine['id']}/win", {}, headers=as_anna))
        # Bob's deal with the same contact (the admin links it): Anna may not read it
        bobs = api.ok(api.post("/api/v1/deals", {"title": "Bob's", "contact_id": contact["id"],
                                                 "responsible_id": bob}), 201)
        other = api.ok(api.post("/api/v1/deals", {"title": "Someone else's"}), 201)

        d, t = mine["id"], task["id"]
        assert _types(api, f"deal/{d}", as_anna) == [
            ("deal.created", "deal", d), ("task.created", "task", t), ("note.added", "task", t),
            ("task.completed", "task", t), ("deal.updated", "deal", d), ("deal.stage_changed", "deal", d)]
        key_events = [("deal.created", "deal", d), ("deal.stage_changed", "deal", d)]
        assert _types(api, f"contact/{contact['id']}", as_anna) == [
            ("contact.created", "contact", contact["id"]), *key_events]  # not Bob's deal, not the update
        assert _types(api, f"company/{company['id']}", as_anna) == [("company.created", "company", company["id"]),
                                                                    *key_events]
        admin_view = _types(api, f"contact/{contact['id']}")
        assert ("deal.created", "deal", bobs["id"]) in admin_view
        assert ("deal.created", "deal", other["id"]) not in admin_view
        # the task's own timeline is unchanged; the old view stays available in the SDK
        assert _types(api, f"task/{t}", as_anna) == [("task.created", "task", t), ("note.added", "task", t),
                                                      ("task.completed", "task", t)]
        only_own = crm.as_user(anna).timeline.of("deal", d, related=False).items
        assert [e.type for e in only_own] == ["deal.created", "deal.updated", "deal.stage_changed"]


def test_a_reader_sees_only_the_tasks_they_may_read(make_crm: Any) -> None:
    crm = make_crm(plugins=["example"])  # the example plugin's measurer: scope assigned_tasks
    anna = crm.users.create(email="anna@windows.example", name="Anna").id
    max_ = crm.users.create(email="max@windows.example", name="Max", role="measurer").id
    me = crm.as_user(anna)
    deal = me.deals.create(title="Windows")
    theirs = me.tasks.add(title="Measure", assignee_id=max_, entity_type="deal", entity_id=deal.id)
    mine = me.tasks.add(title="Call the customer", entity_type="deal", entity_id=deal.id)
    seen = {(e.entity_type, e.entity_id) for e in crm.as_user(max_).timeline.of("deal", deal.id).items}
    assert ("task", theirs.id) in seen and ("task", mine.id) not in seen
    assert mine.assignee_id == anna  # a task added without an assignee is the one adding it


def test_a_task_without_an_assignee_goes_to_the_person_or_the_cards_owner(make_crm: Any) -> None:
    crm = make_crm()
    anna = crm.users.create(email="anna@windows.example", name="Anna").id
    bob = crm.users.create(email="bob@windows.example", name="Bob").id
    deal = crm.as_user(anna).deals.create(title="Windows")
    assert crm.as_user(bob).tasks.add(title="Mine").assignee_id == bob  # a person: theirs
    assert crm.system.tasks.add(title="Call", entity_type="deal", entity_id=deal.id).assignee_id == anna
    admin = crm.users.create(email="ada@windows.example", name="Ada", role="admin").id
    rule = crm.as_user(admin).tasks.add(title="Rule", entity_type="deal", entity_id=deal.id, rule="my.rule")
    assert rule.assignee_id == anna  # a rule's task: the card's responsible, not the one whose move made it
    crm.users.update(anna, {"active": False})
    assert crm.system.tasks.add(title="Call", entity_type="deal", entity_id=deal.id).assignee_id is None
    assert crm.system.tasks.add(title="Nothing to go by").assignee_id is None
