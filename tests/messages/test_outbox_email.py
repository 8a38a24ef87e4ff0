"""E-mail through the outbox to a real SMTP server on loopback (aiosmtpd): headers, content,
statuses on the contact's timeline, retries with backoff, a refusing or dead server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable

import pytest

from crmkit import Crm, FrozenClock, ValidationError, Worker
from crmkit.messages.smtp import message_id

from messages_support import Mailbox, contact, timeline_types


def test_a_message_is_queued_in_the_transaction_and_sent_by_the_worker(mcrm: Callable[..., Crm], smtp: Any) -> None:
    box, _ = smtp
    crm = mcrm()
    jane = contact(crm)
    msg = crm.messages.send(contact_id=jane.id, subject="Your measurement", body="We come on Monday at 10.")
    assert (msg.status, msg.channel, msg.kind, msg.to_address) == ("queued", "email", "email", "jane@smith.example")
    assert box.messages == []  # nothing leaves inside the command

    report = Worker(crm).run_once()
    assert "core.messages" in report.ran
    assert len(box.messages) == 1
    envelope, mail = box.messages[0]
    assert envelope.rcpt_tos == ["jane@smith.example"]
    assert mail["From"] == "Windows Ltd <crm@windows.example>" and mail["To"] == "jane@smith.example"
    assert mail["Subject"] == "Your measurement"
    assert mail["Message-ID"] == message_id(msg.idempotency_key, "crm@windows.example")
    assert mail.get_payload(decode=True).decode().strip() == "We come on Monday at 10."
    sent = crm.messages.get(msg.id)
    assert (sent.status, sent.attempts, sent.provider_id) == ("sent", 1, mail["Message-ID"])
    assert timeline_types(crm, jane.id) == ["message.queued", "message.sent"]

    assert crm.messages.deliver().sent == 0  # never twice
    assert len(box.messages) == 1


def test_a_rolled_back_command_sends_nothing(mcrm: Callable[..., Crm], smtp: Any) -> None:
    crm = mcrm()
    jane = contact(crm)
    with pytest.raises(RuntimeError):
        with crm.transaction(None):
            crm.messages.send(contact_id=jane.id, subject="x", body="never")
            raise RuntimeError("the command failed")
    assert crm.messages.list().items == []
    crm.messages.deliver()
    assert smtp[0].messages == []


def test_html_alternative_and_user_recipient(mcrm: Callable[..., Crm], smtp: Any) -> None:
    crm = mcrm()
    alice = crm.users.create(email="alice@windows.example", name="Alice")
    crm.messages.send(user_id=alice.id, subject="Digest", body="plain", html="<p>rich</p>")
    crm.messages.deliver()
    _, mail = smtp[0].messages[0]
    assert mail["To"] == "alice@windows.example" and mail.is_multipart()
    parts = {p.get_content_type(): p.get_payload(decode=True).decode().strip() for p in mail.walk()
             if not p.is_multipart()}
    assert parts == {"text/plain": "plain", "text/html": "<p>rich</p>"}


def test_the_same_idempotency_key_queues_once(mcrm: Callable[..., Crm], smtp: Any) -> None:
    crm = mcrm()
    jane = contact(crm)
    first = crm.messages.send(contact_id=jane.id, body="once", idempotency_key="reminder:42")
    again = crm.messages.send(contact_id=jane.id, body="once more", idempotency_key="reminder:42")
    assert again.id == first.id and again.body == "once"
    crm.messages.deliver()
    assert len(smtp[0].messages) == 1


def test_a_temporary_refusal_is_retried_with_backoff_then_sent(mcrm: Callable[..., Crm], smtp: Any,
                                                                clock: FrozenClock) -> None:
    box: Mailbox = smtp[0]
    crm = mcrm()
    jane = contact(crm)
    msg = crm.messages.send(contact_id=jane.id, body="hello")
    box.refuse = "temporary"
    assert crm.messages.deliver().retrying == 1
    row = crm.messages.get(msg.id)
    assert (row.status, row.attempts) == ("queued", 1) and "451" in (row.last_error or "")
    assert row.next_attempt_at == clock.now() + timedelta(seconds=60)
    assert crm.messages.deliver().retrying == 0  # not due yet
    clock.advance(seconds=60)
    crm.messages.deliver()
    row = crm.messages.get(msg.id)
    assert row.next_attempt_at == clock.now() + timedelta(seconds=120)  # doubled
    box.refuse = None
    clock.advance(seconds=120)
    assert crm.messages.deliver().sent == 1
    assert crm.messages.get(msg.id).status == "sent" and crm.messages.get(msg.id).attempts == 3
    assert len(box.messages) == 1


def test_a_refused_address_bounces_at_once(mcrm: Callable[..., Crm], smtp: Any) -> None:
    crm = mcrm()
    jane = contact(crm)
    msg = crm.messages.send(contact_id=jane.id, body="hello")
    smtp[0].refuse = "permanent"
    assert crm.messages.deliver().failed == 1
    row = crm.messages.get(msg.id)
    assert row.status == "bounced" and "550" in (row.last_error or "")
    assert timeline_types(crm, jane.id) == ["message.queued", "message.bounced"]


def test_a_dead_server_is_retried_until_max_attempts_then_failed(make_crm: Any, clock: FrozenClock) -> None:
    from messages_support import free_port, messages_settings

    crm = make_crm(settings={"messages": messages_settings(free_port(), max_attempts=3)})  # nobody listens there
    jane = contact(crm)
    msg = crm.messages.send(contact_id=jane.id, body="hello")
    for _ in range(3):
        crm.messages.deliver()
        clock.advance(hours=1)
    row = crm.messages.get(msg.id)
    assert (row.status, row.attempts) == ("failed", 3) and "cannot reach the SMTP server" in (row.last_error or "")
    assert timeline_types(crm, jane.id) == ["message.queued", "message.failed"]
    assert crm.messages.retry([msg.id]) == 1 and crm.messages.get(msg.id).status == "queued"


def test_bad_input_is_refused_naming_the_field(mcrm: Callable[..., Crm]) -> None:
    crm = mcrm()
    jane = contact(crm, emails=[], phones=[])
    cases: list[tuple[dict[str, Any], str]] = [
        ({"contact_id": jane.id, "body": "x"}, "to"),
        ({"to": "not an address@", "body": "x"}, "to"),
        ({"to": "a@b.example"}, "body"),
        ({"to": "a@b.example", "body": "x", "channel": "pigeon"}, "channel"),
        ({"to": "a@b.example", "body": "x", "purpose": "spam"}, "purpose"),
    ]
    for kwargs, field in cases:
        with pytest.raises(ValidationError) as err:
            crm.messages.send(**kwargs)
        assert err.value.field == field, kwargs
    assert crm.messages.list().items == []


def test_smtp_auth_is_used(make_crm: Any) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from messages_support import free_port

    box = Mailbox()

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        return AuthResult(success=(data.login, data.password) == (b"crm@windows.example", b"right"))

    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    try:
        crm = make_crm(settings={"messages": {"email": {
            "host": "127.0.0.1", "port": port, "security": "none", "from": "crm@windows.example",
            "username": "crm@windows.example", "password": "right"}}})
        msg = crm.messages.send(to="jane@smith.example", body="hello")
        crm.messages.deliver()
        row = crm.messages.get(msg.id)
        assert row.status == "sent", row.last_error
        assert len(box.messages) == 1  # the authenticator admitted only these credentials
    finally:
        controller.stop()
