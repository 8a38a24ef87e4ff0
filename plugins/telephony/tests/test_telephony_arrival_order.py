"""Property: providers deliver a call's events late, twice and out of order; the call ends in the same
state as when they come in order -- status, result, times, duration, extension, user, recording, its
cards (contact, deal, lead), its call-back task and the other tasks on those cards, its timelines.

For each provider (the generic webhook and Twilio over HTTP, Asterisk as AMI messages through the
listener's handler) and each documented sequence (answered, missed, busy, no answer / voicemail,
outbound; from a known caller with a contact and an open deal, or from an unknown one who becomes a
lead), hypothesis draws an arrival order with duplicates and compares the final state with the one
in-order delivery gives. Each run uses its own number, call id and cards on one deployment (made
from the template, so a new lead gets its stage's "Call back" task); every time is the provider's
(the clock stands still), so the runs are comparable.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Callable
from urllib.parse import urlencode

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from telephony_helpers import OFFICE, SECRET, TWILIO_TOKEN, TWILIO_URL, MakeCrm, telephony_crm

from crmkit import Crm, FrozenClock
from crmkit_telephony.listener import client_for
from crmkit_telephony.providers.twilio import signature
from crmkit_telephony.schema import calls

T0 = 1767603600  # 2026-01-05 09:00:00 UTC, the FrozenClock's time
ACCOUNT = "AC" + "0" * 32
RECORDING = "https://recordings.example/r1.mp3"
Spec = list[dict[str, Any]]

# -- the documented sequences, per provider ({P}: the run's customer number, {ID}: the run's call id) ---


def at(seconds: int) -> str:
    return f"2026-01-05T09:{seconds // 60:02d}:{seconds % 60:02d}Z"


IN = {"direction": "inbound", "from": "{P}", "to": OFFICE}
OUT = {"direction": "outbound", "from": "101", "to": "{P}", "extension": "101"}
GENERIC: dict[str, Spec] = {
    "answered": [{"event": "ringing", "occurred_at": at(0), **IN, "extension": "101"},
                 {"event": "answered", "occurred_at": at(8), "extension": "101"},
                 {"event": "ended", "occurred_at": at(98)},
                 {"event": "recording", "occurred_at": at(99), "recording_url": RECORDING}],
    "answered, result and duration reported": [
        {"event": "ringing", "occurred_at": at(0), **IN},
        {"event": "answered", "occurred_at": at(8), "extension": "102"},
        {"event": "ended", "occurred_at": at(98), "result": "answered", "duration": 88}],
    "answered by another extension": [{"event": "ringing", "occurred_at": at(0), **IN, "extension": "101"},
                                      {"event": "answered", "occurred_at": at(5), "extension": "102"},
                                      {"event": "ended", "occurred_at": at(50), "extension": "102"}],
    "missed": [{"event": "ringing", "occurred_at": at(0), **IN, "extension": "101"},
               {"event": "ended", "occurred_at": at(25), "result": "missed", "hangup_cause": "caller hung up"}],
    "missed, result not reported": [{"event": "ringing", "occurred_at": at(0), **IN},
                                    {"event": "ended", "occurred_at": at(25)}],
    "busy": [{"event": "ringing", "occurred_at": at(0), **IN},
             {"event": "ended", "occurred_at": at(3), "result": "busy", "hangup_cause": "17 User busy"}],
    "voicemail": [{"event": "ringing", "occurred_at": at(0), **IN},
                  {"event": "ended", "occurred_at": at(60), "result": "voicemail", "duration": 30},
                  {"event": "recording", "occurred_at": at(61), "recording_url": RECORDING}],
    "outbound answered": [{"event": "ringing", "occurred_at": at(0), **OUT},
                          {"event": "answered", "occurred_at": at(12)},
                          {"event": "ended", "occurred_at": at(132), "duration": 120}],
    "outbound not answered": [{"event": "ringing", "occurred_at": at(0), **OUT},
                              {"event": "ended", "occurred_at": at(30), "result": "missed"}],
}


def stamp(seconds: int) -> str:
    return f"Mon, 05 Jan 2026 09:{seconds // 60:02d}:{seconds % 60:02d} +0000"


PARENT = {"AccountSid": ACCOUNT, "ApiVersion": "2010-04-01", "CallSid": "{ID}", "Direction": "inbound",
          "From": "{P}", "To": OFFICE, "Caller": "{P}", "Called": OFFICE}
LEG = {"AccountSid": ACCOUNT, "CallSid": "{ID}-leg", "ParentCallSid": "{ID}", "Direction": "outbound-dial",
       "From": "{P}", "To": "client:101"}
API = {**PARENT, "Direction": "outbound-api", "From": OFFICE, "To": "{P}", "Caller": OFFICE, "Called": "{P}"}
RECORDED = {"AccountSid": ACCOUNT, "CallSid": "{ID}", "RecordingSid": "RE" + "c" * 32, "RecordingStatus": "completed",
            "RecordingUrl": RECORDING, "RecordingDuration": "80"}
TWILIO: dict[str, Spec] = {
    "answered": [{**PARENT, "CallStatus": "ringing"},  # the voice webhook: no Timestamp (the clock's time)
                 {**PARENT, "CallStatus": "in-progress", "Timestamp": stamp(1)},  # Twilio runs the TwiML
                 {**LEG, "CallStatus": "in-progress", "Timestamp": stamp(8)},  # the agent answers
                 {**LEG, "CallStatus": "completed", "Timestamp": stamp(98), "CallDuration": "90"},
                 {**PARENT, "CallStatus": "completed", "Timestamp": stamp(98), "CallDuration": "98"},
                 RECORDED],
    "answered, dial status reported": [
        {**PARENT, "CallStatus": "ringing"},
        {**LEG, "CallStatus": "in-progress", "Timestamp": stamp(8)},
        {**PARENT, "CallStatus": "completed", "Timestamp": stamp(98), "CallDuration": "98",
         "DialCallStatus": "completed"}],
    "no answer": [{**PARENT, "CallStatus": "ringing"},
                  {**PARENT, "CallStatus": "in-progress", "Timestamp": stamp(1)},
                  {**PARENT, "CallStatus": "completed", "Timestamp": stamp(20), "CallDuration": "20",
                   "DialCallStatus": "no-answer"}],
    "busy": [{**PARENT, "CallStatus": "ringing"},
             {**PARENT, "CallStatus": "completed", "Timestamp": stamp(4), "CallDuration": "4",
              "DialCallStatus": "busy"}],
    "voicemail": [{**PARENT, "CallStatus": "ringing"},
                  {**PARENT, "CallStatus": "in-progress", "Timestamp": stamp(1)},
                  {**PARENT, "CallStatus": "completed", "Timestamp": stamp(45), "CallDuration": "45",
                   "DialCallStatus": "no-answer", "RecordingUrl": RECORDING},
                  RECORDED],
    "outbound answered": [{**API, "CallStatus": "initiated", "Timestamp": stamp(0)},
                          {**API, "CallStatus": "ringing", "Timestamp": stamp(1)},
                          {**API, "CallStatus": "in-progress", "Timestamp": stamp(6)},
                          {**API, "CallStatus": "completed", "Timestamp": stamp(66), "CallDuration": "60"}],
    "outbound not answered": [{**API, "CallStatus": "initiated", "Timestamp": stamp(0)},
                              {**API, "CallStatus": "ringing", "Timestamp": stamp(1)},
                              {**API, "CallStatus": "no-answer", "Timestamp": stamp(30)}],
}


def ami(event: str, seconds: int, uid: str = "{ID}", **fields: str) -> dict[str, Any]:
    return {"Event": event, "Privilege": "call,all", "Channel": "PJSIP/trunk-00000001", "Uniqueid": uid,
            "Linkedid": "{ID}", "CallerIDNum": "{P}", "Exten": OFFICE, "Timestamp": f"{T0 + seconds}.000000",
            **fields}


def to_agent(event: str, seconds: int, **fields: str) -> dict[str, Any]:
    return ami(event, seconds, **{"DestChannel": "PJSIP/101-00000002", "DestCallerIDNum": "101", **fields})


def to_trunk(event: str, seconds: int, **fields: str) -> dict[str, Any]:
    return ami(event, seconds, Channel="PJSIP/101-00000003", CallerIDNum="101", Exten="{P}",
               DestChannel="PJSIP/trunk-00000004", DestCallerIDNum="{P}", **fields)


def hangup(seconds: int, cause: str, text: str, **fields: str) -> dict[str, Any]:
    return ami("Hangup", seconds, **{"Cause": cause, "Cause-txt": text, **fields})


SECOND = {"DestChannel": "PJSIP/102-00000005", "DestCallerIDNum": "102"}  # Dial(PJSIP/101&PJSIP/102)
OUT_CHANNEL = {"Channel": "PJSIP/101-00000003", "CallerIDNum": "101", "Exten": "{P}"}
ASTERISK: dict[str, Spec] = {
    "answered": [ami("Newchannel", 0), to_agent("DialBegin", 2),
                 ami("Newchannel", 2, uid="{ID}.1", Channel="PJSIP/101-00000002"),
                 to_agent("DialEnd", 9, DialStatus="ANSWER"),
                 ami("VarSet", 9, uid="{ID}.1", Variable="MIXMONITOR_FILENAME",
                     Value="/var/spool/asterisk/monitor/r1.mp3"),
                 hangup(129, "16", "Normal Clearing", uid="{ID}.1"), hangup(129, "16", "Normal Clearing")],
    "missed": [ami("Newchannel", 0), to_agent("DialBegin", 1), to_agent("DialEnd", 31, DialStatus="NOANSWER"),
               hangup(32, "16", "Normal Clearing")],
    "caller gave up": [ami("Newchannel", 0), to_agent("DialBegin", 1), to_agent("DialEnd", 10, DialStatus="CANCEL"),
                       hangup(10, "16", "Normal Clearing")],
    "busy": [ami("Newchannel", 0), to_agent("DialBegin", 1), to_agent("DialEnd", 3, DialStatus="BUSY"),
             hangup(4, "17", "User busy")],
    "agent unavailable": [ami("Newchannel", 0), to_agent("DialBegin", 1),
                          to_agent("DialEnd", 1, DialStatus="CHANUNAVAIL"), hangup(2, "16", "Normal Clearing")],
    "ring group answered": [ami("Newchannel", 0), to_agent("DialBegin", 1), to_agent("DialBegin", 1, **SECOND),
                            to_agent("DialEnd", 6, DialStatus="ANSWER", **SECOND),
                            to_agent("DialEnd", 6, DialStatus="CANCEL"), hangup(66, "16", "Normal Clearing")],
    "ring group, one busy": [ami("Newchannel", 0), to_agent("DialBegin", 1), to_agent("DialBegin", 1, **SECOND),
                             to_agent("DialEnd", 1, DialStatus="BUSY"),
                             to_agent("DialEnd", 6, DialStatus="ANSWER", **SECOND), hangup(66, "16", "Normal Clearing")],
    "outbound answered": [ami("Newchannel", 0, **OUT_CHANNEL), to_trunk("DialBegin", 1),
                          to_trunk("DialEnd", 7, DialStatus="ANSWER"),
                          hangup(67, "16", "Normal Clearing", **OUT_CHANNEL)],
    "outbound busy": [ami("Newchannel", 0, **OUT_CHANNEL), to_trunk("DialBegin", 1),
                      to_trunk("DialEnd", 5, DialStatus="BUSY"), hangup(6, "17", "User busy", **OUT_CHANNEL)],
}


def fill(value: Any, phone: str, call_id: str) -> Any:
    if isinstance(value, dict):
        return {k: fill(v, phone, call_id) for k, v in value.items()}
    return value.replace("{P}", phone).replace("{ID}", call_id) if isinstance(value, str) else value


# -- one deployment per test run; each delivery run gets its own number, call id and cards -----------

_NUMBERS = itertools.count(1)


class Deployment:
    """The template's deployment with telephony; one telephony user (Anna, extensions 101 and 102), so
    round-robin always gives unknown callers to her and runs stay comparable."""

    def __init__(self, make_crm: MakeCrm) -> None:
        from starlette.testclient import TestClient

        from crmkit.web import create_app

        self.crm = telephony_crm(make_crm, extensions={"101": "anna@windows.example", "102": "anna@windows.example"},
                                 asterisk={"recording_url_base": "https://pbx.example/rec"})
        self.client = TestClient(create_app(self.crm))
        self.expected: dict[tuple[str, str, bool], dict[str, Any]] = {}

    def deliver_generic(self, clock: FrozenClock, body: dict[str, Any]) -> None:
        from crmkit_telephony.providers.generic import sign

        raw = json.dumps(body).encode()
        ts = int(clock.now().timestamp())
        r = self.client.post("/api/v1/telephony/webhooks/generic", content=raw, headers={
            "Content-Type": "application/json", "X-Telephony-Timestamp": str(ts),
            "X-Telephony-Signature": sign(SECRET, ts, raw)})
        assert r.status_code == 200, r.text

    def deliver_twilio(self, params: dict[str, Any]) -> None:
        r = self.client.post("/api/v1/telephony/webhooks/twilio", content=urlencode(params), headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature(TWILIO_TOKEN, TWILIO_URL, sorted(params.items()))})
        assert r.status_code == 200, r.text


_CACHE: list[tuple[MakeCrm, Deployment]] = []


def deployment(make_crm: MakeCrm) -> Deployment:
    """One deployment per test run (hypothesis reuses the function-scoped fixtures)."""
    if not _CACHE or _CACHE[0][0] is not make_crm:
        _CACHE[:] = [(make_crm, Deployment(make_crm))]
    return _CACHE[0][1]


def run(d: Deployment, clock: FrozenClock, provider: str, name: str, known: bool, order: list[int]) -> dict[str, Any]:
    """Deliver the sequence ``name`` in ``order`` (indexes, repeats allowed) for a new number; the call's state."""
    n = next(_NUMBERS)
    phone, call_id = f"+1{202 + n // 10_000}556{n % 10_000:04d}", f"{provider[:3]}-{n}"  # a number of its own
    crm = d.crm
    cards: dict[str, int] = {}
    if known:
        contact = crm.contacts.create(first_name="Sam", last_name=f"Caller {n}", phones=[phone])
        cards = {"contact": contact.id, "deal": crm.deals.create(title=f"Windows {n}", contact_id=contact.id).id}
    spec = {"generic": GENERIC, "twilio": TWILIO, "asterisk": ASTERISK}[provider][name]
    messages = [fill(m, phone, call_id) for m in spec]
    deliver: Callable[[dict[str, Any]], None]
    if provider == "generic":
        deliver = lambda m: d.deliver_generic(clock, {"call_id": call_id, **m})  # noqa: E731
    elif provider == "twilio":
        deliver = d.deliver_twilio
    else:
        deliver = client_for(crm).on_message  # the listener's handler: a fresh tracker, then ingestion
    for i in order:
        deliver(messages[i])
    return state(crm, provider, call_id, phone, cards)


