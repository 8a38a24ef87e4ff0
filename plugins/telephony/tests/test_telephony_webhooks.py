"""The webhook routes through the real app: the generic signed JSON webhook and Twilio's voice
webhooks, bad signatures (403, nothing written), malformed bodies (400), replays; the
token-guarded routes; nothing mounted when the plugin is disabled."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select
from telephony_helpers import CUSTOMER, OFFICE, SECRET, TWILIO_TOKEN, MakeCrm, api_client, telephony_crm, timeline_types

from crmkit import Crm, FrozenClock
from crmkit_telephony.providers.generic import sign
from crmkit_telephony.providers.twilio import signature
from crmkit_telephony.schema import calls

GENERIC = "/api/v1/telephony/webhooks/generic"
TWILIO = "/api/v1/telephony/webhooks/twilio"
TWILIO_URL = "http://testserver" + TWILIO
ACCOUNT = "AC" + "0" * 32


def call_count(crm: Crm) -> int:
    with crm.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(calls)) or 0)


def post_generic(client: Any, clock: FrozenClock, payload: Any, *, secret: str = SECRET, age: int = 0,
                 raw: bytes | None = None) -> Any:
    body = raw if raw is not None else json.dumps(payload).encode()
    ts = int(clock.now().timestamp()) - age
    return client.post(GENERIC, content=body, headers={
        "Content-Type": "application/json", "X-Telephony-Timestamp": str(ts),
        "X-Telephony-Signature": sign(secret, ts, body)})


def generic_event(clock: FrozenClock, call_id: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"call_id": call_id, "event": kind, "occurred_at": clock.now().isoformat(), **extra}


def test_generic_webhook_unknown_caller_missed_then_called_back(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm)
    client, _ = api_client(crm)
    ring = generic_event(clock, "pbx-1", "ringing", direction="inbound", **{"from": "202 555 0144", "to": OFFICE})
    r = post_generic(client, clock, ring)
    assert (r.status_code, r.json()["changed"]) == (200, 1), r.text
    assert post_generic(client, clock, ring).json()["changed"] == 0  # delivered twice
    clock.advance(seconds=25)
    post_generic(client, clock, generic_event(clock, "pbx-1", "ended", result="missed"))
    [lead] = crm.leads.list(source="call").items
    [task] = crm.tasks.list().items  # the lead stage's "Call back" is the missed call's task: no second one
    assert lead.phone == CUSTOMER and task.status == "open" and (task.entity_type, task.entity_id) == ("lead", lead.id)
    clock.advance(minutes=4)
    out = generic_event(clock, "pbx-2", "answered", direction="outbound", extension="102",
                        **{"from": "102", "to": CUSTOMER})
    assert post_generic(client, clock, out).status_code == 200
    assert crm.tasks.get(task.id).status == "done"
    assert timeline_types(crm, "lead", lead.id).count("telephony.call_started") == 2


def test_generic_webhook_refuses_bad_signatures_and_replays(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm)
    client, _ = api_client(crm)
    ring = generic_event(clock, "pbx-1", "ringing", direction="inbound", **{"from": CUSTOMER})
    assert post_generic(client, clock, ring, secret="not-the-secret-at-all-0000").status_code == 403
    assert post_generic(client, clock, ring, age=301).status_code == 403  # an old request replayed
    assert post_generic(client, clock, ring, age=-301).status_code == 403
    body = json.dumps(ring).encode()
    ts = int(clock.now().timestamp())
    tampered = client.post(GENERIC, content=body.replace(b"pbx-1", b"pbx-9"), headers={
        "X-Telephony-Timestamp": str(ts), "X-Telephony-Signature": sign(SECRET, ts, body)})
    assert tampered.status_code == 403 and tampered.json()["error"]["code"] == "forbidden"
    assert client.post(GENERIC, content=body).status_code == 403  # unsigned
    assert call_count(crm) == 0 and crm.leads.count() == 0
    assert post_generic(client, clock, ring, age=299).status_code == 200


KAT_BODY = (b'{"call_id": "pbx-kat", "event": "ringing", "occurred_at": "2026-01-05T09:00:00Z", '
            b'"direction": "inbound", "from": "+12025550144"}')
KAT_TIMESTAMP = 1767603600  # 2026-01-05 09:00:00 UTC: the FrozenClock's now
KAT_SIGNATURE = "v1=19b9923c6cc351e92faceb003115ca662b3815269d2864718091696315f55728"
"""HMAC-SHA256 keyed with SECRET over ``"1767603600." + KAT_BODY``, as the README documents it."""


def documented_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The README's recipe, written out here so that the tests do not trust the implementation's ``sign``."""
    return "v1=" + hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def post_signed(client: Any, body: bytes, timestamp: int | str, signature_value: str) -> Any:
    return client.post(GENERIC, content=body, headers={
        "Content-Type": "application/json", "X-Telephony-Timestamp": str(timestamp),
        "X-Telephony-Signature": signature_value})


