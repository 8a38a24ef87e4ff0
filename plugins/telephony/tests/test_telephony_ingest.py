"""Ingestion through the installed plugin: leads, timelines, responsible users, call-back tasks,
duplicates and out-of-order events, the plugin's own hook."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from telephony_helpers import CUSTOMER, OFFICE, MakeCrm, event, feed, inbound, telephony_crm, timeline_types, user

import crmkit
from crmkit import Crm, FrozenClock, Settings, hookimpl
from crmkit.testing import template
from crmkit_telephony import CallRecord
from crmkit_telephony.ingest import ingest
from crmkit_telephony.schema import calls
from crmkit_telephony.stats import stats


LEAD_CALLBACK = "stage:leads.new#0"  # the template's "Call back: {title}" on a new lead


def callbacks(crm: Crm, number: str = CUSTOMER) -> list[Any]:
    """The call-back tasks telephony made itself (for callers with a contact)."""
    return crm.tasks.list(rule=f"telephony.callback:{number}").items


def tasks(crm: Crm) -> list[Any]:
    return crm.tasks.list(limit=500).items


def test_loaded_through_its_entry_point_and_absent_when_disabled(make_crm: MakeCrm) -> None:
    crm = telephony_crm(make_crm)
    assert crm.pm.has_plugin("telephony") and "telephony_calls" in crm.tables
    plain = make_crm()
    assert not plain.pm.has_plugin("telephony") and "telephony_calls" not in plain.tables
    assert not hasattr(plain.pm.hook, "telephony_call_finished")


def test_unknown_caller_becomes_a_lead_with_source_call(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm)
    done = feed(crm, clock, "c1", "ringing", direction="inbound", from_number="(202) 555-0144", to_number=OFFICE)
    call = done.call
    assert done.created and call.phone == CUSTOMER and call.lead_id is not None and call.contact_id is None
    lead = crm.leads.get(call.lead_id)
    assert (lead.source, lead.phone, lead.title) == ("call", CUSTOMER, f"Call from {CUSTOMER}")
    assert lead.responsible_id == call.responsible_id == user(crm, "anna@windows.example")  # first in turn
    assert timeline_types(crm, "lead", lead.id) == ["telephony.call_started"]
    # the same caller again, lead still open: no second lead
    second = feed(crm, clock, "c2", "ringing", direction="inbound", from_number=CUSTOMER)
    assert second.call.lead_id == lead.id
    assert crm.leads.count(source="call") == 1


def test_known_caller_goes_on_the_contact_and_its_open_deal(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm)
    bob = user(crm, "bob@windows.example")
    contact = crm.contacts.create(first_name="Sam", last_name="Smith", phones=["202-555-0144"])
    deal = crm.deals.create(title="Windows for the Smiths", contact_id=contact.id, responsible_id=bob)
    call = inbound(crm, clock, "c1", answer=True, talk=95).call
    assert (call.contact_id, call.deal_id, call.lead_id) == (contact.id, deal.id, None)
    assert call.responsible_id == bob and call.user_id == user(crm, "anna@windows.example")
    assert (call.result, call.duration) == ("answered", 95)
    assert crm.leads.count(source="call") == 0
    assert timeline_types(crm, "deal", deal.id) == ["telephony.call_started", "telephony.call_finished"]
    assert timeline_types(crm, "contact", contact.id) == ["telephony.call_started", "telephony.call_finished"]
    finished = [e for e in crm.timeline.of("deal", deal.id) if e.type == "telephony.call_finished"][0]
    assert finished.data["result"] == "answered" and finished.data["duration"] == 95


def test_responsible_round_robin_among_telephony_users(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm)
    anna, bob = user(crm, "anna@windows.example"), user(crm, "bob@windows.example")
    owners = [feed(crm, clock, f"c{i}", "ringing", direction="inbound", from_number=f"+1202555{i:04d}").call
              for i in range(3)]
    assert [c.responsible_id for c in owners] == [anna, bob, anna]
    assert {c.responsible_id for c in owners} == {crm.leads.get(c.lead_id).responsible_id for c in owners}


def test_contact_owner_is_responsible_without_an_open_deal(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm)
    bob = user(crm, "bob@windows.example")
    crm.contacts.create(first_name="Sam", phones=[CUSTOMER], responsible_id=bob)
    call = feed(crm, clock, "c1", "ringing", direction="inbound", from_number=CUSTOMER).call
    assert (call.responsible_id, call.deal_id) == (bob, None)


def test_missed_call_makes_a_call_back_task_and_a_call_back_closes_it(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm, callback_minutes=20)
    missed = inbound(crm, clock, "m1", answer=False).call
    assert missed.result == "missed" and missed.callback_task_id is not None
    # the template's lead stage already asks to call the new lead back: that task is the call-back task
    [task] = tasks(crm)
    assert (task.id, task.rule, task.status) == (missed.callback_task_id, LEAD_CALLBACK, "open")
    assert task.title == f"Call back: Call from {CUSTOMER}" and callbacks(crm) == []
    assert task.assignee_id == missed.responsible_id and (task.entity_type, task.entity_id) == ("lead", missed.lead_id)
    assert task.due_at == missed.started_at + timedelta(hours=1)  # the stage's rule: within the hour
    # a second missed call from the same number does not pile up tasks
    clock.advance(minutes=1)
    again = inbound(crm, clock, "m2", answer=False).call
    assert again.callback_task_id == task.id and len(tasks(crm)) == 1
    # the manager calls back (outbound) and the customer answers: the task closes itself
    clock.advance(minutes=7)
    back = feed(crm, clock, "o1", "ringing", direction="outbound", from_number="101", to_number=CUSTOMER,
                extension="101").call
    assert crm.tasks.get(task.id).status == "open"
    clock.advance(seconds=15)
    feed(crm, clock, "o1", "answered")
    assert crm.tasks.get(task.id).status == "done"
    with crm.engine.connect() as conn:
        rows = conn.execute(calls.select().where(calls.c.call_id.in_(["m1", "m2"])).order_by(calls.c.id)).all()
    assert [r.callback_call_id for r in rows] == [back.id, back.id]
    assert [r.response_seconds for r in rows] == [500, 430]  # o1 rang at +500 s; m2 started at +70 s
    data = stats(crm)["missed_calls"]
    assert (data["missed"], data["called_back"], data["max_response_seconds"]) == (2, 2, 500)


def test_an_answered_incoming_call_from_that_number_also_closes_the_task(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm)
    inbound(crm, clock, "m1", answer=False)
    clock.advance(minutes=3)
    inbound(crm, clock, "c2", answer=True)
    assert [(t.rule, t.status) for t in tasks(crm)] == [(LEAD_CALLBACK, "done")]


def test_same_event_twice_changes_nothing(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm)
    ringing = event(clock, "c1", "ringing", direction="inbound", from_number=CUSTOMER)
    assert ingest(crm, ringing).changed
    clock.advance(seconds=40)
    ended = event(clock, "c1", "ended", result="missed")
    first = ingest(crm, ended)
    count = len(crm.timeline.all(limit=500).items)
    for again in (ringing, ended, ended):
        assert not ingest(crm, again).changed
    assert len(crm.timeline.all(limit=500).items) == count
    assert ingest(crm, ended).call == first.call
    assert crm.leads.count(source="call") == 1 and [t.status for t in tasks(crm)] == ["open"]


def test_ringing_after_ended_does_not_reopen(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm)
    start = clock.now()
    clock.advance(seconds=30)
    ended = feed(crm, clock, "c1", "ended", direction="inbound", from_number=CUSTOMER, result="busy").call
    assert (ended.status, ended.result) == ("ended", "busy")
    late = feed(crm, clock, "c1", "ringing", at=start, direction="inbound", from_number=CUSTOMER).call
    assert (late.status, late.result, late.ended_at) == ("ended", "busy", ended.ended_at)
    assert late.started_at == start  # the real start is still learned
    # a late answer is still a fact of the call (as if it had come in order), but a reported busy stands
    answered_late = feed(crm, clock, "c1", "answered", at=start + timedelta(seconds=5)).call
    assert (answered_late.status, answered_late.result) == ("ended", "busy")
    assert (answered_late.answered_at, answered_late.duration) == (start + timedelta(seconds=5), 25)


def test_late_recording_fills_the_gap_and_reaches_the_deal(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm)
    contact = crm.contacts.create(first_name="Sam", phones=[CUSTOMER])
    deal = crm.deals.create(title="Windows", contact_id=contact.id)
    inbound(crm, clock, "c1", answer=True)
    url = "https://recordings.example/c1.mp3"
    call = feed(crm, clock, "c1", "info", recording_url=url).call
    assert call.recording_url == url and call.status == "ended"
    assert not feed(crm, clock, "c1", "info", recording_url=url).changed
    assert "telephony.recording_added" in timeline_types(crm, "deal", deal.id)
    assert stats(crm)["recordings_per_deal"] == [{"deal_id": deal.id, "recordings": 1}]


def test_call_back_logged_before_the_missed_call_ended_leaves_no_task(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm)
    t0 = clock.now()
    feed(crm, clock, "m1", "ringing", at=t0, direction="inbound", from_number=CUSTOMER)
    feed(crm, clock, "o1", "answered", at=t0 + timedelta(minutes=2), direction="outbound", from_number="101",
         to_number=CUSTOMER, extension="101")
    missed = feed(crm, clock, "m1", "ended", at=t0 + timedelta(seconds=20)).call
    assert missed.result == "missed" and missed.callback_task_id is None and callbacks(crm) == []
    assert missed.response_seconds == 120  # o1 started 120 s after m1
    # the lead m1 made got the stage's "Call back" task; the answered call back o1 completed it
    assert [(t.rule, t.status, t.entity_id) for t in tasks(crm)] == [(LEAD_CALLBACK, "done", missed.lead_id)]
    assert stats(crm)["missed_calls"]["called_back"] == 1


def test_hidden_caller_gets_a_lead_but_no_task(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm)
    call = inbound(crm, clock, "c1", "anonymous", answer=False).call
    assert call.phone is None and crm.leads.get(call.lead_id).title == "Call from a hidden number"
    # no number to call back: no call-back task of telephony's; the lead keeps only its stage's task
    assert call.callback_task_id is None and callbacks(crm) == []
    assert [(t.rule, t.status, t.entity_id) for t in tasks(crm)] == [(LEAD_CALLBACK, "open", call.lead_id)]


class Listener:
    """A plugin implementing the telephony plugin's own hook (registered in-process)."""

    plugin_info = crmkit.PluginInfo(name="call_listener", version="0.1.0", requires=("telephony",))

    def __init__(self) -> None:
        self.finished: list[CallRecord] = []

    @hookimpl
    def telephony_call_finished(self, tx: Any, call: CallRecord) -> None:
        assert tx.conn is not None
        self.finished.append(call)


