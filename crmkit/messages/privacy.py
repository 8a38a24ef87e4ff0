"""A person's messages in their personal-data export; erased with them.

The messages to and from the person (by contact, lead, or their addresses: e-mails and phones, now
and before) keep their business facts -- channel, purpose, status, times, campaign -- and lose what
identifies them: the address becomes ``[erased]``, subject, text and HTML are scrubbed of every
mention of the person, the headers (the unsubscribe link names the contact) are cleared. Their
consent rows stay: "do not contact" outlives the erasure.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update

from crmkit import Tx, hookimpl, to_dict

from .records import Message
from .tables import consent, inbound, messages

ERASED = "[erased]"
_LINK = re.compile(r"\S*/messages/unsubscribe\?[^\s\"'<>]*")


def _scrub(subject: Any, value: str | None) -> str | None:
    """Mentions of the person and the unsubscribe link (it names the contact) erased."""
    return None if value is None else _LINK.sub(ERASED, subject.scrub(value))


def _outbox(subject: Any) -> ColumnElement[bool]:
    m = messages.c
    return or_(m.contact_id == subject.contact_id, m.to_address.in_(list(subject.emails) + list(subject.phones)))


def _inbox(subject: Any) -> ColumnElement[bool]:
    i = inbound.c
    return or_(i.contact_id == subject.contact_id, i.lead_id.in_(subject.lead_ids),
               i.from_address.in_(list(subject.emails) + list(subject.phones)))


@hookimpl(trylast=True)
def crm_personal_data_export(tx: Tx, subject: Any) -> dict[str, Any] | None:
    sent = [to_dict(Message.from_row(r)) for r in tx.conn.execute(
        select(messages).where(_outbox(subject)).order_by(messages.c.id))]
    received = [dict(r._mapping) for r in tx.conn.execute(
        select(inbound).where(_inbox(subject)).order_by(inbound.c.id))]
    for r in received:
        r["received_at"] = r["received_at"].isoformat()
    agreed = {r.kind: r.status for r in tx.conn.execute(
        select(consent.c.kind, consent.c.status).where(consent.c.contact_id == subject.contact_id))}
    if not (sent or received or agreed):
        return None  # nothing of theirs here: no empty section in the export
    return {"messages": {"sent": sent, "received": received, "consent": agreed}}


@hookimpl(trylast=True)
def crm_personal_data_erase(tx: Tx, subject: Any) -> dict[str, int]:
    changed = {messages.name: 0, inbound.name: 0}
    for row in tx.conn.execute(select(messages).where(_outbox(subject))).all():
        tx.conn.execute(update(messages).where(messages.c.id == row.id).values(
            to_address=ERASED, subject=subject.scrub(row.subject)[:300], body=_scrub(subject, row.body),
            html=_scrub(subject, row.html), headers={}))
        changed[messages.name] += 1
    for row in tx.conn.execute(select(inbound).where(_inbox(subject))).all():
        tx.conn.execute(update(inbound).where(inbound.c.id == row.id).values(
            from_address=ERASED, subject=subject.scrub(row.subject)[:300], body=subject.scrub(row.body)))
        changed[inbound.name] += 1
    return changed
