"""Click-to-call rings only an extension the user may use: their own (the default when they have one),
any configured one for an admin; never an unknown value, a colleague's extension, a line break for the
AMI or a free outside number for Twilio. A provider that is down is a generic 502."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

import pytest
from telephony_helpers import (
    CUSTOMER, MakeCrm, api_client, fake_cloud, settings, telephony_crm, token_for, user,
)
from telephony_ami_server import WAIT, FakeAsterisk, asterisk_crm

from crmkit import FrozenClock, PermissionDeniedError, ValidationError
from crmkit_telephony import config
from crmkit_telephony.ami import Connection, UnsafeValueError
from crmkit_telephony.calls import click_to_call
from crmkit_telephony.providers.twilio import TwilioProvider

CALL = "/api/v1/telephony/click-to-call"
ANNA, BOB = "anna@windows.example", "bob@windows.example"
INJECTION = "101\r\nAction: Command\r\nCommand: core stop now"


def refused(response: Any, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] == field, response.text


def test_a_manager_rings_only_her_own_extension(db_url: str, clock: FrozenClock, tmp_path: Path) -> None:
    with fake_cloud(db_url, clock, tmp_path) as (crm, provider):
        client, admin = api_client(crm)
        anna = token_for(crm, user(crm, ANNA))
        refused(client.post(CALL, json={"to": CUSTOMER, "extension": "102"}, headers=anna), 403, "extension")  # Bob's
        refused(client.post(CALL, json={"to": CUSTOMER, "extension": "999"}, headers=anna), 422, "extension")
        refused(client.post(CALL, json={"to": CUSTOMER, "extension": INJECTION}, headers=anna), 422, "extension")
        refused(client.post(CALL, json={"to": CUSTOMER, "extension": ""}, headers=anna), 422, "extension")
        assert provider.dialled == []
        assert client.post(CALL, json={"to": CUSTOMER, "extension": "101"}, headers=anna).status_code == 202
        assert client.post(CALL, json={"to": CUSTOMER}, headers=anna).status_code == 202  # her only one
        assert provider.dialled == [("101", CUSTOMER), ("101", CUSTOMER)]


def test_an_admin_may_use_any_configured_extension(db_url: str, clock: FrozenClock, tmp_path: Path) -> None:
    with fake_cloud(db_url, clock, tmp_path) as (crm, provider):
        client, admin = api_client(crm)
        r = client.post(CALL, json={"to": CUSTOMER, "extension": "102"}, headers=admin)
        assert r.status_code == 202, r.text
        assert r.json()["call"]["extension"] == "102"
        refused(client.post(CALL, json={"to": CUSTOMER, "extension": "999"}, headers=admin), 422, "extension")
        refused(client.post(CALL, json={"to": CUSTOMER, "extension": INJECTION}, headers=admin), 422, "extension")
        refused(client.post(CALL, json={"to": CUSTOMER}, headers=admin), 422, "extension")  # none of her own
        assert provider.dialled == [("102", CUSTOMER)]


def test_several_extensions_mean_choosing_one_of_them(db_url: str, clock: FrozenClock, tmp_path: Path) -> None:
    extensions = {"101": ANNA, "103": ANNA, "102": BOB}
    with fake_cloud(db_url, clock, tmp_path, extensions=extensions) as (crm, provider):
        client, _ = api_client(crm)
        anna = token_for(crm, user(crm, ANNA))
        r = client.post(CALL, json={"to": CUSTOMER}, headers=anna)
        refused(r, 422, "extension")
        assert "101, 103" in r.json()["error"]["message"]
        assert client.post(CALL, json={"to": CUSTOMER, "extension": "103"}, headers=anna).status_code == 202
        refused(client.post(CALL, json={"to": CUSTOMER, "extension": "102"}, headers=anna), 403, "extension")
        assert provider.dialled == [("103", CUSTOMER)]


def test_the_sdk_applies_the_same_rules(db_url: str, clock: FrozenClock, tmp_path: Path) -> None:
    with fake_cloud(db_url, clock, tmp_path) as (crm, provider):
        anna = crm.as_user(user(crm, ANNA))
        with pytest.raises(PermissionDeniedError) as denied:
            click_to_call(anna, to=CUSTOMER, extension="102")
        assert denied.value.field == "extension"
        for bad in ("999", INJECTION, 101):
            with pytest.raises(ValidationError) as invalid:
                click_to_call(anna, to=CUSTOMER, extension=bad)  # type: ignore[arg-type]
            assert invalid.value.field == "extension"
        assert provider.dialled == []
        call = click_to_call(crm.system, to=CUSTOMER, extension="102")  # the system: any configured extension
        assert call is not None and call.extension == "102" and provider.dialled == [("102", CUSTOMER)]


@pytest.mark.parametrize(("body", "field"), [
    ({"to": "client:bob"}, "to"), ({"to": "sip:+12025550199@evil.example"}, "to"), ({"to": "12"}, "to"),
    ({"to": CUSTOMER + "\r\nAction: Command"}, "to"), ({"to": "+1 202 555 0144" + " " * 100}, "to"),
    ({"contact_id": "\u00b2"}, "contact_id"), ({"contact_id": "\u0665"}, "contact_id"),
    ({"contact_id": 10**25}, "contact_id"), ({"contact_id": True}, "contact_id"), ({"contact_id": [1]}, "contact_id"),
    ({"contact_id": 0}, "contact_id"),
])
def test_numbers_and_contacts_are_checked(db_url: str, clock: FrozenClock, tmp_path: Path, body: dict[str, Any],
                                          field: str) -> None:
    with fake_cloud(db_url, clock, tmp_path) as (crm, provider):
        client, _ = api_client(crm)
        refused(client.post(CALL, json=body, headers=token_for(crm, user(crm, ANNA))), 422, field)
        assert provider.dialled == []


def test_deeply_nested_json_is_a_400(db_url: str, clock: FrozenClock, tmp_path: Path) -> None:
    with fake_cloud(db_url, clock, tmp_path) as (crm, provider):
        client, admin = api_client(crm)
        r = client.post(CALL, content=b"[" * 100_000, headers={**admin, "Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request", r.text
        assert provider.dialled == []


def test_crlf_never_reaches_the_ami_socket(make_crm: MakeCrm, clock: FrozenClock) -> None:
    server = FakeAsterisk([[]])
    try:
        crm = asterisk_crm(make_crm, server)
        client, admin = api_client(crm)
        anna = token_for(crm, user(crm, ANNA))
        refused(client.post(CALL, json={"to": CUSTOMER, "extension": INJECTION}, headers=admin), 422, "extension")
        refused(client.post(CALL, json={"to": CUSTOMER, "extension": INJECTION}, headers=anna), 422, "extension")
        refused(client.post(CALL, json={"to": CUSTOMER + "\r\nAction: Command"}, headers=anna), 422, "to")
        refused(client.post(CALL, json={"to": CUSTOMER, "extension": "102"}, headers=anna), 403, "extension")
        assert server.logins == 0 and server.actions == []
        r = client.post(CALL, json={"to": CUSTOMER, "extension": "102"}, headers=admin)  # any configured one
        assert r.status_code == 202, r.text
        assert server.done.wait(WAIT)
        assert server.logins == 1  # the refused requests never connected
        originates = [a for a in server.actions if a["Action"] == "Originate"]
        assert [(a["Channel"], a["Exten"]) for a in originates] == [("PJSIP/102", CUSTOMER)]
        assert {a["Action"] for a in server.actions} <= {"Originate", "Logoff"}
    finally:
        server.close()


def test_the_ami_writer_refuses_control_characters() -> None:
    server = FakeAsterisk([[]])
    try:
        conn = Connection("127.0.0.1", server.port, timeout=WAIT)
        try:
            with pytest.raises(UnsafeValueError):
                conn.login("crmkit\r\nAction: Command", "s3cret")
            conn.login("crmkit", "s3cret")
            for fields in ({"Channel": "PJSIP/101\r\nAction: Command"}, {"Exten": "1\n"}, {"Context": "a\x00b"},
                           {"Exten": "1\u2028Action: Command"}, {"Bad: Key": "1"}, {"Bad\r\nKey": "1"}):
                with pytest.raises(UnsafeValueError):
                    conn.action("Originate", fields)
            with pytest.raises(UnsafeValueError):
                conn.action("Command\r\nCommand: core stop now")
            assert conn.action("Ping").get("Response") == "Success"
        finally:
            conn.close()
        assert server.done.wait(WAIT)
        assert server.logins == 1 and [a["Action"] for a in server.actions] == ["Ping"]
    finally:
        server.close()


def test_twilio_cannot_bridge_two_outside_numbers(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm, provider="twilio", twilio={
        **settings()["telephony"]["twilio"], "account_sid": "AC" + "0" * 32, "caller_id": "+12025550100"})
    client, admin = api_client(crm)
    refused(client.post(CALL, json={"to": CUSTOMER, "extension": "+12025550199"}, headers=admin), 422, "extension")
    refused(client.post(CALL, json={"to": CUSTOMER, "extension": "client:102"}, headers=admin), 422, "extension")
    refused(client.post(CALL, json={"to": "client:102", "extension": "101"}, headers=admin), 422, "to")
    sent: list[bytes] = []

    def transport(url: str, body: bytes, headers: Any) -> tuple[int, bytes]:
        sent.append(body)
        return 201, b'{"sid": "CA1"}'

    twilio, cfg = TwilioProvider(transport), config.load(crm)
    for extension, number in (("+12025550199", CUSTOMER), ("101", "+12025550199\r\n"), ("101", "client:102")):
        with pytest.raises(ValidationError):
            twilio.originate(crm, cfg, extension, number)
    assert sent == []
    assert twilio.originate(crm, cfg, "101", CUSTOMER).call_id == "CA1"
    assert b"To=client%3A101" in sent[0]  # the agent comes from the configuration


def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("provider", ["asterisk", "generic"])
def test_an_unreachable_provider_is_a_generic_502(make_crm: MakeCrm, clock: FrozenClock,
                                                  caplog: pytest.LogCaptureFixture, provider: str) -> None:
    port = closed_port()
    opts: dict[str, Any] = {"asterisk": {"host": "127.0.0.1", "port": port, "username": "crmkit", "secret": "s"},
                            "generic": {**settings()["telephony"]["generic"],
                                        "originate_url": f"http://127.0.0.1:{port}/originate"}}
    crm = telephony_crm(make_crm, provider=provider, **{provider: opts[provider]})
    client, _ = api_client(crm)
    with caplog.at_level(logging.WARNING, logger="crmkit_telephony"):
        r = client.post(CALL, json={"to": CUSTOMER}, headers=token_for(crm, user(crm, ANNA)))
    assert r.status_code == 502, r.text
    assert r.json() == {"error": {"code": "provider_unavailable", "message": "the telephony provider is unreachable"}}
    assert "Errno" not in r.text and "refused" not in r.text and str(port) not in r.text
    assert any("unreachable" in rec.getMessage() and str(port) in rec.getMessage() for rec in caplog.records)
