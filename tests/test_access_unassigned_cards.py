"""Cards nobody is responsible for: the unassigned leads are every manager's pool; an unassigned
deal, contact or company is not (only admins and heads without a team see those)."""

from __future__ import annotations

from typing import Any

import pytest

from crmkit import NotFoundError, PermissionDeniedError

INVISIBLE = (NotFoundError, PermissionDeniedError)  # one answer, 404, once issue 12's defect 8 is fixed


def test_managers_see_unassigned_leads_but_not_unassigned_deals(crm: Any) -> None:
    ann = crm.users.create(email="ann@x.example", name="Ann", role="manager", team="sales")
    head = crm.users.create(email="head@x.example", name="Head", role="head", team="sales")
    boss = crm.users.create(email="boss@x.example", name="Boss", role="head")  # no team: heads everyone
    me = crm.as_user(ann.id)
    own = me.deals.create(title="Ann's deal")
    pool_lead = crm.leads.create(title="Web lead", source="web_form")  # made by the system: nobody's
    orphan = crm.deals.create(title="Imported deal")
    orphan_contact = crm.contacts.create(first_name="Imported")
    orphan_company = crm.companies.create(name="Imported Ltd")
    assert (pool_lead.responsible_id, orphan.responsible_id, orphan_contact.responsible_id) == (None, None, None)

    assert [d.title for d in me.deals.list()] == ["Ann's deal"]
    assert [lead.title for lead in me.leads.list()] == ["Web lead"]
    assert me.leads.get(pool_lead.id).id == pool_lead.id
    assert me.contacts.list().items == [] and me.companies.list().items == []
    for read in (lambda: me.deals.get(orphan.id), lambda: me.contacts.get(orphan_contact.id),
                 lambda: me.companies.get(orphan_company.id)):
        with pytest.raises(INVISIBLE):
            read()
    with pytest.raises(INVISIBLE):
        me.deals.move(orphan.id, "proposal_sent")
    assert crm.deals.get(orphan.id).stage == "collecting_data"

    assert [d.title for d in crm.as_user(head.id).deals.list()] == ["Ann's deal"]  # the team's, not nobody's
    assert sorted(d.title for d in crm.as_user(boss.id).deals.list()) == ["Ann's deal", "Imported deal"]
    assert own.responsible_id == ann.id
