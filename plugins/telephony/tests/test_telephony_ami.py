"""Asterisk AMI over a real loopback TCP socket: documented event transcripts in the wire format,
a dropped connection (the client reconnects and continues), click-to-call as an Originate."""

from __future__ import annotations

import threading
from typing import Callable

from sqlalchemy import select
from telephony_ami_server import WAIT, FakeAsterisk, asterisk_crm
from telephony_helpers import CUSTOMER, MakeCrm, api_client, token_for, user

from crmkit import FrozenClock
from crmkit_telephony.ami import AmiClient
from crmkit_telephony.listener import client_for
from crmkit_telephony.schema import calls

T0 = 1767603600  # 2026-01-05 09:00:00 UTC, the FrozenClock's start


def channel(event: str, chan: str, uid: str, linked: str, at: int, **fields: str) -> dict[str, str]:
    return {"Event": event, "Privilege": "call,all", "Channel": chan, "ChannelState": "4", "ChannelStateDesc": "Ring",
            "CallerIDNum": CUSTOMER, "CallerIDName": "", "ConnectedLineNum": "", "ConnectedLineName": "",
            "Language": "en", "AccountCode": "", "Context": "from-trunk", "Exten": "+12025550100", "Priority": "1",
            "Uniqueid": uid, "Linkedid": linked, "Timestamp": f"{T0 + at}.000000", **fields}


def dial(event: str, linked: str, at: int, **fields: str) -> dict[str, str]:
    trunk = channel(event, "PJSIP/trunk-00000001", linked, linked, at)
    dest = {"DestChannel": "PJSIP/101-00000002", "DestChannelState": "5", "DestChannelStateDesc": "Ringing",
            "DestCallerIDNum": "101", "DestCallerIDName": "Anna", "DestConnectedLineNum": CUSTOMER,
            "DestConnectedLineName": "", "DestLanguage": "en", "DestAccountCode": "", "DestContext": "from-internal",
            "DestExten": "101", "DestPriority": "1", "DestUniqueid": f"{linked}1", "DestLinkedid": linked}
    return {**trunk, **dest, **fields}


def hangup(chan: str, uid: str, linked: str, at: int, cause: str, text: str) -> dict[str, str]:
    return channel("Hangup", chan, uid, linked, at, **{"Cause": cause, "Cause-txt": text})


ANSWERED = "1767603600.10"
MISSED = "1767603900.20"
FIRST_SESSION = [
    {"Event": "FullyBooted", "Privilege": "system,all", "Uptime": "2143", "LastReload": "2143", "Status": "Fully Booted"},
    channel("Newchannel", "PJSIP/trunk-00000001", ANSWERED, ANSWERED, 0, ChannelStateDesc="Down"),
    dial("DialBegin", ANSWERED, 2, DialString="101"),
]
SECOND_SESSION = [
    dial("DialEnd", ANSWERED, 9, DialStatus="ANSWER"),
    channel("VarSet", "PJSIP/101-00000002", f"{ANSWERED}1", ANSWERED, 9, Variable="MIXMONITOR_FILENAME",
            Value="/var/spool/asterisk/monitor/20260105-090009-101.wav"),
    hangup("PJSIP/101-00000002", f"{ANSWERED}1", ANSWERED, 129, "16", "Normal Clearing"),
    hangup("PJSIP/trunk-00000001", ANSWERED, ANSWERED, 129, "16", "Normal Clearing"),
    channel("Newchannel", "PJSIP/trunk-00000003", MISSED, MISSED, 300, ChannelStateDesc="Down"),
    dial("DialBegin", MISSED, 301, DialString="101"),
    dial("DialEnd", MISSED, 331, DialStatus="NOANSWER"),
    hangup("PJSIP/trunk-00000003", MISSED, MISSED, 332, "16", "Normal Clearing"),
]


def run_until(client: AmiClient, done: Callable[[dict[str, str]], bool]) -> threading.Event:
    """Run ``client`` in a thread; the returned event is set once a message satisfies ``done``."""
    seen, stop = threading.Event(), threading.Event()
    handle = client.on_message

    def wrapped(message: dict[str, str]) -> None:
        handle(message)
        if done(message):
            seen.set()

    client.on_message = wrapped
    thread = threading.Thread(target=client.run, args=(stop,), daemon=True)
    thread.start()
    assert seen.wait(WAIT), "the AMI transcript was not delivered in time"
    stop.set()
    thread.join(WAIT)
    assert not thread.is_alive()
    return seen


