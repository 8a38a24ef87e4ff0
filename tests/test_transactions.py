"""One command = one transaction: rows, stage history, event log, plugin rows, or nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crmkit import ValidationError, schema
from crmkit_testplugins import example


def count(crm, table, *where) -> int:
    with crm.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(table).where(*where))


def test_stage_history_and_events_are_written_with_the_move(crm, alice, clock):
    deal = crm.as_user(alice.id).deals.create(title="Windows for the Smiths", amount="1200.00")
    clock.advance(hours=2)
    crm.as_user(alice.id).deals.move(deal.id, "proposal_sent")
    history = crm.deals.history(deal.id)
    assert [(h.from_stage, h.to_stage, h.actor_id) for h in history] == [
        (None, "collecting_data", alice.id), ("collecting_data", "proposal_sent", alice.id)]
    assert history[1].moved_at == clock.now()
    events = crm.timeline.of("deal", deal.id).items
    assert [e.type for e in events] == ["deal.created", "deal.stage_changed", "task.created"]  # the stage's task
    moved = events[1]
    assert moved.actor_id == alice.id and moved.occurred_at == clock.now()
    assert moved.changes["stage"] == {"before": "collecting_data", "after": "proposal_sent"}


def test_veto_leaves_no_partial_write(make_crm):
    crm = make_crm(plugins=["example"], settings={"example": {"forbidden_word": "SPAM", "locked_stage": "won"}})
    before = {t.name: count(crm, t) for t in (schema.deals, schema.stage_history, schema.events, example.audit)}
    with pytest.raises(ValidationError, match="refuses deals titled 'SPAM'") as err:
        crm.deals.create(title="SPAM offer", amount="10.00")
    assert err.value.field == "title"
    after = {t.name: count(crm, t) for t in (schema.deals, schema.stage_history, schema.events, example.audit)}
    assert after == before


def test_veto_of_a_stage_move_rolls_back_the_move(make_crm):
    crm = make_crm(plugins=["example"], settings={"example": {"locked_stage": "won"}})
    deal = crm.deals.create(title="Kitchen windows")
    with pytest.raises(ValidationError, match="keeps 'won' locked"):
        crm.deals.win(deal.id)
    assert crm.deals.get(deal.id).stage == "collecting_data"
    assert crm.deals.get(deal.id).version == deal.version
    assert len(crm.deals.history(deal.id)) == 1
    assert count(crm, schema.events, schema.events.c.type == "deal.stage_changed") == 0


def test_in_transaction_reaction_writes_atomically(make_crm):
    crm = make_crm(plugins=["example"])
    deal = crm.deals.create(title="Balcony")
    crm.deals.move(deal.id, "proposal_sent")
    assert count(crm, example.audit, example.audit.c.deal_id == deal.id) == 2


def test_failing_reaction_rolls_back_core_rows(make_crm):
    crm = make_crm(plugins=["example"], settings={"example": {"fail_in_transaction": True}})
    with pytest.raises(RuntimeError, match="failed inside the transaction"):
        crm.deals.create(title="Balcony")
    assert count(crm, schema.deals) == 0
    assert count(crm, schema.events) == 0
    assert count(crm, example.audit) == 0


def test_failure_midway_writes_nothing(crm):
    with pytest.raises(ValidationError):
        crm.contacts.create(first_name="Ann", phones=["+1 212 555 0100", "not a phone"])
    assert count(crm, schema.contacts) == 0
    assert count(crm, schema.contact_phones) == 0