def state(crm: Crm, provider: str, call_id: str, phone: str, cards: dict[str, int]) -> dict[str, Any]:
    """What must not depend on the arrival order, with the run's own number and cards named, not numbered."""
    with crm.engine.connect() as conn:
        row = conn.execute(select(calls).where(calls.c.provider == provider, calls.c.call_id == call_id)).one()
    if row.lead_id is not None:
        cards["lead"] = row.lead_id
    names = {(kind, ident): kind for kind, ident in cards.items()}

    def text(value: Any) -> Any:
        return value.replace(phone, "<P>") if isinstance(value, str) else value

    def task(ident: int) -> dict[str, Any]:
        t = crm.tasks.get(ident)
        return {"title": text(t.title), "rule": text(t.rule), "status": t.status, "assignee": t.assignee_id,
                "due_at": t.due_at, "on": names.get((t.entity_type, t.entity_id), t.entity_type)}

    tasks = [t for kind, ident in cards.items() for t in crm.tasks.list(entity_type=kind, entity_id=ident).items]
    tasks += crm.tasks.list(rule=f"telephony.callback:{phone}").items
    lead = crm.leads.get(row.lead_id) if row.lead_id is not None else None
    return {
        "call": {k: text(getattr(row, k)) for k in (
            "direction", "status", "result", "phone", "from_number", "to_number", "extension", "user_id",
            "responsible_id", "started_at", "answered_at", "ended_at", "duration", "recording_url", "hangup_cause",
            "response_seconds", "callback_call_id")},
        "links": {k: names.get((k.removesuffix("_id"), getattr(row, k)), getattr(row, k))
                  for k in ("contact_id", "deal_id", "lead_id")},
        "lead": None if lead is None else (text(lead.title), lead.source, lead.status, lead.responsible_id),
        "callback_task": None if row.callback_task_id is None else task(row.callback_task_id),
        # a call first taken for missed and then found answered leaves its own task cancelled: not a task to do
        "tasks": sorted((task(t.id) for t in {t.id: t for t in tasks}.values() if t.status != "cancelled"),
                        key=repr),
        "timelines": {kind: sorted(e.type for e in crm.timeline.of(kind, ident, limit=500)
                                   if e.type.startswith("telephony.")) for kind, ident in cards.items()},
    }


