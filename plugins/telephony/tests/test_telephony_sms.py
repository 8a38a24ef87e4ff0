"""Twilio SMS as the message channel ``twilio`` (against a Twilio-shaped HTTP receiver on loopback)
and the missed-call SMS option: a missed inbound call texts the caller once."""

from __future__ import annotations

import base64
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import parse_qsl

import pytest
from telephony_helpers import CUSTOMER, MakeCrm, inbound, settings

from crmkit import ConfigError, Crm, FrozenClock


class _Twilio:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 201
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        box = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                box.requests.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                     "form": dict(parse_qsl(raw.decode()))})
                ok = box.status < 400
                answer = {"sid": f"SM{len(box.requests)}", "status": "queued"} if ok else \
                    {"code": 21211, "message": "The 'To' number is not a valid phone number."}
                data = json.dumps(answer).encode()
                self.send_response(box.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)


@pytest.fixture
def twilio() -> Iterator[_Twilio]:
    t = _Twilio()
    thread = threading.Thread(target=t.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield t
    finally:
        t.server.shutdown()
        t.server.server_close()


def _crm(make_crm: MakeCrm, twilio: _Twilio, **extra: Any) -> Crm:
    sms = {"account_sid": "AC123", "auth_token": "tok-secret", "from": "+12025550100",
           "api_url": f"http://127.0.0.1:{twilio.port}"}
    crm = make_crm(plugins=["telephony"], settings=settings(sms=sms, **extra))
    for email, name in (("anna@windows.example", "Anna"), ("bob@windows.example", "Bob")):
        crm.users.create(email=email, name=name)
    return crm


def test_the_twilio_channel_posts_to_the_messages_api(make_crm: MakeCrm, twilio: _Twilio) -> None:
    crm = _crm(make_crm, twilio)
    assert crm.messages.channels["twilio"].kind == "phone"
    msg = crm.messages.send(to="+12025550177", body="Your windows arrive tomorrow.", channel="twilio")
    assert crm.messages.deliver().sent == 1
    (req,) = twilio.requests
    assert req["path"] == "/2010-04-01/Accounts/AC123/Messages.json"
    assert req["auth"] == "Basic " + base64.b64encode(b"AC123:tok-secret").decode()
    assert req["form"] == {"To": "+12025550177", "From": "+12025550100", "Body": "Your windows arrive tomorrow."}
    assert crm.messages.get(msg.id).provider_id == "SM1"

    twilio.status = 400
    bad = crm.messages.send(to="+12025550178", body="x", channel="twilio")
    assert crm.messages.deliver().failed == 1
    assert "21211" in (crm.messages.get(bad.id).last_error or "")


def test_a_missed_call_texts_the_caller_once(make_crm: MakeCrm, twilio: _Twilio, clock: FrozenClock) -> None:
    crm = _crm(make_crm, twilio, missed_call_sms="Sorry we missed your call - we call you back within 15 minutes.")
    inbound(crm, clock, "c1", answer=False)
    inbound(crm, clock, "c2", answer=True)  # answered: no SMS
    crm.dispatcher.deliver_pending()
    crm.messages.deliver()
    assert [(r["form"]["To"], r["form"]["Body"]) for r in twilio.requests] == [
        (CUSTOMER, "Sorry we missed your call - we call you back within 15 minutes.")]
    crm.dispatcher.deliver_pending()
    crm.messages.deliver()
    assert len(twilio.requests) == 1


def test_sms_settings_are_checked(make_crm: MakeCrm) -> None:
    with pytest.raises(ConfigError, match="settings.telephony.sms.auth_token"):
        make_crm(plugins=["telephony"], settings=settings(sms={"account_sid": "AC1", "from": "+1202"}))
    with pytest.raises(ConfigError, match="missed_call_sms"):
        make_crm(plugins=["telephony"], settings=settings(missed_call_sms=""))
