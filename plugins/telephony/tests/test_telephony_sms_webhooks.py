"""Twilio's SMS webhooks through the deployment's HTTP app: delivery status callbacks reach the
message sent through the ``twilio`` channel (to a Twilio-shaped receiver on loopback), inbound SMS
land on the contact by phone or become a lead; every request is checked with ``X-Twilio-Signature``
over the configured URL (a wrong one writes nothing)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from telephony_helpers import MakeCrm, api_client, settings
from test_telephony_sms import _Twilio, twilio  # noqa: F401  (the fixture)

from crmkit import ConfigError, Crm
from crmkit_telephony.providers.twilio import signature

TOKEN = "tok-secret"
STATUS_URL = "https://crm.windows.example/api/v1/telephony/sms/twilio/status"
INBOUND_URL = "https://crm.windows.example/api/v1/telephony/sms/twilio/inbound"
JANE = "+12025550188"


def _crm(make_crm: MakeCrm, port: int, **sms: Any) -> Crm:
    table = {"account_sid": "AC123", "auth_token": TOKEN, "from": "+12025550100", "api_url": f"http://127.0.0.1:{port}",
             "status_callback_url": STATUS_URL, "inbound_url": INBOUND_URL, **sms}
    return make_crm(plugins=["telephony"], settings=settings(sms={k: v for k, v in table.items() if v is not None}))


def _post(client: Any, route: str, params: dict[str, str], *, url: str | None = None, token: str = TOKEN) -> Any:
    url = url or (STATUS_URL if route == "status" else INBOUND_URL)
    return client.post(f"/api/v1/telephony/sms/twilio/{route}", content=urlencode(params), headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature(token, url, sorted(params.items()))})


def _status(sid: str, status: str, **extra: str) -> dict[str, str]:
    return {"AccountSid": "AC123", "MessageSid": sid, "MessageStatus": status, "SmsSid": sid, "SmsStatus": status,
            "ApiVersion": "2010-04-01", "From": "+12025550100", "To": JANE, **extra}


def _timeline(crm: Crm, contact_id: int) -> list[str]:
    return [e.type for e in crm.timeline.of("contact", contact_id, limit=200).items if e.type.startswith("message.")]


def test_status_callbacks_record_delivery_on_the_contact(make_crm: MakeCrm, twilio: _Twilio) -> None:  # noqa: F811
    crm = _crm(make_crm, twilio.port)
    client, _ = api_client(crm)
    jane = crm.contacts.create(first_name="Jane", last_name="Smith", phones=[JANE])
    ok = crm.messages.send(contact_id=jane.id, channel="twilio", body="Your windows arrive tomorrow.")
    lost = crm.messages.send(contact_id=jane.id, channel="twilio", body="The invoice is attached.")
    crm.messages.deliver()
    assert twilio.requests[0]["form"]["StatusCallback"] == STATUS_URL
    sids = [crm.messages.get(m.id).provider_id for m in (ok, lost)]
    assert sids == ["SM1", "SM2"]

    sent = _post(client, "status", _status("SM1", "sent"))
    assert sent.status_code == 200 and sent.json() == {"known": None, "ignored": "sent"}
    assert crm.messages.get(ok.id).status == "sent"
    assert _post(client, "status", _status("SM1", "delivered")).json() == {"known": True, "status": "delivered"}
    assert _post(client, "status", _status("SM1", "delivered")).json()["known"] is True  # again: no change
    got = _post(client, "status", _status("SM2", "undelivered", ErrorCode="30003")).json()
    assert got == {"known": True, "status": "bounced"}
    assert (crm.messages.get(ok.id).status, crm.messages.get(lost.id).status) == ("delivered", "bounced")
    assert "30003" in (crm.messages.get(lost.id).last_error or "")
    assert _timeline(crm, jane.id).count("message.delivered") == 1
    assert "message.bounced" in _timeline(crm, jane.id)
    assert _post(client, "status", _status("SM999", "failed")).json() == {"known": False, "status": "failed"}


def test_inbound_sms_threads_onto_the_contact_or_becomes_a_lead(make_crm: MakeCrm, twilio: _Twilio) -> None:  # noqa: F811
    crm = _crm(make_crm, twilio.port)
    client, _ = api_client(crm)
    jane = crm.contacts.create(first_name="Jane", last_name="Smith", phones=[JANE])
    crm.messages.send(contact_id=jane.id, channel="twilio", body="We come on Monday at 10. OK?")
    crm.messages.deliver()
    reply = {"AccountSid": "AC123", "MessageSid": "SMin1", "SmsSid": "SMin1", "From": JANE, "To": "+12025550100",
             "Body": "Yes, Monday works", "NumMedia": "0", "ApiVersion": "2010-04-01"}
    answer = _post(client, "inbound", reply)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/xml")
    assert answer.text.endswith("<Response></Response>")
    assert _post(client, "inbound", reply).status_code == 200  # Twilio's retry: taken once
    received = [e for e in crm.timeline.of("contact", jane.id, limit=200).items if e.type == "message.received"]
    assert [(e.data["kind"], e.data["from"], e.data["body"]) for e in received] == [
        ("phone", JANE, "Yes, Monday works")]

    stranger = {**reply, "MessageSid": "SMin2", "From": "+12025550199", "Body": "Price for 3 windows?"}
    assert _post(client, "inbound", stranger).status_code == 200
    leads = crm.leads.list().items
    assert [(lead.phone, lead.title) for lead in leads] == [("+12025550199", "Price for 3 windows?")]


def test_a_bad_signature_or_account_writes_nothing(make_crm: MakeCrm, twilio: _Twilio) -> None:  # noqa: F811
    crm = _crm(make_crm, twilio.port)
    client, _ = api_client(crm)
    reply = {"AccountSid": "AC123", "MessageSid": "SMx", "From": "+12025550199", "Body": "hi"}
    assert _post(client, "inbound", reply, token="wrong-token").status_code == 403
    assert _post(client, "inbound", reply, url="https://attacker.example/inbound").status_code == 403
    assert _post(client, "inbound", reply, url=STATUS_URL).status_code == 403  # signed for the other route
    assert _post(client, "inbound", {**reply, "AccountSid": "AC999"}).status_code == 403
    unsigned = client.post("/api/v1/telephony/sms/twilio/inbound", content=urlencode(reply),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert unsigned.status_code == 403
    missing = _post(client, "inbound", {"AccountSid": "AC123", "MessageSid": "SMy", "Body": "no sender"})
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "From"
    assert _post(client, "status", {"AccountSid": "AC123", "MessageSid": "SM1"}).status_code == 422
    assert crm.leads.list().items == []


def test_routes_without_their_url_are_not_configured(make_crm: MakeCrm, twilio: _Twilio) -> None:  # noqa: F811
    crm = _crm(make_crm, twilio.port, inbound_url=None, status_callback_url=None)
    client, _ = api_client(crm)
    got = _post(client, "inbound", {"AccountSid": "AC123", "MessageSid": "SMz", "From": JANE, "Body": "x"})
    assert got.status_code == 503 and "inbound_url" in got.json()["error"]["message"]
    assert _post(client, "status", _status("SM1", "delivered")).status_code == 503
    with pytest.raises(ConfigError, match=r"sms\.inbound_url"):
        _crm(make_crm, twilio.port, inbound_url="ftp://nope")
