"""The webhook signature checks at their edges (each found by mutation testing: scripts/mutation.py
signature_generic / signature_twilio): the generic secret's minimum length, the timestamp header's
length and the default replay window, Twilio's URL with and without its default port, the most form
fields a Twilio body may have."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from telephony_helpers import CUSTOMER, OFFICE, TWILIO_TOKEN, MakeCrm, api_client, telephony_crm

from crmkit import FrozenClock
from crmkit_telephony.providers.generic import sign
from crmkit_telephony.providers.twilio import signature

GENERIC = "/api/v1/telephony/webhooks/generic"
TWILIO = "/api/v1/telephony/webhooks/twilio"
ACCOUNT = "AC" + "0" * 32


def generic(client: Any, clock: FrozenClock, secret: str, *, ts: int | None = None, call_id: str = "pbx-1") -> Any:
    body = json.dumps({"call_id": call_id, "event": "ringing", "occurred_at": clock.now().isoformat(),
                       "direction": "inbound", "from": CUSTOMER, "to": OFFICE}).encode()
    stamp = int(clock.now().timestamp()) if ts is None else ts
    return client.post(GENERIC, content=body, headers={
        "Content-Type": "application/json", "X-Telephony-Timestamp": str(stamp),
        "X-Telephony-Signature": sign(secret, stamp, body)})


def test_the_generic_secret_has_at_least_16_characters(make_crm: MakeCrm, clock: FrozenClock) -> None:
    for secret, status in (("s" * 15, 403), ("s" * 16, 200)):
        crm = telephony_crm(make_crm, generic={"secret": secret})
        client, _ = api_client(crm)
        r = generic(client, clock, secret)
        assert r.status_code == status, (secret, r.text)
        if status == 403:
            assert "no secret configured" in r.json()["error"]["message"]
    unset = telephony_crm(make_crm, generic={})
    r = generic(api_client(unset)[0], clock, "s" * 16)
    assert r.status_code == 403 and "no secret configured" in r.json()["error"]["message"]


def test_the_timestamp_header_and_the_default_replay_window(make_crm: MakeCrm, clock: FrozenClock) -> None:
    secret = "s" * 20
    crm = telephony_crm(make_crm, generic={"secret": secret})  # max_age_seconds not set: 300
    client, _ = api_client(crm)
    now = int(clock.now().timestamp())
    far = generic(client, clock, secret, ts=10**11)  # 12 digits: a timestamp, just not a recent one
    assert far.status_code == 403 and "replay refused" in far.json()["error"]["message"]
    long = generic(client, clock, secret, ts=10**12)  # 13 digits: not a timestamp header at all
    assert long.status_code == 403 and "bad x-telephony-timestamp" in long.json()["error"]["message"].lower()
    assert generic(client, clock, secret, ts=now - 300, call_id="pbx-300").status_code == 200
    old = generic(client, clock, secret, ts=now - 301, call_id="pbx-301")
    assert old.status_code == 403 and "more than 300 s" in old.json()["error"]["message"]
    assert generic(client, clock, secret, ts=now + 300, call_id="pbx-future").status_code == 200


def twilio(client: Any, params: list[tuple[str, str]], signed_url: str) -> Any:
    return client.post(TWILIO, content=urlencode(params), headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature(TWILIO_TOKEN, signed_url, sorted(params))})


def call(sid: str) -> list[tuple[str, str]]:
    return [("AccountSid", ACCOUNT), ("CallSid", sid), ("CallStatus", "ringing"), ("Direction", "inbound"),
            ("From", CUSTOMER), ("To", OFFICE)]


def test_twilio_signs_the_url_with_or_without_its_default_port(make_crm: MakeCrm) -> None:
    plain, with_port = "http://testserver" + TWILIO, "http://testserver:80" + TWILIO
    for configured, signed in ((plain, with_port), (with_port, plain), (plain, plain)):
        crm = telephony_crm(make_crm, twilio={"auth_token": TWILIO_TOKEN, "webhook_url": configured})
        client, _ = api_client(crm)
        r = twilio(client, call("CA" + "1" * 32), signed)
        assert r.status_code == 200, (configured, signed, r.text)
    crm = telephony_crm(make_crm, twilio={"auth_token": TWILIO_TOKEN, "webhook_url": plain})
    other_port = twilio(api_client(crm)[0], call("CA" + "2" * 32), "http://testserver:8080" + TWILIO)
    assert other_port.status_code == 403


def test_a_twilio_body_may_have_200_fields(make_crm: MakeCrm) -> None:
    crm = telephony_crm(make_crm)
    client, _ = api_client(crm)
    url = "http://testserver" + TWILIO
    base = call("CA" + "4" * 32)
    fields = base + [(f"X{n:03}", "1") for n in range(200 - len(base))]
    assert len(fields) == 200
    assert twilio(client, fields, url).status_code == 200
    too_many = call("CA" + "5" * 32) + [(f"X{n:03}", "1") for n in range(201 - len(base))]
    assert twilio(client, too_many, url).status_code in (400, 403)


def test_twilio_signs_blank_fields_too(make_crm: MakeCrm) -> None:
    crm = telephony_crm(make_crm)
    client, _ = api_client(crm)
    params = call("CA" + "6" * 32) + [("CallerName", ""), ("Digits", "")]
    assert twilio(client, params, "http://testserver" + TWILIO).status_code == 200