def test_ami_transcript_with_a_dropped_connection(make_crm: MakeCrm, clock: FrozenClock) -> None:
    server = FakeAsterisk([FIRST_SESSION, SECOND_SESSION])
    try:
        crm = asterisk_crm(make_crm, server)
        client = client_for(crm)
        run_until(client, lambda m: m.get("Event") == "Hangup" and m.get("Uniqueid") == MISSED)
        assert client.connections == 2 and server.logins == 2  # reconnected after the drop
    finally:
        server.close()
    with crm.engine.connect() as conn:
        answered, missed = conn.execute(select(calls).order_by(calls.c.id)).all()
    anna = user(crm, "anna@windows.example")
    assert (answered.call_id, answered.direction, answered.phone) == (ANSWERED, "inbound", CUSTOMER)
    assert (answered.result, answered.duration, answered.extension, answered.user_id) == ("answered", 120, "101", anna)
    assert answered.hangup_cause == "16 Normal Clearing"
    assert answered.recording_url == "https://pbx.windows.example/recordings/20260105-090009-101.wav"
    assert answered.started_at.timestamp() == T0 and answered.ended_at.timestamp() == T0 + 129
    assert (missed.result, missed.lead_id) == ("missed", answered.lead_id)  # same caller, same open lead
    task = crm.tasks.get(missed.callback_task_id)
    assert task.status == "open" and task.due_at.timestamp() == T0 + 332 + 15 * 60


def test_ami_login_refused_is_retried_with_backoff(make_crm: MakeCrm, clock: FrozenClock) -> None:
    server = FakeAsterisk([[], SECOND_SESSION[:4]], secret="s3cret")
    try:
        crm = asterisk_crm(make_crm, server)
        client = client_for(crm)
        client.secret = "wrong"
        seen, stop = threading.Event(), threading.Event()
        attempts: list[float] = []
        real_wait = stop.wait

        def counting_wait(timeout: float | None = None) -> bool:
            attempts.append(timeout or 0)
            client.secret = "s3cret"  # the operator fixes the password
            return real_wait(timeout)

        stop.wait = counting_wait  # type: ignore[method-assign]
        handle = client.on_message
        client.on_message = lambda m: (handle(m), seen.set() if m.get("Event") == "Hangup" else None)  # type: ignore[func-returns-value]
        thread = threading.Thread(target=client.run, args=(stop,), daemon=True)
        thread.start()
        assert seen.wait(WAIT)
        stop.set()
        thread.join(WAIT)
        assert attempts[:1] == [0.01] and server.logins == 1
    finally:
        server.close()


def test_click_to_call_through_asterisk_originate(make_crm: MakeCrm, clock: FrozenClock) -> None:
    server = FakeAsterisk([[]])
    try:
        crm = asterisk_crm(make_crm, server)
        client, admin = api_client(crm)
        contact = crm.contacts.create(first_name="Sam", phones=[CUSTOMER],
                                      responsible_id=user(crm, "anna@windows.example"))
        anna = token_for(crm, user(crm, "anna@windows.example"))
        stranger = crm.contacts.create(first_name="Other", phones=["+12025550199"])
        r = client.post("/api/v1/telephony/click-to-call", json={"contact_id": stranger.id}, headers=anna)
        missing = client.post("/api/v1/telephony/click-to-call", json={"contact_id": 999_999}, headers=anna)
        # record rules: Anna cannot call a contact she cannot see, told exactly as for one that does not exist
        assert (r.status_code, missing.status_code) == (404, 404)
        assert r.json()["error"] == {"code": "not_found", "message": f"contact {stranger.id} does not exist"}
        assert missing.json()["error"] == {"code": "not_found", "message": "contact 999999 does not exist"}
        r = client.post("/api/v1/telephony/click-to-call", json={"contact_id": contact.id}, headers=anna)
        assert r.status_code == 202, r.text
        call = r.json()["call"]
        assert (call["direction"], call["phone"], call["extension"], call["contact_id"]) == (
            "outbound", CUSTOMER, "101", contact.id)
        assert server.done.wait(WAIT)
        originate = next(a for a in server.actions if a["Action"] == "Originate")
        assert (originate["Channel"], originate["Exten"], originate["Async"]) == ("PJSIP/101", CUSTOMER, "true")
        assert originate["ChannelId"] == call["call_id"]  # its AMI events will find this call
        # Logoff is a courtesy the provider sends best-effort after the Originate (seen missing once
        # on a loaded machine); the Originate is the behaviour under test, and it comes first and once
        actions = [a["Action"] for a in server.actions]
        assert actions[0] == "Originate" and actions.count("Originate") == 1 and set(actions) <= {"Originate", "Logoff"}
        # admin has no extension of their own
        assert client.post("/api/v1/telephony/click-to-call", json={"to": CUSTOMER}, headers=admin).status_code == 422
    finally:
        server.close()