def test_call_finished_hook_is_called_once_per_call(db_url: str, clock: FrozenClock, tmp_path: Path) -> None:
    from telephony_helpers import settings

    listener = Listener()
    data = {**template(), "database": db_url, "plugins": ["telephony"], "settings": settings()}
    crm = Crm(Settings.from_dict(data, base_dir=tmp_path, environ={}), plugins=[listener], clock=clock)
    try:
        inbound(crm, clock, "c1", answer=True, talk=42)
        feed(crm, clock, "c1", "ended")
        assert [(c.call_id, c.result, c.duration) for c in listener.finished] == [("c1", "answered", 42)]
    finally:
        crm.close()


def test_naive_times_are_refused() -> None:
    from datetime import datetime

    with pytest.raises(crmkit.ValidationError, match="timezone-aware"):
        event(FrozenClock(), "c1", "ringing", at=datetime(2026, 1, 5, 9, 0))


def test_a_call_logged_before_routing_was_recorded_keeps_its_cards(make_crm: MakeCrm, clock: FrozenClock) -> None:
    """A database from before ``routed_by`` marked routing (a call nobody was responsible for left it
    empty): the call's next event with its numbers must not route it again (no second lead)."""
    crm = telephony_crm(make_crm, round_robin=False)
    lead = crm.leads.create(title="Call from a hidden number", source="call")
    with crm.engine.begin() as conn:
        conn.execute(calls.insert().values(
            provider="generic", call_id="old-1", direction="inbound", status="ringing", lead_id=lead.id,
            started_at=clock.now(), created_at=clock.now(), updated_at=clock.now()))
    clock.advance(seconds=20)
    call = feed(crm, clock, "old-1", "ended", direction="inbound", from_number="anonymous").call
    assert (call.lead_id, call.status, call.result) == (lead.id, "ended", "missed")
    assert crm.leads.count() == 1
