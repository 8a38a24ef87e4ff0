"""Contacts (E.164 phones, e-mails), companies, leads, tasks and notes."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from crmkit import ConflictError, ValidationError


def test_phones_are_e164_and_emails_lowercase(make_crm):
    crm = make_crm(default_region="DE")
    c = crm.contacts.create(first_name="Jana", phones=["030 1234567", "+1 (212) 555-0100"],
                            emails=[" Jana@Example.DE "])
    assert c.phones == ("+49301234567", "+12125550100")
    assert c.emails == ("jana@example.de",)
    assert [x.id for x in crm.contacts.find_by_phone("+49 30 1234567")] == [c.id]
    assert [x.id for x in crm.contacts.find_by_email("JANA@example.de")] == [c.id]


@pytest.mark.parametrize(("phones", "field"), [(["12"], "phones[0]"), (["+1 212 555 0100", "abc"], "phones[1]")])
def test_bad_phone_names_the_entry(crm, phones, field):
    with pytest.raises(ValidationError) as err:
        crm.contacts.create(first_name="X", phones=phones)
    assert err.value.field == field


def test_bad_email_and_missing_name(crm):
    with pytest.raises(ValidationError, match="is not a valid e-mail"):
        crm.contacts.create(first_name="X", emails=["x@"])
    with pytest.raises(ValidationError, match="needs a first or a last name"):
        crm.contacts.create(phones=["+12125550100"])


def test_updating_phones_reindexes_lookup(crm):
    c = crm.contacts.create(first_name="Ann", phones=["+12125550100"])
    crm.contacts.update(c.id, {"phones": ["+12125550199"]})
    assert crm.contacts.find_by_phone("+12125550100") == []
    assert [x.id for x in crm.contacts.find_by_phone("+12125550199")] == [c.id]


def test_company_has_many_contacts(crm):
    co = crm.companies.create(name="Glass & Frame LLC", address="1 Main St")
    for name in ("Ann", "Bob"):
        crm.contacts.create(first_name=name, company_id=co.id)
    crm.contacts.create(first_name="Solo")
    assert [c.first_name for c in crm.contacts.list(company_id=co.id)] == ["Ann", "Bob"]


def test_bulk_create_contacts_all_or_nothing_per_batch(crm):
    ids = crm.contacts.bulk_create(
        {"first_name": f"P{i}", "phones": [f"+1212555{i:04d}"]} for i in range(120))
    assert len(ids) == 120 and ids == sorted(ids)
    assert [c.id for c in crm.contacts.find_by_phone("+12125550042")] == [ids[42]]
    assert len(crm.timeline.all(type="contact.created", limit=500)) == 120
    with pytest.raises(ValidationError, match=r"rows\[1\]\.phones\[0\]"):
        crm.contacts.bulk_create([{"first_name": "OK"}, {"first_name": "Bad", "phones": ["x"]}])
    assert len(crm.contacts.list(limit=500)) == 120


def test_lead_reject_requires_reason_and_closes(crm):
    lead = crm.leads.create(title="Web form: 3 windows", name="Ann", phone="212-555-0100", source="web_form")
    assert lead.phone == "+12125550100" and lead.status == "new"
    with pytest.raises(ValidationError, match="needs a reason"):
        crm.leads.reject(lead.id)
    rejected = crm.leads.reject(lead.id, reason="not_a_target_customer")
    assert (rejected.status, rejected.lost_reason) == ("rejected", "Not a target customer")
    with pytest.raises(ConflictError, match="already rejected"):
        crm.leads.reject(lead.id, reason_text="again")
    with pytest.raises(ValidationError, match="not a source name"):
        crm.leads.create(title="x", source="Web Form!")
    assert [x.id for x in crm.leads.list(status="rejected")] == [lead.id]
    assert [x.id for x in crm.leads.list(phone="(212) 555-0100")] == [lead.id]


def test_tasks_overdue_complete_reassign(crm, alice, clock):
    bob = crm.users.create(email="bob@windows.example", name="Bob")
    deal = crm.as_user(alice.id).deals.create(title="Windows")  # alice is responsible: she sees it
    task = crm.as_user(alice.id).tasks.add(title="Send the proposal", assignee_id=alice.id,
                                           due_at=clock.now() + timedelta(days=1), entity_type="deal", entity_id=deal.id)
    assert task.created_by == alice.id
    assert crm.tasks.list(overdue=True).items == []
    clock.advance(days=3)
    [late] = crm.tasks.list(overdue=True, assignee_id=alice.id)
    assert late.is_overdue(clock.now())
    moved = crm.tasks.reassign(task.id, bob.id)
    assert moved.assignee_id == bob.id
    done = crm.tasks.complete(task.id)
    assert done.status == "done" and done.completed_at == clock.now()
    with pytest.raises(ConflictError, match="already done"):
        crm.tasks.complete(task.id)
    assert crm.tasks.list(overdue=True).items == []
    with pytest.raises(ValidationError, match="must be timezone-aware"):
        crm.tasks.add(title="x", due_at=datetime(2026, 1, 1, 9, 0))
    with pytest.raises(ValidationError, match="entity_type: 'invoice' is not one of"):
        crm.tasks.add(title="x", entity_type="invoice", entity_id=1)
    types = [e.type for e in crm.timeline.of("task", task.id)]
    assert types == ["task.created", "task.reassigned", "task.completed"]


def test_notes_appear_in_the_card_timeline(crm, alice):
    deal = crm.deals.create(title="Windows", responsible_id=alice.id)
    crm.as_user(alice.id).notes.add("deal", deal.id, "Customer asked for white frames")
    last = crm.timeline.of("deal", deal.id).items[-1]
    assert (last.type, last.actor_id, last.data["body"]) == ("note.added", alice.id, "Customer asked for white frames")
    with pytest.raises(ValidationError, match="deal 999 does not exist"):
        crm.notes.add("deal", 999, "x")
    with pytest.raises(ValidationError, match="body: is required"):
        crm.notes.add("deal", deal.id, "  ")


def test_users_unique_email_and_roles(crm):
    crm.users.create(email="A@x.example", name="A")
    with pytest.raises(ConflictError, match="already exists"):
        crm.users.create(email="a@x.example", name="A2")
    with pytest.raises(ValidationError, match="role: 'boss' is not one of"):
        crm.users.create(email="b@x.example", name="B", role="boss")
