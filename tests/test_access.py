"""Record rules in the services: what each role sees and may do, through every service."""

from __future__ import annotations

import pytest

from crmkit import NotFoundError, PermissionDeniedError, ValidationError


@pytest.fixture
def org(crm):
    u = crm.users
    people = {
        "admin": u.create(email="root@x.example", name="Root", role="admin"),
        "head": u.create(email="head@x.example", name="Head", role="head", team="sales"),
        "ann": u.create(email="ann@x.example", name="Ann", team="sales"),
        "bob": u.create(email="bob@x.example", name="Bob", team="sales"),
        "eve": u.create(email="eve@x.example", name="Eve", team="other"),
    }
    cards = {}
    for who in ("ann", "bob", "eve"):
        me = crm.as_user(people[who].id)
        c = me.contacts.create(first_name=f"{who}'s customer")
        cards[who] = me.deals.create(title=f"{who}'s deal", contact_id=c.id)
    cards["pool"] = crm.leads.create(title="Unassigned web lead", source="web_form")
    return people, cards


def titles(page):
    return sorted(d.title for d in page)


def test_manager_sees_only_own_deals(crm, org):
    people, cards = org
    ann = crm.as_user(people["ann"].id)
    assert titles(ann.deals.list()) == ["ann's deal"]
    assert [c.first_name for c in ann.contacts.list()] == ["ann's customer"]
    for action in (lambda: ann.deals.get(cards["bob"].id),
                   lambda: ann.deals.move(cards["bob"].id, "proposal_sent"),
                   lambda: ann.deals.update(cards["bob"].id, {"title": "mine now"}),
                   lambda: ann.deals.lose(cards["bob"].id, reason="no_response"),
                   lambda: ann.deals.history(cards["bob"].id),
                   lambda: ann.timeline.of("deal", cards["bob"].id),
                   lambda: ann.notes.add("deal", cards["bob"].id, "peek"),
                   lambda: ann.tasks.add(title="x", entity_type="deal", entity_id=cards["bob"].id)):
        with pytest.raises((NotFoundError, ValidationError), match="does not exist"):  # as if it were not there
            action()
    assert crm.deals.get(cards["bob"].id).title == "bob's deal"
    # unassigned leads are everybody's pool
    assert [l.title for l in ann.leads.list()] == ["Unassigned web lead"]
    with pytest.raises(PermissionDeniedError, match="audit log is for admins"):
        ann.timeline.all()


def test_head_sees_the_team_admin_sees_all(crm, org):
    people, cards = org
    assert titles(crm.as_user(people["head"].id).deals.list()) == ["ann's deal", "bob's deal"]
    assert titles(crm.as_user(people["admin"].id).deals.list()) == ["ann's deal", "bob's deal", "eve's deal"]
    crm.as_user(people["head"].id).deals.move(cards["bob"].id, "proposal_sent")


def test_sharing_and_tasks_open_a_card(crm, org):
    people, cards = org
    bob = crm.as_user(people["bob"].id)
    bob.deals.share(cards["bob"].id, people["ann"].id)
    ann = crm.as_user(people["ann"].id)
    assert titles(ann.deals.list()) == ["ann's deal", "bob's deal"]
    eve = crm.as_user(people["eve"].id)
    bob.tasks.add(title="Measure it", assignee_id=people["eve"].id, entity_type="deal", entity_id=cards["bob"].id)
    assert titles(eve.deals.list()) == ["bob's deal", "eve's deal"]
    assert [t.title for t in eve.tasks.list()] == ["Call back: Unassigned web lead", "Measure it"]
    # tasks on cards she sees: the shared deal, and the unassigned lead pool
    assert [t.title for t in crm.as_user(people["ann"].id).tasks.list()] == ["Call back: Unassigned web lead", "Measure it"]


def test_only_admins_manage_users(crm, org):
    people, _ = org
    with pytest.raises(PermissionDeniedError, match="may not change users"):
        crm.as_user(people["head"].id).users.create(email="new@x.example", name="New")
    crm.as_user(people["admin"].id).users.update(people["bob"].id, {"role": "head"})
    assert [u.name for u in crm.as_user(people["ann"].id).users.list(limit=10)][:2] == ["Root", "Head"]


def test_plugin_roles_and_permissions(make_crm):
    crm = make_crm(plugins=["example"])
    assert "measurer" in crm.roles
    assert "example.export" in crm.roles["head"].permissions
    manager = crm.users.create(email="m@x.example", name="M")
    measurer = crm.users.create(email="z@x.example", name="Z", role="measurer")
    deal = crm.as_user(manager.id).deals.create(title="Bay window")
    crm.as_user(manager.id).deals.create(title="Other")
    z = crm.as_user(measurer.id)
    assert z.deals.list().items == []
    crm.as_user(manager.id).tasks.add(title="Measure", assignee_id=measurer.id, entity_type="deal", entity_id=deal.id)
    assert [d.title for d in z.deals.list()] == ["Bay window"]
    assert not crm.as_user(manager.id).access.allows("example.export")
    with pytest.raises(PermissionDeniedError, match="may not export"):
        crm.as_user(manager.id).access.require("example.export", "export")


def test_deactivated_user_cannot_act(crm, org):
    people, _ = org
    crm.users.update(people["eve"].id, {"active": False})
    with pytest.raises(PermissionDeniedError, match="deactivated"):
        crm.as_user(people["eve"].id).deals.list()
