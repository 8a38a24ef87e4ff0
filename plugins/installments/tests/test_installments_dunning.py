"""Dunning: due-soon and overdue installments become customer reminders through crm.messages (a real
SMTP server on loopback), from a template when there is one, once per event, stopped when paid."""

from __future__ import annotations

import socket
from datetime import timedelta
from email import message_from_bytes, policy
from typing import Any, Iterator

import pytest
from aiosmtpd.controller import Controller

from crmkit import Crm, FrozenClock, Worker
from crmkit_installments.service import Installments

from installments_support import START, MakeCrm, sold, user


class _Inbox:
    def __init__(self) -> None:
        self.mails: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[_Inbox, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box = _Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def _crm(make_crm: MakeCrm, clock: FrozenClock, port: int) -> Crm:
    clock.set(START)
    return make_crm(plugins=["installments"], settings={"messages": {"email": {
        "host": "127.0.0.1", "port": port, "security": "none", "from": "Windows Ltd <billing@windows.example>"}}})


def _run(crm: Crm, clock: FrozenClock, days: int) -> None:
    for _ in range(days):
        clock.advance(days=1)
        Worker(crm).run_once()
        clock.advance(seconds=15)
        Worker(crm).run_once()


def test_reminders_reach_the_customer_and_stop_when_paid(make_crm: MakeCrm, clock: FrozenClock,
                                                          inbox: tuple[_Inbox, int]) -> None:
    box, port = inbox
    crm = _crm(make_crm, clock, port)
    mia = user(crm)
    jane = crm.contacts.create(first_name="Jane", emails=["jane@smith.example"])
    crm.messages.templates.save("installments.overdue", "{{ contact.first_name }}, {{ amount }} is "
                                "{{ days_overdue }} days late on {{ deal.title }}.", subject="Overdue")
    deal, plan = sold(crm, mia.id, amount="300.00", down="0.00", payments=3, start="2026-01-20")
    crm.deals.update(plan.control_deal_id, {"contact_id": jane.id})

    _run(crm, clock, 12)  # 2026-01-17: the first item (01-20) is due soon
    assert [(m["To"], m["Subject"]) for m in box.mails] == [("jane@smith.example", "Payment due on 2026-01-20")]
    assert "100.00 USD" in box.mails[0].get_content()

    _run(crm, clock, 4)  # 2026-01-21: overdue, from the template
    assert [m["Subject"] for m in box.mails][1:] == ["Overdue"]
    assert box.mails[1].get_content().strip() == "Jane, 100.00 USD is 1 days late on Windows for the Smiths."
    _run(crm, clock, 2)
    to_jane = [m["Subject"] for m in box.mails if m["To"] == "jane@smith.example"]
    assert to_jane == ["Payment due on 2026-01-20", "Overdue"]  # each event reminds once
    assert [m["To"] for m in box.mails if m["To"] != "jane@smith.example"] == ["mia@windows.example"]  # her task

    clock.advance(hours=22)  # quiet: a reminder queued for later
    queued = crm.messages.send(contact_id=jane.id, body="stale", group=f"installments.plan:{plan.id}",
                               send_at=clock.now() + timedelta(hours=1))
    Installments(crm, mia.id).record_payment(deal.id, "300.00")
    assert crm.messages.get(queued.id).status == "cancelled"  # the payment withdrew the plan's queued reminders
    _run(crm, clock, 30)
    assert [m["To"] for m in box.mails].count("jane@smith.example") == 2  # paid off: no more reminders


def test_no_channel_no_reminder(make_crm: MakeCrm, clock: FrozenClock) -> None:
    clock.set(START)
    crm = make_crm(plugins=["installments"])
    mia = user(crm)
    jane = crm.contacts.create(first_name="Jane", emails=["jane@smith.example"])
    deal, plan = sold(crm, mia.id, amount="300.00", down="0.00", payments=3, start="2026-01-20")
    crm.deals.update(plan.control_deal_id, {"contact_id": jane.id})
    clock.advance(timedelta(days=16))
    Worker(crm).run_once()
    assert crm.messages.list().items == [] and crm.dispatcher.failures() == []
