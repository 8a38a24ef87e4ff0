"""The messaging API: sending, consent, templates, webhooks, campaigns with clear 4xx errors; the
public unsubscribe link (RFC 8058 one-click POST) and the SMS gateway's signed callbacks."""

from __future__ import annotations

import json
import time
from typing import Any, Callable
from urllib.parse import urlsplit

from starlette.testclient import TestClient

from crmkit import Crm
from crmkit.messages.sms_gateway import sign
from crmkit.testing import auth_headers
from crmkit.web import create_app
from messages_support import SMS_SECRET, contact


def _client(crm: Crm) -> tuple[TestClient, dict[str, str], dict[str, str]]:
    admin = crm.users.create(email="ada@windows.example", name="Ada", role="admin")
    mia = crm.users.create(email="mia@windows.example", name="Mia", role="manager")
    return TestClient(create_app(crm)), auth_headers(crm, admin.id), auth_headers(crm, mia.id)


def test_send_list_and_errors(mcrm: Callable[..., Crm]) -> None:
    crm = mcrm()
    client, admin, mia = _client(crm)
    jane = contact(crm)
    r = client.post("/api/v1/messages", json={"contact_id": jane.id, "subject": "Hi", "body": "Hello"}, headers=admin)
    assert r.status_code == 201 and r.json()["status"] == "queued" and r.json()["to_address"] == "jane@smith.example"
    listed = client.get("/api/v1/messages", params={"contact_id": jane.id}, headers=admin).json()
    assert [m["id"] for m in listed["items"]] == [r.json()["id"]]

    for payload, field in [({"contact_id": jane.id}, "body"), ({"to": "x@y.example", "body": "b", "channel": "fax"},
                                                               "channel"), ({"to": "nope", "body": "b"}, "to"),
                           ({"to": "x@y.example", "body": "b", "send_at": "tomorrow"}, "send_at"),
                           ({"to": "x@y.example", "body": "b", "purpose": "spam"}, "purpose")]:
        bad = client.post("/api/v1/messages", json=payload, headers=admin)
        assert bad.status_code == 422 and bad.json()["error"]["field"] == field, (payload, bad.json())
    assert client.post("/api/v1/messages", json={"contact_id": 9999, "body": "b"}, headers=admin).status_code == 404
    # a manager: not someone else's contact, not the whole outbox, no templates or webhooks
    assert client.post("/api/v1/messages", json={"contact_id": jane.id, "body": "b"}, headers=mia).status_code == 404
    assert client.get("/api/v1/messages", headers=mia).status_code == 403
    assert client.post("/api/v1/messages/templates", json={"key": "k", "body": "b"}, headers=mia).status_code == 403
    assert client.get("/api/v1/webhooks", headers=mia).status_code == 403
    assert client.get("/api/v1/messages", headers={}).status_code == 401
    assert len(crm.messages.list().items) == 1  # nothing half-written


def test_templates_consent_webhooks_campaigns(mcrm: Callable[..., Crm]) -> None:
    crm = mcrm()
    client, admin, _ = _client(crm)
    jane = contact(crm)
    t = client.post("/api/v1/messages/templates", json={"key": "hello", "body": "Hi {{ contact.first_name }}",
                                                         "subject": "Hello"}, headers=admin)
    assert t.status_code == 201
    bad = client.post("/api/v1/messages/templates", json={"key": "x", "body": "{% if %}"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "body"
    preview = client.post("/api/v1/messages/templates/preview", json={"key": "hello", "contact_id": jane.id},
                          headers=admin).json()
    assert preview["body"] == "Hi Jane" and preview["subject"] == "Hello"
    assert client.post("/api/v1/messages/templates/preview", json={"key": "nope"}, headers=admin).status_code == 404

    c = client.post(f"/api/v1/messages/consent/{jane.id}", json={"kind": "sms", "status": "out"}, headers=admin)
    assert c.status_code == 422 and c.json()["error"]["field"] == "kind"
    c = client.post(f"/api/v1/messages/consent/{jane.id}", json={"kind": "phone", "status": "out"}, headers=admin)
    assert c.json() == {"phone": "out"}

    w = client.post("/api/v1/webhooks", json={"url": "https://erp.example/hook", "event_types": ["deal.*"]},
                    headers=admin)
    assert w.status_code == 201 and w.json()["secret"].startswith("whsec_")
    assert client.get(f"/api/v1/webhooks/{w.json()['id']}", headers=admin).json()["secret"] is None
    bad = client.post("/api/v1/webhooks", json={"url": "ftp://x", "event_types": ["*"]}, headers=admin)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "url"
    assert client.patch(f"/api/v1/webhooks/{w.json()['id']}", json={"active": False}, headers=admin).json()["active"] is False
    assert client.get("/api/v1/webhooks/999", headers=admin).status_code == 404

    camp = client.post("/api/v1/campaigns", json={"name": "All", "template": "hello"}, headers=admin)
    assert camp.status_code == 201
    assert client.post(f"/api/v1/campaigns/{camp.json()['id']}/queue", headers=admin).json() == {"queued": 1}
    results = client.get(f"/api/v1/campaigns/{camp.json()['id']}/results", headers=admin).json()
    assert results["queued"] == 1 and results["sent"] == 0
    bad = client.post("/api/v1/campaigns", json={"name": "X", "template": "hello", "segment": {"nope": 1}},
                      headers=admin)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "nope"


def test_the_one_click_unsubscribe_link(mcrm: Callable[..., Crm]) -> None:
    crm = mcrm()
    client, _, _ = _client(crm)
    jane = contact(crm)
    link = urlsplit(crm.messages.unsubscribe_url(jane.id))
    path = f"{link.path}?{link.query}"
    page = client.get(path)
    assert page.status_code == 200 and "<form method=\"post\"" in page.text
    assert crm.messages.consent_of(jane.id) == {}  # a GET (a link scanner) changes nothing
    done = client.post(path, content=b"List-Unsubscribe=One-Click",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert done.status_code == 200 and crm.messages.consent_of(jane.id) == {"email": "out"}
    tampered = path.replace(f"c={jane.id}", f"c={jane.id + 1}")
    assert client.post(tampered).status_code == 400


def test_the_sms_gateways_signed_callbacks(mcrm: Callable[..., Crm], receiver: Any) -> None:
    crm = mcrm()
    client, _, _ = _client(crm)
    jane = contact(crm)
    msg = crm.messages.send(contact_id=jane.id, channel="sms", body="hi")
    crm.messages.deliver()

    def post(path: str, data: dict[str, Any], secret: str = SMS_SECRET) -> Any:
        raw = json.dumps(data).encode()
        ts = str(int(time.time()))
        return client.post(path, content=raw, headers={"X-Crmkit-Timestamp": ts,
                                                       "X-Crmkit-Signature": sign(secret, ts, raw)})

    assert post("/api/v1/messages/sms/status", {"id": "gw-1", "status": "delivered"}, "wrong secret 0123456").status_code == 403
    assert post("/api/v1/messages/sms/status", {"id": "gw-1", "status": "delivered"}).json() == {"known": True}
    assert crm.messages.get(msg.id).status == "delivered"
    assert post("/api/v1/messages/sms/status", {"id": "gw-1", "status": "lost"}).status_code == 422
    got = post("/api/v1/messages/sms/inbound", {"id": "in-1", "from": "+12025550188", "text": "Thanks!"}).json()
    assert got["contact_id"] == jane.id and got["duplicate"] is False
