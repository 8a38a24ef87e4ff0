"""Record rules at the corners the other access tests do not reach (each found by mutation testing:
scripts/mutation.py access)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from crmkit import (
    Crm, FrozenClock, PermissionDeniedError, PluginInfo, Role, Settings, ValidationError, hookimpl, schema,
)
from crmkit.testing import template

MAX_ID = 2**31 - 1


def test_a_manager_reads_the_notes_on_a_task_given_to_them(crm: Any) -> None:
    ann = crm.users.create(email="ann@x.example", name="Ann", role="manager")
    boss = crm.users.create(email="boss@x.example", name="Boss", role="admin")
    task = crm.as_user(boss.id).tasks.add(title="Call the supplier", assignee_id=ann.id)
    note = crm.as_user(boss.id).notes.add("task", task.id, "their number is on the invoice")
    other = crm.as_user(boss.id).tasks.add(title="Not Ann's", assignee_id=boss.id)
    crm.as_user(boss.id).notes.add("task", other.id, "private")
    assert [n.id for n in crm.as_user(ann.id).notes.list()] == [note.id]
    with crm.engine.connect() as conn:
        assert crm.as_user(ann.id).access.can_see(conn, "note", schema.notes, note.id)


class Viewer:
    """A plugin registering a read-only role that sees every card."""

    plugin_info = PluginInfo(name="viewer_role", version="0.1.0")

    @hookimpl
    def crm_register_roles(self, crm: Any) -> list[Role]:
        return [Role("viewer", "all", frozenset({"cards.read"}), "reads everything, changes nothing")]


def test_reading_a_card_is_not_changing_it(db_url: str, clock: FrozenClock, tmp_path: Path) -> None:
    crm = Crm(Settings.from_dict({**template(), "database": db_url}, base_dir=tmp_path, environ={}),
              plugins=[Viewer()], clock=clock)
    try:
        vera = crm.users.create(email="vera@x.example", name="Vera", role="viewer")
        ann = crm.users.create(email="ann@x.example", name="Ann", role="manager")
        mine = crm.as_user(ann.id).deals.create(title="Ann's")
        tasked = crm.deals.create(title="Measured by Ann")
        crm.tasks.add(title="Measure", assignee_id=ann.id, entity_type="deal", entity_id=tasked.id)
        viewer, manager = crm.as_user(vera.id).access, crm.as_user(ann.id).access
        with crm.engine.connect() as conn:
            assert viewer.unrestricted and viewer.can_see(conn, "deal", schema.deals, mine.id)
            assert not viewer.can_change(conn, "deal", schema.deals, mine.id)  # no cards.write
            assert manager.can_change(conn, "deal", schema.deals, mine.id)
            assert manager.can_see(conn, "deal", schema.deals, tasked.id)
            assert not manager.can_change(conn, "deal", schema.deals, tasked.id)  # read through a task only
    finally:
        crm.close()


def test_a_refusal_names_the_role(crm: Any) -> None:
    ann = crm.users.create(email="ann@x.example", name="Ann", role="manager")
    with pytest.raises(PermissionDeniedError, match=r"^your role \(manager\) may not change users$"):
        crm.as_user(ann.id).users.create(email="new@x.example", name="New")


def test_a_link_to_the_largest_id_is_checked_like_any_other(crm: Any) -> None:
    ann = crm.users.create(email="ann@x.example", name="Ann", role="manager")
    far = crm.contacts.create(first_name="Far")  # nobody's: Ann may not see it
    with crm.engine.begin() as conn:
        conn.execute(update(schema.contacts).where(schema.contacts.c.id == far.id).values(id=MAX_ID))
    with pytest.raises(ValidationError, match=f"contact_id: contact {MAX_ID} does not exist") as err:
        crm.as_user(ann.id).deals.create(title="Linked", contact_id=MAX_ID)
    assert err.value.field == "contact_id"
    assert crm.deals.create(title="The system may", contact_id=MAX_ID).contact_id == MAX_ID


def test_by_id_reads_by_the_read_rule_unless_asked_for_the_write_rule(crm: Any) -> None:
    ann = crm.users.create(email="ann@x.example", name="Ann", role="manager")
    tasked = crm.deals.create(title="Measured by Ann")
    crm.tasks.add(title="Measure", assignee_id=ann.id, entity_type="deal", entity_id=tasked.id)
    access = crm.as_user(ann.id).access
    with crm.engine.connect() as conn:
        assert conn.execute(access.by_id("deal", schema.deals), {"ident": tasked.id}).first() is not None
        assert conn.execute(access.by_id("deal", schema.deals, write=True), {"ident": tasked.id}).first() is None


def test_links_to_cards_one_may_not_see_are_refused_in_every_field(crm: Any) -> None:
    ann = crm.users.create(email="ann@x.example", name="Ann", role="manager")
    me = crm.as_user(ann.id)
    hidden_company = crm.companies.create(name="Not Ann's Ltd")
    hidden_contact = crm.contacts.create(first_name="Not Ann's")
    mine = me.contacts.create(first_name="Ann's customer")
    with pytest.raises(ValidationError) as err:  # no contact_id before it: company_id is still checked
        me.deals.create(title="x", company_id=hidden_company.id)
    assert err.value.field == "company_id"
    deal = me.deals.create(title="Ann's deal", contact_id=mine.id)
    with pytest.raises(ValidationError) as changed:  # a new link on an update is checked too
        me.deals.update(deal.id, {"contact_id": hidden_contact.id})
    assert changed.value.field == "contact_id"
    assert me.deals.update(deal.id, {"contact_id": mine.id, "title": "same link"}).contact_id == mine.id
    with pytest.raises(ValidationError) as after_unchanged:  # an unchanged link first: the next is still checked
        me.deals.update(deal.id, {"contact_id": mine.id, "company_id": hidden_company.id})
    assert after_unchanged.value.field == "company_id"


def test_a_measurer_reads_their_own_notes_and_no_one_elses(make_crm: Any) -> None:
    crm = make_crm(plugins=["example"])
    boss = crm.users.create(email="boss@x.example", name="Boss", role="admin")
    zed = crm.users.create(email="zed@x.example", name="Zed", role="measurer")
    deal = crm.as_user(boss.id).deals.create(title="Bay window")
    other = crm.as_user(boss.id).deals.create(title="Not Zed's")
    task = crm.as_user(boss.id).tasks.add(title="Measure", assignee_id=zed.id, entity_type="deal", entity_id=deal.id)
    own = crm.as_user(zed.id).notes.add("deal", deal.id, "2.4 m wide")
    crm.as_user(boss.id).notes.add("deal", other.id, "boss only")
    on_deal = crm.as_user(boss.id).notes.add("deal", deal.id, "the customer is home after 5")
    lead = crm.as_user(boss.id).leads.create(title="A lead with the deal's id", name="Lee")
    assert lead.id == deal.id  # a note on it must not pass for a note on the deal
    crm.as_user(boss.id).notes.add("lead", lead.id, "not for the measurer")
    assert sorted(n.id for n in crm.as_user(zed.id).notes.list()) == [own.id, on_deal.id]
    crm.as_user(zed.id).tasks.complete(task.id)  # the deal is no longer Zed's to read; his note still is
    assert [n.id for n in crm.as_user(zed.id).notes.list()] == [own.id]


def test_an_unchanged_link_to_a_card_one_may_not_see_is_no_new_link(crm: Any) -> None:
    ann = crm.users.create(email="ann@x.example", name="Ann", role="manager")
    someone = crm.contacts.create(first_name="Known to the office")  # Ann does not see this contact
    lead = crm.leads.create(title="Ann's lead", name="Jo", responsible_id=ann.id, contact_id=someone.id)
    me = crm.as_user(ann.id)
    updated = me.leads.update(lead.id, {"title": "Ann's lead, called", "contact_id": someone.id})
    assert (updated.title, updated.contact_id) == ("Ann's lead, called", someone.id)
    other = crm.contacts.create(first_name="Also hidden")
    with pytest.raises(ValidationError) as err:
        me.leads.update(lead.id, {"contact_id": other.id})
    assert err.value.field == "contact_id"


def test_ids_past_32_bits_are_invalid_not_invisible(crm: Any) -> None:
    ann = crm.users.create(email="ann@x.example", name="Ann", role="manager")
    for bad in (MAX_ID + 1, 0):
        with pytest.raises(ValidationError, match=f"contact_id: {bad} is not a valid id"):
            crm.as_user(ann.id).deals.create(title="x", contact_id=bad)


class Clerk:
    """A plugin role granted every ``cards.*`` permission by a wildcard."""

    plugin_info = PluginInfo(name="clerk_role", version="0.1.0")

    @hookimpl
    def crm_register_roles(self, crm: Any) -> list[Role]:
        return [Role("clerk", "own", frozenset({"cards.*"}), "every cards permission, nothing else")]


def test_a_permission_wildcard_grants_its_group_only(db_url: str, clock: FrozenClock, tmp_path: Path) -> None:
    crm = Crm(Settings.from_dict({**template(), "database": db_url}, base_dir=tmp_path, environ={}),
              plugins=[Clerk()], clock=clock)
    try:
        clerk = crm.as_user(crm.users.create(email="c@x.example", name="C", role="clerk").id).access
        assert clerk.allows("cards.read") and clerk.allows("cards.write") and clerk.allows("cards.export")
        assert not clerk.allows("users.manage") and not clerk.allows("read.cards")
    finally:
        crm.close()
