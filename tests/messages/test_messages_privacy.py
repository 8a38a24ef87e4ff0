"""A person's messages in their personal-data export, and gone with their erasure (business facts kept)."""

from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import text

from crmkit import Crm, PrivacyService
from messages_support import contact


def test_export_and_erasure_cover_the_outbox_and_the_inbox(mcrm: Callable[..., Crm]) -> None:
    crm = mcrm()
    ada = crm.users.create(email="ada@windows.example", name="Ada", role="admin")
    jane = contact(crm)
    crm.messages.send(contact_id=jane.id, subject="Offer for Jane Smith", body="Dear Jane Smith, 10% off.",
                      purpose="marketing")
    crm.messages.send(to="jane@smith.example", body="Sent to her address without the contact")
    crm.messages.inbound.receive_sms("+12025550188", "This is Jane Smith, call me", "in-1")
    crm.messages.opt_out(jane.id, "phone")

    doc = PrivacyService(crm, ada.id).export_contact(jane.id)
    mine = doc["plugins"]["messages"]
    assert [m["subject"] for m in mine["sent"]] == ["Offer for Jane Smith", ""]
    assert [r["body"] for r in mine["received"]] == ["This is Jane Smith, call me"]
    assert mine["consent"] == {"phone": "out"}

    PrivacyService(crm, ada.id).erase_contact(jane.id, reason="asked")
    with crm.engine.connect() as conn:
        dump = " ".join(str(v) for table in ("crm_messages", "crm_inbound_messages")
                        for row in conn.execute(text(f"SELECT * FROM {table}")) for v in row)
    for trace in ("Jane", "Smith", "jane@smith.example", "+12025550188", "unsubscribe"):
        assert trace not in dump, trace
    kept: list[Any] = [(m.channel, m.purpose, m.status, m.to_address) for m in crm.messages.list().items]
    assert kept == [("email", "transactional", "queued", "[erased]"), ("email", "marketing", "queued", "[erased]")]
    assert crm.messages.consent_of(jane.id) == {"phone": "out"}  # "do not contact" outlives the erasure
