"""A caller's calls in their personal-data export, and erased with them (crm_personal_data_* hooks)."""

from __future__ import annotations

import json

from telephony_helpers import CUSTOMER, OFFICE, MakeCrm, feed, inbound, telephony_crm

from crmkit import FrozenClock
from crmkit import PrivacyService
from crmkit_telephony.calls import list_calls

RECORDING = "https://recordings.example/c2.mp3"


def test_calls_are_exported_and_erased_as_facts_without_the_caller(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm)
    contact = crm.contacts.create(first_name="Cora", last_name="Callahan", phones=["(202) 555-0144"])
    other = crm.contacts.create(first_name="Otto", last_name="Other", phones=["202-555-0199"])
    missed = inbound(crm, clock, "c1", answer=False).call
    feed(crm, clock, "c2", "ringing", direction="outbound", from_number="101", to_number="+1 202 555 0144",
         extension="101")
    clock.advance(seconds=30)
    feed(crm, clock, "c2", "answered", extension="101")
    clock.advance(seconds=45)
    outbound = feed(crm, clock, "c2", "ended", recording_url=RECORDING, hangup_cause="Cora Callahan hung up").call
    theirs = inbound(crm, clock, "c3", "+12025550199", answer=True).call
    assert {missed.contact_id, outbound.contact_id, theirs.contact_id} == {contact.id, other.id}

    exported = PrivacyService(crm, None).export_contact(contact.id)["plugins"]["telephony"]["calls"]
    assert [c["call_id"] for c in exported] == ["c1", "c2"]
    assert exported[1]["recording_url"] == RECORDING and exported[1]["to_number"] == "+1 202 555 0144"

    erasure = PrivacyService(crm, None).erase_contact(contact.id)
    assert erasure.rows["telephony_calls"] == 2
    calls = {c.call_id: c for c in list_calls(crm.system, limit=10)}
    c1, c2 = calls["c1"], calls["c2"]
    assert (c1.phone, c1.from_number, c1.to_number, c1.result) == (None, "[erased]", OFFICE, "missed")
    assert (c2.phone, c2.from_number, c2.to_number, c2.recording_url) == (None, "101", "[erased]", None)
    assert (c2.hangup_cause, c2.duration, c2.result, c2.contact_id) == ("[erased] hung up", 45, "answered", contact.id)
    assert calls["c3"].phone == "+12025550199"  # another caller's call is theirs
    timeline = json.dumps([e.to_dict() for e in crm.timeline.of("contact", contact.id, limit=500)])
    assert RECORDING not in timeline and CUSTOMER not in timeline and "telephony.call_finished" in timeline
    assert crm.tasks.list(rule=f"telephony.callback:{CUSTOMER}").items == []
    assert crm.tasks.list(rule="telephony.callback:[erased]").items  # the call-back task stays, without the number