@st.composite
def arrivals(draw: st.DrawFn, specs: dict[str, Spec]) -> tuple[str, bool, list[int]]:
    """A sequence, a known or unknown caller, and an arrival order: a permutation with up to 3 repeats."""
    name = draw(st.sampled_from(sorted(specs)))
    size = len(specs[name])
    order = list(draw(st.permutations(range(size))))
    for _ in range(draw(st.integers(0, 3))):
        order.insert(draw(st.integers(0, len(order))), draw(st.integers(0, size - 1)))
    return name, draw(st.booleans()), order


def check(make_crm: MakeCrm, clock: FrozenClock, provider: str, drawn: tuple[str, bool, list[int]]) -> None:
    name, known, order = drawn
    d = deployment(make_crm)
    size = len({"generic": GENERIC, "twilio": TWILIO, "asterisk": ASTERISK}[provider][name])
    key = (provider, name, known)
    if key not in d.expected:
        d.expected[key] = run(d, clock, provider, name, known, list(range(size)))
    got, want = run(d, clock, provider, name, known, order), d.expected[key]
    differs = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
    assert not differs, f"{name!r} (known caller: {known}) in order {order}: (this order, in order): {differs}"


EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@EXAMPLES
@given(drawn=arrivals(GENERIC))
@example(drawn=("answered", False, [2, 1, 0, 3]))  # ended, then the answer, then who called
@example(drawn=("answered", True, [0, 2, 1, 1, 3]))  # ended (missed, for now), the late answer twice
@example(drawn=("missed", False, [1, 0, 1]))
def test_generic_webhook_order_does_not_change_the_call(make_crm: MakeCrm, clock: FrozenClock,
                                                        drawn: tuple[str, bool, list[int]]) -> None:
    check(make_crm, clock, "generic", drawn)