def test_generic_signature_known_answer_vector(make_crm: MakeCrm, clock: FrozenClock) -> None:
    assert int(clock.now().timestamp()) == KAT_TIMESTAMP
    assert documented_signature(SECRET, KAT_TIMESTAMP, KAT_BODY) == KAT_SIGNATURE
    assert sign(SECRET, KAT_TIMESTAMP, KAT_BODY) == KAT_SIGNATURE  # what click-to-call sends a PBX
    crm = telephony_crm(make_crm)
    client, _ = api_client(crm)
    r = post_signed(client, KAT_BODY, KAT_TIMESTAMP, KAT_SIGNATURE)
    assert (r.status_code, r.json()["received"]) == (200, 1), r.text
    with crm.engine.connect() as conn:
        assert conn.execute(select(calls.c.call_id, calls.c.phone)).all() == [("pbx-kat", CUSTOMER)]


def test_generic_signature_covers_the_timestamp(make_crm: MakeCrm, clock: FrozenClock) -> None:
    """A request captured an hour ago cannot be replayed with a fresh timestamp: the signature is
    over the timestamp too, so the old signature does not match the new one."""
    crm = telephony_crm(make_crm)
    client, _ = api_client(crm)
    now = int(clock.now().timestamp())
    old = now - 3600
    captured = documented_signature(SECRET, old, KAT_BODY)
    assert post_signed(client, KAT_BODY, old, captured).status_code == 403  # as captured: stale
    replayed = post_signed(client, KAT_BODY, now, captured)  # the timestamp header made fresh
    assert replayed.status_code == 403 and replayed.json()["error"]["code"] == "forbidden", replayed.text
    body_only = "v1=" + hmac.new(SECRET.encode(), KAT_BODY, hashlib.sha256).hexdigest()
    assert post_signed(client, KAT_BODY, now, body_only).status_code == 403  # a signature without the timestamp
    assert call_count(crm) == 0 and crm.leads.count() == 0
    assert post_signed(client, KAT_BODY, now, documented_signature(SECRET, now, KAT_BODY)).status_code == 200


@pytest.mark.parametrize("payload", [
    b"{not json", b"[1, 2]", json.dumps({"event": "ringing", "occurred_at": "2026-01-05T09:00:00Z"}).encode(),
    json.dumps({"call_id": "x", "event": "dialing", "occurred_at": "2026-01-05T09:00:00Z"}).encode(),
    json.dumps({"call_id": "x", "event": "ringing", "occurred_at": "2026-01-05T09:00:00"}).encode(),
    json.dumps({"call_id": "x", "event": "ended", "occurred_at": "2026-01-05T09:00:00Z", "result": "great"}).encode(),
    json.dumps({"call_id": "x", "event": "ended", "occurred_at": "2026-01-05T09:00:00Z", "duration": -1}).encode(),
    json.dumps({"call_id": "x", "event": "ringing", "occurred_at": "2026-01-05T09:00:00Z", "colour": 1}).encode(),
])
def test_generic_webhook_malformed_body_is_400(make_crm: MakeCrm, clock: FrozenClock, payload: bytes) -> None:
    crm = telephony_crm(make_crm)
    client, _ = api_client(crm)
    r = post_generic(client, clock, None, raw=payload)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request", r.text
    assert call_count(crm) == 0


def test_twilio_signature_matches_the_documented_example() -> None:
    params = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"), ("Digits", "1234"),
              ("From", "+12349013030"), ("To", "+18005551212")]
    assert signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def post_twilio(client: Any, params: dict[str, str], *, token: str = TWILIO_TOKEN, url: str = TWILIO_URL) -> Any:
    body = urlencode(params)
    return client.post(TWILIO, content=body, headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature(token, url, sorted(params.items()))})


def twilio_params(sid: str, status: str, **extra: str) -> dict[str, str]:
    return {"AccountSid": ACCOUNT, "ApiVersion": "2010-04-01", "CallSid": sid, "CallStatus": status,
            "Direction": "inbound", "From": CUSTOMER, "To": OFFICE, "Caller": CUSTOMER, "Called": OFFICE, **extra}


