"""Inbound: e-mail through the inbound SMTP listener on loopback (a reply threads onto the contact,
an unknown sender becomes a lead, a message is never taken twice), SMS replies and Telegram updates."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any, Callable, Iterator

import pytest

from crmkit import Crm
from crmkit.messages.inbound_smtp import start_listener
from messages_support import contact, free_port


@pytest.fixture
def listening(mcrm: Callable[..., Crm]) -> Iterator[tuple[Crm, int]]:
    crm = mcrm()
    port = free_port()
    controller = start_listener(crm, "127.0.0.1", port)
    try:
        yield crm, port
    finally:
        controller.stop()


def _mail(sender: str, subject: str, body: str, msg_id: str, reply_to: str | None = None) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"], mail["Message-ID"] = sender, "crm@windows.example", subject, msg_id
    if reply_to:
        mail["In-Reply-To"] = reply_to
        mail["References"] = reply_to
    mail.set_content(body)
    return mail


def _deliver(port: int, mail: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(mail)


def test_a_reply_threads_onto_the_contact_and_a_stranger_becomes_a_lead(listening: tuple[Crm, int]) -> None:
    crm, port = listening
    jane = contact(crm, emails=["jane.other@mail.example"])
    sent = crm.messages.send(contact_id=jane.id, subject="Proposal", body="Here it is")
    crm.messages.deliver()
    our_id = crm.messages.get(sent.id).provider_id
    assert our_id

    # she answers from another address: the In-Reply-To finds her through our message
    _deliver(port, _mail("Jane <jane@work.example>", "Re: Proposal", "Looks good.", "<a1@work.example>", our_id))
    _deliver(port, _mail("Jane <jane@work.example>", "Re: Re: Proposal", "One more thing.", "<a2@work.example>",
                         "<a1@work.example>"))
    received = [e for e in crm.timeline.of("contact", jane.id, limit=100).items if e.type == "message.received"]
    assert [(e.data["subject"], e.data["body"].strip()) for e in received] == [
        ("Re: Proposal", "Looks good."), ("Re: Re: Proposal", "One more thing.")]
    assert received[1].data["thread_id"] == received[0].data["inbound_id"]

    # an unknown sender: a new lead with the message on it
    _deliver(port, _mail("Bob Stranger <bob@new.example>", "Windows for my house", "Please call me.", "<b1@new.example>"))
    leads = crm.leads.list(source="email").items
    assert [(lead.title, lead.name, lead.email) for lead in leads] == [
        ("Windows for my house", "Bob Stranger", "bob@new.example")]
    assert [e.type for e in crm.timeline.of("lead", leads[0].id).items if e.type.startswith("message.")] == [
        "message.received"]

    # the same message again (a sender's retry): taken once
    _deliver(port, _mail("Bob Stranger <bob@new.example>", "Windows for my house", "Please call me.", "<b1@new.example>"))
    assert len(crm.leads.list(source="email").items) == 1
    again = crm.messages.inbound.receive_email(bytes(_mail("Bob <bob@new.example>", "x", "y", "<b1@new.example>")))
    assert again.duplicate and again.lead_id == leads[0].id


def test_a_message_without_a_sender_is_refused_for_good(listening: tuple[Crm, int]) -> None:
    _, port = listening
    mail = EmailMessage()
    mail["Subject"] = "no sender"
    mail.set_content("x")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPDataError) as err:
            client.sendmail("x@y.example", ["crm@windows.example"], mail.as_bytes())
    assert err.value.smtp_code == 550


def test_sms_replies_and_telegram_messages(mcrm: Callable[..., Crm]) -> None:
    crm = mcrm()
    jane = contact(crm)
    got = crm.messages.inbound.receive_sms("(202) 555-0188", "Yes, Monday works", "gw-77")
    assert got.contact_id == jane.id and not got.duplicate
    assert crm.messages.inbound.receive_sms("+12025550188", "Yes, Monday works", "gw-77").duplicate
    stranger = crm.messages.inbound.receive_sms("+12025550199", "Price for 3 windows?", "gw-78")
    assert stranger.lead_id is not None and crm.leads.get(stranger.lead_id).phone == "+12025550199"

    update: dict[str, Any] = {"update_id": 1001, "message": {"message_id": 5, "chat": {"id": 777, "type": "private"},
                                                             "from": {"id": 777, "first_name": "Tom"}, "text": "Hi!"}}
    first = crm.messages.inbound.receive_telegram(update)
    assert first is not None and first.lead_id is not None and crm.leads.get(first.lead_id).name == "Tom"
    assert crm.messages.inbound.receive_telegram(update).duplicate  # type: ignore[union-attr]
    update = {**update, "update_id": 1002, "message": {**update["message"], "text": "Are you there?"}}
    second = crm.messages.inbound.receive_telegram(update)
    assert second is not None and second.lead_id == first.lead_id  # the same stranger: the same lead
    assert [e.data["body"] for e in crm.timeline.of("lead", first.lead_id).items if e.type == "message.received"] == [
        "Hi!", "Are you there?"]
    assert crm.messages.inbound.receive_telegram({"update_id": 1003, "edited_message": {}}) is None
