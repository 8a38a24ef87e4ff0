"""Campaigns: a segment (filters over contacts and custom fields) x a template x a schedule; the
ready birthday greeting; results per campaign."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from crmkit import Crm, FrozenClock, ValidationError, Worker
from crmkit.testing import template as toml_template
from messages_support import contact, messages_settings


def _crm(make_crm: Any, smtp: Any) -> Crm:
    fields = {**toml_template()["custom_fields"], "contact": {
        "club_level": {"type": "choice", "choices": ["silver", "gold"], "label": "Club level"}}}
    return make_crm(settings={"messages": messages_settings(smtp[1])}, custom_fields=fields)


def test_a_campaign_reaches_its_segment_once_and_reports_results(make_crm: Any, smtp: Any,
                                                                   clock: FrozenClock) -> None:
    crm = _crm(make_crm, smtp)
    crm.messages.templates.save("spring", "Dear {{ contact.first_name }}, spring offer for {{ contact.custom.club_level }}.",
                                subject="Spring offer")
    gold = [contact(crm, first_name=f"Gold{i}", emails=[f"g{i}@x.example"], custom={"club_level": "gold"})
            for i in range(3)]
    contact(crm, first_name="Silver", emails=["s@x.example"], custom={"club_level": "silver"})
    crm.messages.opt_out(gold[2].id, "email")
    start = clock.now() + timedelta(hours=1)
    campaign = crm.messages.campaigns.create("Spring", template="spring", segment={"club_level": "gold"},
                                             start_at=start)
    assert campaign.status == "scheduled"
    Worker(crm).run_once()
    assert crm.messages.campaigns.get(campaign.id).queued == 0  # not yet
    clock.set(start)
    Worker(crm).run_once()
    clock.advance(seconds=15)
    Worker(crm).run_once()
    assert sorted(m["To"] for _, m in smtp[0].messages) == ["g0@x.example", "g1@x.example"]
    assert "Dear Gold0, spring offer for gold." in smtp[0].messages[0][1].get_content() or \
        "Dear Gold1, spring offer for gold." in smtp[0].messages[0][1].get_content()
    assert all(m["List-Unsubscribe"] for _, m in smtp[0].messages)
    assert crm.messages.campaigns.queue(campaign.id) == 0  # never twice

    clock.advance(days=2)
    crm.deals.create(title="Gold0 buys", contact_id=gold[0].id)
    crm.messages.opt_out(gold[1].id, "email", source="unsubscribe link")
    crm.messages.inbound.receive_email(_reply("g1@x.example"))
    r = crm.messages.campaigns.results(campaign.id, days=30)
    assert (r.queued, r.sent, r.suppressed, r.failed, r.converted, r.opted_out, r.replied) == (3, 2, 1, 0, 1, 1, 1)
    assert crm.messages.campaigns.results(campaign.id, days=1).converted == 0


def _reply(sender: str) -> bytes:
    return (f"From: {sender}\r\nTo: crm@windows.example\r\nSubject: Re: Spring offer\r\n"
            f"Message-ID: <r1@x.example>\r\n\r\nNot now, thanks.\r\n").encode()


def test_the_birthday_greeting_goes_each_year_on_the_day(make_crm: Any, smtp: Any, clock: FrozenClock) -> None:
    crm = _crm(make_crm, smtp)
    crm.messages.templates.save("birthday", "Happy birthday, {{ contact.first_name }}!", subject="Happy birthday")
    clock.set(datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc))
    ann = contact(crm, first_name="Ann", emails=["ann@x.example"], birthday=date(1990, 3, 2))
    contact(crm, first_name="Bob", emails=["bob@x.example"], birthday=date(1985, 7, 1))
    contact(crm, first_name="Leap", emails=["leap@x.example"], birthday=date(2000, 2, 29))
    crm.messages.campaigns.create("Birthdays", template="birthday", schedule="birthday")
    for _ in range(3):  # 1, 2 and 3 March
        Worker(crm).run_once()
        clock.advance(minutes=5)
        Worker(crm).run_once()
        clock.advance(hours=12)
        Worker(crm).run_once()
        clock.advance(hours=11, minutes=55)
    assert [m["To"] for _, m in smtp[0].messages] == ["ann@x.example"]
    assert crm.messages.list(contact_id=ann.id).items[0].idempotency_key.endswith(f":2026:{ann.id}")


def test_a_bad_segment_or_template_is_refused(mcrm: Any) -> None:
    crm = mcrm()
    crm.messages.templates.save("t", "x")
    with pytest.raises(ValidationError) as err:
        crm.messages.campaigns.create("X", template="t", segment={"shoe_size": 42})
    assert err.value.field == "shoe_size"
    with pytest.raises(ValidationError) as err:
        crm.messages.campaigns.create("X", template="t", schedule="hourly")
    assert err.value.field == "schedule"
    assert crm.messages.campaigns.list() == []
