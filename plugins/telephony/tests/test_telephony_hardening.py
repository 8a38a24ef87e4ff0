"""Crafted input never answers 500: non-ASCII signature headers, Unicode digits ("²" is a digit to
``str.isdigit``), huge numbers, out-of-range times; Twilio webhooks need the configured public URL
(never the Host header); settings with line breaks or without ``webhook_url`` fail at start."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from telephony_helpers import (
    CUSTOMER, SECRET, TWILIO_TOKEN, MakeCrm, api_client, feed, raw_post, settings, telephony_crm,
)
from test_telephony_webhooks import (
    GENERIC, TWILIO, TWILIO_URL, call_count, generic_event, post_generic, post_twilio, twilio_params,
)

from crmkit import ConfigError, FrozenClock
from crmkit_telephony.config import TelephonySettings
from crmkit_telephony.providers import NotConfiguredError, WebhookRequest
from crmkit_telephony.providers.generic import sign
from crmkit_telephony.providers.twilio import TwilioProvider, signature
from crmkit_telephony.schema import calls

PUBLIC = "https://crm.windows.example/api/v1/telephony/webhooks/twilio"


@pytest.mark.parametrize("header", [b"v1=\xe9t\xe9", "v1=\u00e9".encode(), b"\xff" * 67, b"v1=\xb2"])
def test_a_non_ascii_generic_signature_is_403(make_crm: MakeCrm, clock: FrozenClock, header: bytes) -> None:
    crm = telephony_crm(make_crm)
    ts = str(int(clock.now().timestamp())).encode()
    status, body = raw_post(crm, GENERIC, b"{}", [(b"x-telephony-timestamp", ts), (b"x-telephony-signature", header)])
    assert (status, body["error"]["code"]) == (403, "forbidden"), body
    assert call_count(crm) == 0


@pytest.mark.parametrize("timestamp", [b"\xb2", b"\xb9\xb2\xb3", "\u00b2".encode(), b"1e9", b"-1"])
def test_a_unicode_digit_timestamp_is_403(make_crm: MakeCrm, clock: FrozenClock, timestamp: bytes) -> None:
    crm = telephony_crm(make_crm)
    body = json.dumps(generic_event(clock, "pbx-1", "ringing")).encode()
    status, answer = raw_post(crm, GENERIC, body, [(b"x-telephony-timestamp", timestamp),
                                                   (b"x-telephony-signature", sign(SECRET, 2, body).encode())])
    assert status == 403 and "x-telephony-timestamp" in answer["error"]["message"], answer
    assert call_count(crm) == 0


def test_a_non_ascii_twilio_signature_is_403(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm)
    status, body = raw_post(crm, TWILIO, urlencode(twilio_params("CA1", "ringing")).encode(), [
        (b"content-type", b"application/x-www-form-urlencoded"), (b"x-twilio-signature", b"\xe9t\xe9=")])
    assert (status, body["error"]["code"]) == (403, "forbidden"), body
    assert call_count(crm) == 0


@pytest.mark.parametrize("fields", [
    {"from": "1" * 101}, {"extension": "x" * 101}, {"hangup_cause": "y" * 201}, {"duration": 10**20},
    {"duration": 2**31}, {"occurred_at": "0001-01-01T00:00:00+01:00"}, {"occurred_at": "9999-12-31T23:59:59-01:00"},
])
def test_generic_values_out_of_range_are_400(make_crm: MakeCrm, clock: FrozenClock, fields: dict[str, Any]) -> None:
    crm = telephony_crm(make_crm)
    client, _ = api_client(crm)
    r = post_generic(client, clock, {**generic_event(clock, "pbx-1", "ended", direction="inbound"), **fields})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["field"] == next(iter(fields)), r.text
    assert call_count(crm) == 0


def test_generic_events_centuries_apart_are_stored(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm)
    client, _ = api_client(crm)
    early = {"call_id": "pbx-1", "direction": "inbound", "from": CUSTOMER}
    for kind, at in (("answered", "0001-01-01T00:00:00Z"), ("ended", "9999-12-31T00:00:00Z")):
        r = post_generic(client, clock, {**early, "event": kind, "occurred_at": at})
        assert r.status_code == 200, r.text
    r = post_generic(client, clock, {"call_id": "pbx-2", "event": "ended", "occurred_at": "0001-01-01T00:00:01Z",
                                     "result": "answered", "duration": 2**31 - 1})
    assert r.status_code == 200, r.text
    with crm.engine.connect() as conn:
        durations = [row.duration for row in conn.execute(select(calls).order_by(calls.c.id))]
    assert durations == [2**31 - 1, 2**31 - 1]


@pytest.mark.parametrize("extra", [
    {"CallDuration": "\u00b2"}, {"CallDuration": "9" * 25}, {"CallDuration": "\u0665"},
    {"Timestamp": "Fri, 31 Dec 9999 23:59:59 -0100"},
])
def test_twilio_odd_numbers_and_times_are_ignored_not_500(make_crm: MakeCrm, clock: FrozenClock,
                                                          extra: dict[str, str]) -> None:
    crm = telephony_crm(make_crm)
    client, _ = api_client(crm)
    r = post_twilio(client, twilio_params("CA" + "1" * 32, "completed", DialCallStatus="no-answer", **extra))
    assert r.status_code == 200, r.text
    with crm.engine.connect() as conn:
        row = conn.execute(select(calls)).one()
    assert (row.result, row.duration, row.ended_at) == ("missed", 0, clock.now())  # not a number, not a time


def test_twilio_webhooks_without_webhook_url_fail_at_start(make_crm: MakeCrm) -> None:
    for twilio in ({"auth_token": TWILIO_TOKEN}, {"auth_token": TWILIO_TOKEN, "webhook_url": "/api/v1/x"},
                   {"auth_token": TWILIO_TOKEN, "webhook_url": PUBLIC + "\r\nX: 1"}):
        with pytest.raises(ConfigError, match="settings.telephony.twilio.webhook_url"):
            make_crm(plugins=["telephony"], settings=settings(twilio=twilio))
    with pytest.raises(ConfigError, match="webhook_url"):
        make_crm(plugins=["telephony"], settings={"telephony": {"provider": "twilio"}})


def test_twilio_webhooks_without_configuration_are_refused_with_503(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = make_crm(plugins=["telephony"], settings={"telephony": {"extensions": {"101": "anna@windows.example"}}})
    client, _ = api_client(crm)
    r = post_twilio(client, twilio_params("CA" + "2" * 32, "ringing"))  # signed for the URL it was sent to
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "not_configured" and "webhook_url" in r.json()["error"]["message"]
    assert call_count(crm) == 0 and crm.leads.count() == 0


def test_the_twilio_adapter_never_verifies_against_the_request_url(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm)
    params = twilio_params("CA" + "3" * 32, "ringing")
    url = "https://attacker.example/api/v1/telephony/webhooks/twilio"
    request = WebhookRequest(url=url, body=urlencode(params).encode(), headers={
        "x-twilio-signature": signature(TWILIO_TOKEN, url, sorted(params.items()))})
    bare = TelephonySettings(region="US", providers={"twilio": {"auth_token": TWILIO_TOKEN}})
    with pytest.raises(NotConfiguredError):
        TwilioProvider().parse_webhook(crm, bare, request)


def test_a_request_signed_for_another_host_is_refused(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm, twilio={"auth_token": TWILIO_TOKEN, "webhook_url": PUBLIC})
    client, _ = api_client(crm)
    params = twilio_params("CA" + "4" * 32, "ringing")
    other = "http://other-deployment.example" + TWILIO
    r = client.post(TWILIO, content=urlencode(params), headers={
        "Host": "other-deployment.example", "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature(TWILIO_TOKEN, other, sorted(params.items()))})
    assert r.status_code == 403, r.text
    assert post_twilio(client, params, url=PUBLIC).status_code == 200
    assert TWILIO_URL != PUBLIC


@pytest.mark.parametrize(("query", "field"), [
    ("limit=%C2%B2", "limit"), ("limit=%D9%A5", "limit"), ("limit=" + "9" * 5000, "limit"), ("limit=0", "limit"),
    ("user_id=%C2%B2", "user_id"), ("user_id=" + "9" * 25, "user_id"), ("user_id=abc", "user_id"),
    ("user_id=0", "user_id"), ("user_id=" + str(2**31), "user_id"),
    ("phone=" + "1" * 65, "phone"), ("phone=abc", "phone"),
    ("cursor=%C2%B2", "cursor"), ("cursor=" + str(2**64), "cursor"), ("cursor=%D9%A5", "cursor"),
])
def test_calls_query_parameters_are_checked(make_crm: MakeCrm, clock: FrozenClock, query: str, field: str) -> None:
    crm = telephony_crm(make_crm)
    feed(crm, clock, "c1", "ringing", direction="inbound", from_number=CUSTOMER)
    client, admin = api_client(crm)
    r = client.get("/api/v1/telephony/calls?" + query, headers=admin)
    assert r.status_code == 422 and r.json()["error"]["field"] == field, r.text


@pytest.mark.parametrize("query", ["to=9999-12-31", "from=9999-12-31&to=9999-12-31", "to=%C2%B2"])
def test_stats_days_out_of_range_are_422(make_crm: MakeCrm, query: str) -> None:
    crm = telephony_crm(make_crm)
    client, admin = api_client(crm)
    r = client.get("/api/v1/telephony/stats?" + query, headers=admin)
    assert r.status_code == 422 and r.json()["error"]["field"] == "to", r.text


@pytest.mark.parametrize(("extra", "key"), [
    ({"extensions": {"101\r\nAction: Command": "anna@windows.example"}}, "extensions"),
    ({"extensions": {"": "anna@windows.example"}}, "extensions"),
    ({"extensions": {"101": True}}, "extensions"),
    ({"asterisk": {"host": "pbx", "context": "from-internal\r\nAction: Command"}}, "asterisk.context"),
    ({"asterisk": {"host": "pbx", "channel": "PJSIP/{0}"}}, "asterisk.channel"),
    ({"asterisk": {"host": "pbx", "port": "5038"}}, "asterisk.port"),
    ({"generic": {"secret": SECRET, "max_age_seconds": "300"}}, "generic.max_age_seconds"),
])
def test_unsafe_settings_fail_at_start(make_crm: MakeCrm, extra: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=f"settings.telephony.{key}"):
        make_crm(plugins=["telephony"], settings=settings(**extra))
