"""Helpers and fixtures of the messaging tests: a real SMTP server (aiosmtpd) and a real HTTP receiver on
loopback, and deployments whose channels point at them."""

from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes, policy
from email.message import Message as MimeMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session

from crmkit import Crm, FrozenClock
from crmkit.testing import MakeCrm

SMS_SECRET = "sms-gateway-secret-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    """What the SMTP server received; ``refuse`` makes it answer 550 (``temporary``: 451) to RCPT."""

    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, MimeMessage]] = []
        self.refuse: str | None = None

    async def handle_RCPT(self, server: Any, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if self.refuse == "permanent":
            return "550 5.1.1 no such user here"
        if self.refuse == "temporary":
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        self.messages.append((envelope, message_from_bytes(envelope.original_content or b"", policy=policy.default)))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


class Receiver:
    """A real HTTP server on loopback recording every request; ``answers`` are (status, JSON) to give in
    turn (the last one repeats)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: list[tuple[int, Any]] = [(200, {"id": "gw-1"})]
        self.on_request: Callable[[dict[str, Any]], None] | None = None
        self.port = free_port()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                seen = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                receiver.requests.append(seen)
                if receiver.on_request is not None:
                    receiver.on_request(seen)
                status, answer = receiver.answers[min(len(receiver.requests) - 1, len(receiver.answers) - 1)]
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def json(self, i: int = -1) -> Any:
        return json.loads(self.requests[i]["body"])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


def messages_settings(smtp_port: int | None = None, sms_url: str | None = None, **extra: Any) -> dict[str, Any]:
    table: dict[str, Any] = {"public_url": "https://crm.windows.example", "retry_seconds": 60, **extra}
    if smtp_port is not None:
        table["email"] = {"host": "127.0.0.1", "port": smtp_port, "security": "none",
                          "from": "Windows Ltd <crm@windows.example>", "timeout": 5}
    if sms_url is not None:
        table["sms"] = {"url": sms_url, "secret": SMS_SECRET, "sender": "WINDOWS", "timeout": 5}
    return table


@pytest.fixture
def mcrm(make_crm: MakeCrm, smtp: tuple[Mailbox, int], receiver: Receiver) -> Callable[..., Crm]:
    """``mcrm(**messages_keys)``: a deployment whose e-mail goes to the test SMTP server and whose SMS
    go to the test receiver at ``/sms``."""

    def make(*, plugins: list[str] | None = None, **extra: Any) -> Crm:
        settings = {"messages": messages_settings(smtp[1], receiver.url + "/sms", **extra)}
        return make_crm(settings=settings, **({"plugins": plugins} if plugins else {}))

    return make


def contact(crm: Crm, **values: Any) -> Any:
    data = {"first_name": "Jane", "last_name": "Smith", "emails": ["jane@smith.example"], "phones": ["+12025550188"],
            **values}
    return crm.contacts.create(**data)


def timeline_types(crm: Crm, contact_id: int) -> list[str]:
    return [e.type for e in crm.timeline.of("contact", contact_id, limit=500).items if e.type.startswith("message.")]


__all__ = ["FrozenClock", "Mailbox", "Receiver", "contact", "messages_settings", "timeline_types"]
