"""The Telegram channel (sendMessage to a Bot-API-shaped receiver on loopback) and its webhook;
[settings.messages] refused at start with the key named."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from crmkit import ConfigError
from crmkit.messages.config import parse
from crmkit.web import create_app
from messages_support import Receiver, messages_settings


def test_telegram_out_and_in(make_crm: Any, receiver: Receiver) -> None:
    crm = make_crm(settings={"messages": {"telegram": {"token": "123:abc", "api_url": receiver.url,
                                                       "webhook_secret": "hook-secret"}}})
    receiver.answers = [(200, {"ok": True, "result": {"message_id": 55}})]
    msg = crm.messages.send(to="777", channel="telegram", body="Your order is ready")
    assert crm.messages.deliver().sent == 1
    assert receiver.requests[0]["path"] == "/bot123:abc/sendMessage"
    assert receiver.json(0) == {"chat_id": "777", "text": "Your order is ready"}
    assert crm.messages.get(msg.id).provider_id == "55"

    client = TestClient(create_app(crm))
    update = {"update_id": 9, "message": {"message_id": 1, "chat": {"id": 777}, "from": {"first_name": "Tom"},
                                          "text": "Thanks"}}
    assert client.post("/api/v1/messages/telegram/webhook", json=update).status_code == 403
    r = client.post("/api/v1/messages/telegram/webhook", content=json.dumps(update),
                    headers={"X-Telegram-Bot-Api-Secret-Token": "hook-secret"})
    assert r.status_code == 200 and r.json()["lead_id"] is not None
    again = client.post("/api/v1/messages/telegram/webhook", json=update,
                        headers={"X-Telegram-Bot-Api-Secret-Token": "hook-secret"})
    assert again.json()["duplicate"] is True

    receiver.answers = [(200, {"ok": False, "description": "chat not found"})]
    bad = crm.messages.send(to="778", channel="telegram", body="x")
    assert crm.messages.deliver().failed == 1 and crm.messages.get(bad.id).status == "failed"


@pytest.mark.parametrize("table, key", [
    ({"colour": 1}, "colour"),
    ({"quiet_hours": "late"}, "quiet_hours"),
    ({"timezone": "Mars/Base"}, "timezone"),
    ({"secret": "short"}, "secret"),
    ({"email": {"host": "x", "from": "nobody"}}, "email.from"),
    ({"email": {"host": "x", "from": "a@b.example", "security": "tls"}}, "email.security"),
    ({"email": {"host": "x", "from": "a@b.example", "username": "u"}}, "email.password"),
    ({"sms": {"url": "ftp://x", "secret": "s" * 16}}, "sms.url"),
    ({"marketing_cap": -1}, "marketing_cap"),
])
def test_bad_settings_are_refused_naming_the_key(table: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=f"settings.messages\\] {key}"):
        parse(table)


def test_a_deployment_with_bad_settings_does_not_start(make_crm: Any) -> None:
    with pytest.raises(ConfigError, match="quiet_hours"):
        make_crm(settings={"messages": {"quiet_hours": "late"}})
    crm = make_crm(settings={"messages": messages_settings(2525, "http://127.0.0.1:9/sms")})
    assert sorted(crm.messages.channels) == ["email", "sms"]
