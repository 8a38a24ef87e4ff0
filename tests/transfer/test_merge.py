"""Duplicates found on create and update (strict mode: 409), the duplicates report, and merges
(fields chosen, phones and e-mails united, rows re-pointed, telephony calls through the hook,
timelines combined, pointers from merged-away ids), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert, select

from crmkit import ConflictError, Crm
from crmkit.testing import MakeCrm
from crmkit.transfer import duplicates
from crmkit.transfer.merge import MergedError, merge, survivor_of


def test_duplicates_found_and_reported(crm: Crm) -> None:
    a = crm.contacts.create(first_name="Ann", last_name="Lee", phones=["+12125550100"])
    b = crm.contacts.create(first_name="Annie", emails=["ANN@x.example"], phones=["(212) 555-0100"])
    c = crm.contacts.create(first_name="ann", last_name="LEE")
    d = crm.contacts.create(first_name="Bob", emails=["ann@x.example"])
    crm.contacts.create(first_name="Unique")
    assert duplicates.find(crm.system, "contact", a.id) == [b.id, c.id]
    assert duplicates.find(crm.system, "contact", b.id) == [a.id, d.id]
    assert duplicates.report(crm.system, "contact") == [
        {"by": "email", "value": "ann@x.example", "ids": [b.id, d.id]},
        {"by": "name", "value": "ann lee", "ids": [a.id, c.id]},
        {"by": "phone", "value": "+12125550100", "ids": [a.id, b.id]}]
    crm.companies.create(name="Acme")
    crm.companies.create(name="ACME ")
    assert [g["by"] for g in duplicates.report(crm.system, "company")] == ["name"]


def test_strict_mode_refuses_a_duplicate_with_409(make_crm: MakeCrm) -> None:
    crm = make_crm(settings={"duplicates": {"strict": True}})
    a = crm.contacts.create(first_name="Ann", phones=["+12125550100"])
    with pytest.raises(ConflictError, match=f"looks like contact {a.id}") as info:
        crm.contacts.create(first_name="Other", phones=["212 555 0100"])
    assert info.value.status == 409
    b = crm.contacts.create(first_name="Bob")
    with pytest.raises(ConflictError):
        crm.contacts.update(b.id, {"first_name": "Ann"})
    assert crm.contacts.count() == 2 and crm.contacts.get(b.id).first_name == "Bob"


def test_merge_contacts(make_crm: MakeCrm) -> None:
    crm = make_crm(plugins=["telephony"])
    ada = crm.users.create(email="ada@w.example", name="Ada", role="admin")
    me = crm.as_user(ada.id)
    keep = me.contacts.create(first_name="Ann", last_name="", phones=["+12125550100"], emails=["ann@x.example"])
    gone = me.contacts.create(first_name="Anna", last_name="Lee", phones=["+12125550199"], emails=["ANN@x.example"],
                              birthday="1990-01-02", custom={"preferred_channel": "sms"})
    deal = me.deals.create(title="Windows", contact_id=gone.id)
    task = me.tasks.add(title="Call", entity_type="contact", entity_id=gone.id, assignee_id=ada.id)
    me.notes.add("contact", gone.id, "met at the fair")
    from crmkit_telephony.schema import calls

    with crm.engine.begin() as conn:
        conn.execute(insert(calls).values(provider="test", call_id="c1", direction="inbound",
                                          from_number="+12125550199", to_number="+12125550000", status="ended",
                                          contact_id=gone.id, started_at=crm.clock.now(),
                                          created_at=crm.clock.now(), updated_at=crm.clock.now()))
    merged = merge(me, "contact", keep.id, [gone.id], fields={"first_name": gone.id})
    assert (merged.first_name, merged.last_name, merged.phones, merged.emails, str(merged.birthday),
            dict(merged.custom)) == ("Anna", "Lee", ("+12125550100", "+12125550199"), ("ann@x.example",),
                                     "1990-01-02", {"preferred_channel": "sms"})
    assert crm.deals.get(deal.id).contact_id == keep.id
    assert crm.tasks.get(task.id).entity_id == keep.id
    with crm.engine.connect() as conn:
        assert conn.scalar(select(calls.c.contact_id)) == keep.id
    assert survivor_of(crm, "contact", gone.id) == keep.id
    assert crm.contacts.get(gone.id).archived_at is not None  # kept, archived: nothing lost
    types = [e.type for e in crm.timeline.of("contact", keep.id, limit=100).items]
    assert "contact.merged" in types and types.count("contact.created") == 2  # both cards' histories
    event = next(e for e in crm.timeline.of("contact", keep.id, limit=100).items if e.type == "contact.merged")
    assert event.data["merged_ids"] == [gone.id] and event.data["moved"]["telephony.telephony_calls"] == 1
    assert event.data["moved"]["crm_deals.contact_id"] == 1
    assert MergedError("contact", gone.id, keep.id).to_dict()["merged_into"] == keep.id


def test_merge_refuses_bad_input_and_writes_nothing(crm: Crm) -> None:
    a = crm.contacts.create(first_name="A")
    b = crm.contacts.create(first_name="B")
    from crmkit import NotFoundError, ValidationError

    with pytest.raises(ValidationError, match="other cards"):
        merge(crm.system, "contact", a.id, [a.id])
    with pytest.raises(ValidationError, match="not a field"):
        merge(crm.system, "contact", a.id, [b.id], fields={"id": b.id})
    with pytest.raises(NotFoundError):
        merge(crm.system, "contact", a.id, [999])
    assert crm.contacts.count() == 2 and survivor_of(crm, "contact", b.id) is None


def test_merge_companies_and_leads(crm: Crm) -> None:
    a = crm.companies.create(name="Acme")
    b = crm.companies.create(name="ACME Inc", address="1 Main St")
    person = crm.contacts.create(first_name="P", company_id=b.id)
    assert merge(crm.system, "company", a.id, [b.id]).address == "1 Main St"
    assert crm.contacts.get(person.id).company_id == a.id
    x = crm.leads.create(title="Request", phone="+12125550100")
    y = crm.leads.create(title="Request again", phone="+12125550100", email="y@x.example")
    assert merge(crm.system, "lead", x.id, [y.id]).email == "y@x.example"
