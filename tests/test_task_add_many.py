"""tasks.add_many: a periodic job's automatic tasks in one command, each with its event."""

from __future__ import annotations

import pytest

from crmkit import Crm, ValidationError


def test_add_many_creates_each_task_with_its_event(crm: Crm) -> None:
    mia = crm.users.create(email="mia@example.com", name="Mia", role="manager")
    bob = crm.users.create(email="bob@example.com", name="Bob", role="manager")
    ann = crm.as_user(mia.id).contacts.create(first_name="Ann")
    deal = crm.deals.create(title="Windows", responsible_id=bob.id)
    ids = crm.tasks.add_many([
        {"title": "Call Ann", "entity_type": "contact", "entity_id": ann.id, "rule": "job.call"},
        {"title": "Chase", "entity_type": "deal", "entity_id": deal.id, "rule": "job.chase", "assignee_id": mia.id,
         "due_at": "2030-01-02"},
    ])
    first, second = (crm.tasks.get(i) for i in ids)
    assert (first.title, first.assignee_id, first.rule, first.entity_id) == ("Call Ann", mia.id, "job.call", ann.id)
    assert (second.assignee_id, second.due_at.date().isoformat()) == (mia.id, "2030-01-02")
    created = [e for e in crm.timeline.of("contact", ann.id).items if e.type == "task.created"]
    assert [e.entity_id for e in created] == [ids[0]] and created[0].data["rule"] == "job.call"
    assert crm.tasks.add_many([]) == []


def test_a_bad_item_refuses_the_whole_batch(crm: Crm) -> None:
    ann = crm.contacts.create(first_name="Ann")
    before = crm.tasks.count()
    with pytest.raises(ValidationError, match="contact 999 does not exist"):
        crm.tasks.add_many([{"title": "ok", "entity_type": "contact", "entity_id": ann.id, "rule": "r"},
                            {"title": "no card", "entity_type": "contact", "entity_id": 999, "rule": "r"}])
    with pytest.raises(ValidationError, match="assignee_id: user 77 does not exist"):
        crm.tasks.add_many([{"title": "x", "entity_type": "contact", "entity_id": ann.id, "rule": "r",
                             "assignee_id": 77}])
    with pytest.raises(ValidationError, match="rule"):
        crm.tasks.add_many([{"title": "x", "entity_type": "contact", "entity_id": ann.id}])
    with pytest.raises(ValidationError, match="colour"):
        crm.tasks.add_many([{"title": "x", "entity_type": "contact", "entity_id": ann.id, "rule": "r", "colour": 1}])
    assert crm.tasks.count() == before


def test_under_a_record_rule_each_card_is_checked(crm: Crm) -> None:
    mia = crm.users.create(email="mia@example.com", name="Mia", role="manager")
    other = crm.contacts.create(first_name="Not hers")
    with pytest.raises(ValidationError, match="does not exist"):
        crm.as_user(mia.id).tasks.add_many([{"title": "x", "entity_type": "contact", "entity_id": other.id,
                                             "rule": "r"}])