@EXAMPLES
@given(drawn=arrivals(TWILIO))
@example(drawn=("answered", True, [4, 3, 2, 1, 0, 5]))  # completed before in-progress
@example(drawn=("answered", False, [5, 4, 0, 2, 1, 3]))  # the recording and completed first
@example(drawn=("voicemail", False, [3, 2, 1, 0]))
def test_twilio_callback_order_does_not_change_the_call(make_crm: MakeCrm, clock: FrozenClock,
                                                        drawn: tuple[str, bool, list[int]]) -> None:
    check(make_crm, clock, "twilio", drawn)


@EXAMPLES
@given(drawn=arrivals(ASTERISK))
@example(drawn=("answered", False, [6, 0, 1, 2, 3, 4, 5]))  # the Hangup first
@example(drawn=("agent unavailable", True, [3, 2, 1, 0]))  # the Hangup (cause 16) before the DialEnd that says why
@example(drawn=("outbound answered", False, [2, 3, 1, 0]))  # the answer before the caller's channel
@example(drawn=("ring group, one busy", False, [5, 3, 4, 0, 1, 2]))  # busy and answered both after the Hangup
def test_asterisk_ami_order_does_not_change_the_call(make_crm: MakeCrm, clock: FrozenClock,
                                                     drawn: tuple[str, bool, list[int]]) -> None:
    check(make_crm, clock, "asterisk", drawn)
