"""Consent, quiet hours and frequency caps, with an injected clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

import pytest

from crmkit import Crm, FrozenClock, ValidationError
from crmkit.messages.consent import check_unsubscribe
from crmkit.testing import template
from messages_support import contact, timeline_types


def test_an_opted_out_contact_gets_no_marketing_but_still_transactional(mcrm: Callable[..., Crm], smtp: Any) -> None:
    crm = mcrm()
    jane = contact(crm)
    assert crm.messages.opt_out(jane.id, "email", source="phone call") is True
    assert crm.messages.opt_out(jane.id, "email") is False  # no change
    assert crm.messages.consent_of(jane.id) == {"email": "out"}
    promo = crm.messages.send(contact_id=jane.id, body="20% off", purpose="marketing")
    receipt = crm.messages.send(contact_id=jane.id, body="Payment received")
    assert promo.status == "suppressed" and receipt.status == "queued"
    crm.messages.deliver()
    assert [m["To"] for _, m in smtp[0].messages] == ["jane@smith.example"]
    assert smtp[0].messages[0][1].get_payload(decode=True).decode().strip() == "Payment received"
    assert timeline_types(crm, jane.id) == ["message.opted_out", "message.suppressed", "message.queued",
                                           "message.sent"]


def test_an_opt_out_after_queueing_stops_the_queued_marketing_message(mcrm: Callable[..., Crm], smtp: Any) -> None:
    crm = mcrm()
    jane = contact(crm)
    promo = crm.messages.send(contact_id=jane.id, body="20% off", purpose="marketing")
    crm.messages.opt_out(jane.id, "email")
    assert crm.messages.deliver().suppressed == 1
    assert crm.messages.get(promo.id).status == "suppressed" and smtp[0].messages == []
    crm.messages.opt_in(jane.id, "email")
    assert crm.messages.send(contact_id=jane.id, body="again", purpose="marketing").status == "queued"


def test_marketing_e_mail_carries_a_signed_one_click_unsubscribe(mcrm: Callable[..., Crm], smtp: Any) -> None:
    crm = mcrm()
    jane = contact(crm)
    crm.messages.send(contact_id=jane.id, subject="Offer", body="20% off", purpose="marketing")
    crm.messages.deliver()
    _, mail = smtp[0].messages[0]
    link = mail["List-Unsubscribe"].strip("<>")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"  # RFC 8058
    assert link.startswith("https://crm.windows.example/api/v1/messages/unsubscribe?")
    assert link in mail.get_payload(decode=True).decode()
    q = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
    assert check_unsubscribe(crm, q["c"], q["k"], q["s"]) == (jane.id, "email")
    with pytest.raises(ValidationError):
        check_unsubscribe(crm, str(jane.id + 1), q["k"], q["s"])  # another contact: not signed
    with pytest.raises(ValidationError):
        check_unsubscribe(crm, q["c"], "phone", q["s"])


def test_quiet_hours_hold_messages_until_they_end_in_the_contacts_zone(
        make_crm: Any, smtp: Any, clock: FrozenClock) -> None:
    from messages_support import messages_settings

    crm = make_crm(settings={"messages": messages_settings(smtp[1], quiet_hours="21:00-08:00",
                                                         timezone="Europe/Berlin")},
                   custom_fields={**template()["custom_fields"], "contact": {
                       "timezone": {"type": "text", "label": "Time zone"}}})
    berlin = contact(crm)
    tokyo = contact(crm, emails=["ken@tokyo.example"], custom={"timezone": "Asia/Tokyo"})
    clock.set(datetime(2026, 3, 2, 22, 30, tzinfo=timezone.utc))  # 23:30 in Berlin, 07:30 next day in Tokyo
    a = crm.messages.send(contact_id=berlin.id, body="late")
    b = crm.messages.send(contact_id=tokyo.id, body="early")
    report = crm.messages.deliver()
    assert report.deferred == 2 and smtp[0].messages == []
    assert crm.messages.get(a.id).next_attempt_at == datetime(2026, 3, 3, 7, 0, tzinfo=timezone.utc)  # 08:00 CET
    assert crm.messages.get(b.id).next_attempt_at == datetime(2026, 3, 2, 23, 0, tzinfo=timezone.utc)  # 08:00 JST
    clock.set(datetime(2026, 3, 2, 23, 0, tzinfo=timezone.utc))
    assert crm.messages.deliver().sent == 1
    assert [m["To"] for _, m in smtp[0].messages] == ["ken@tokyo.example"]
    clock.set(datetime(2026, 3, 3, 7, 0, tzinfo=timezone.utc))
    assert crm.messages.deliver().sent == 1
    assert crm.messages.get(a.id).status == "sent"


def test_a_frequency_cap_suppresses_marketing_beyond_it(make_crm: Any, smtp: Any, clock: FrozenClock) -> None:
    from messages_support import messages_settings

    crm = make_crm(settings={"messages": messages_settings(smtp[1], marketing_cap=2, cap_days=7)})
    jane = contact(crm)
    ids = [crm.messages.send(contact_id=jane.id, body=f"offer {i}", purpose="marketing").id for i in range(3)]
    receipt = crm.messages.send(contact_id=jane.id, body="receipt")  # transactional: no cap
    report = crm.messages.deliver()
    assert (report.sent, report.suppressed) == (3, 1)
    assert [crm.messages.get(i).status for i in ids] == ["sent", "sent", "suppressed"]
    assert crm.messages.get(ids[2]).last_error == "frequency cap"
    assert crm.messages.get(receipt.id).status == "sent"
    clock.advance(timedelta(days=7, seconds=1))
    later = crm.messages.send(contact_id=jane.id, body="next week", purpose="marketing")
    crm.messages.deliver()
    assert crm.messages.get(later.id).status == "sent"


def test_consent_input_is_checked(mcrm: Callable[..., Crm]) -> None:
    crm = mcrm()
    jane = contact(crm)
    with pytest.raises(ValidationError) as err:
        crm.messages.opt_out(jane.id, "fax")
    assert err.value.field == "kind"