def test_twilio_known_caller_answered_with_recording(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm)
    client, _ = api_client(crm)
    contact = crm.contacts.create(first_name="Sam", phones=[CUSTOMER])
    deal = crm.deals.create(title="Windows", contact_id=contact.id)
    sid = "CA" + "a" * 32
    assert post_twilio(client, twilio_params(sid, "ringing")).status_code == 200
    assert post_twilio(client, twilio_params(sid, "in-progress")).json()["changed"] == 0  # Twilio runs TwiML
    leg = {"AccountSid": ACCOUNT, "CallSid": "CA" + "b" * 32, "ParentCallSid": sid, "CallStatus": "in-progress",
           "Direction": "outbound-dial", "From": CUSTOMER, "To": "client:101"}
    clock.advance(seconds=5)
    assert post_twilio(client, leg).status_code == 200
    clock.advance(seconds=80)
    done = twilio_params(sid, "completed", CallDuration="85", Timestamp="Mon, 05 Jan 2026 09:01:25 +0000",
                         CallbackSource="call-progress-events", SequenceNumber="3")
    assert post_twilio(client, done).status_code == 200
    assert post_twilio(client, done).json()["changed"] == 0
    rec = {"AccountSid": ACCOUNT, "CallSid": sid, "RecordingSid": "RE" + "c" * 32, "RecordingStatus": "completed",
           "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/RE{'c' * 32}",
           "RecordingDuration": "80", "RecordingChannels": "1", "RecordingSource": "DialVerb"}
    assert post_twilio(client, rec).status_code == 200
    with crm.engine.connect() as conn:
        row = conn.execute(select(calls)).one()
    assert (row.contact_id, row.deal_id, row.result, row.duration) == (contact.id, deal.id, "answered", 85)
    assert row.extension == "101" and row.user_id == crm.users.by_email("anna@windows.example").id
    assert row.recording_url == rec["RecordingUrl"] and row.ended_at.isoformat() == "2026-01-05T09:01:25+00:00"
    assert timeline_types(crm, "deal", deal.id) == [
        "telephony.call_started", "telephony.call_finished", "telephony.recording_added"]


def test_twilio_no_answer_is_a_missed_call_with_a_task(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm)
    client, _ = api_client(crm)
    sid = "CA" + "d" * 32
    post_twilio(client, twilio_params(sid, "ringing"))
    r = post_twilio(client, twilio_params(sid, "completed", DialCallStatus="no-answer", CallDuration="20"))
    assert r.status_code == 200
    [task] = crm.tasks.list().items
    [lead] = crm.leads.list(source="call").items
    assert task.status == "open" and (task.entity_type, task.entity_id) == ("lead", lead.id)


def test_twilio_bad_signature_is_403_and_writes_nothing(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm)
    client, _ = api_client(crm)
    params = twilio_params("CA" + "e" * 32, "ringing")
    assert post_twilio(client, params, token="wrong-token").status_code == 403
    assert post_twilio(client, params, url="https://elsewhere.example" + TWILIO).status_code == 403
    signed = signature(TWILIO_TOKEN, TWILIO_URL, sorted(params.items()))
    forged = client.post(TWILIO, content=urlencode({**params, "From": "+12025550199"}), headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signed})
    assert forged.status_code == 403
    assert client.post(TWILIO, content=urlencode(params),
                       headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 403
    assert call_count(crm) == 0 and crm.leads.count() == 0


def test_twilio_malformed_but_signed_is_400(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm)
    client, _ = api_client(crm)
    assert post_twilio(client, {"AccountSid": ACCOUNT, "CallStatus": "ringing"}).status_code == 400  # no CallSid
    assert post_twilio(client, twilio_params("CA1", "exploded")).status_code == 400
    raw = client.post(TWILIO, content=b"%%%=&&", headers={"X-Twilio-Signature": signature(TWILIO_TOKEN, TWILIO_URL, [])})
    assert raw.status_code == 400
    assert call_count(crm) == 0


def test_twilio_signature_over_the_configured_public_url(make_crm: MakeCrm, clock: FrozenClock) -> None:
    public = "https://crm.windows.example/api/v1/telephony/webhooks/twilio"
    crm = telephony_crm(make_crm, twilio={"auth_token": TWILIO_TOKEN, "webhook_url": public})
    client, _ = api_client(crm)
    params = twilio_params("CA" + "f" * 32, "ringing")
    assert post_twilio(client, params).status_code == 403  # signed for the internal URL
    assert post_twilio(client, params, url=public).status_code == 200
    assert post_twilio(client, params, url="https://crm.windows.example:443/api/v1/telephony/webhooks/twilio"
                       ).status_code == 200  # Twilio may sign with the port


def test_routes_need_a_token_except_webhooks_and_are_absent_when_disabled(make_crm: MakeCrm) -> None:
    crm = telephony_crm(make_crm)
    client, admin = api_client(crm)
    assert client.get("/api/v1/telephony/calls").status_code == 401
    assert client.get("/api/v1/telephony/stats").status_code == 401
    assert client.get("/api/v1/telephony/calls", headers=admin).status_code == 200
    assert client.post("/api/v1/telephony/webhooks/nosuch", content=b"{}").status_code == 404
    plain = make_crm(database=crm.settings.database)
    bare, plain_admin = api_client(plain)
    for method, path in (("GET", "/api/v1/telephony/calls"), ("GET", "/api/v1/telephony/stats"),
                         ("POST", "/api/v1/telephony/webhooks/generic")):
        assert bare.request(method, path, headers=plain_admin).status_code == 404
