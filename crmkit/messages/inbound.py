"""Messages that come in: e-mail, SMS replies, Telegram -- onto a known contact's timeline, or a new lead.

Each is taken once: ``(kind, external id)`` is unique (the e-mail's ``Message-ID``, the gateway's
message id, Telegram's ``update_id``), written in the same transaction as the timeline entry or the
lead, so a redelivered message (a retried SMTP session, a webhook sent twice) changes nothing.

* A known sender (a contact's e-mail, E.164 phone, or a chat id seen before / the contact's custom
  field ``telegram_chat_id``) gets ``message.received`` on the contact's timeline.
* An e-mail replying to one we sent (``In-Reply-To``/``References`` naming its ``Message-ID``), or to
  an earlier inbound one, joins that thread (``thread_id``) and that contact.
* An unknown sender becomes a lead (source ``email`` or ``messenger``; SMS: ``messenger``) with the
  message on its timeline.
"""

from __future__ import annotations

import hashlib
import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any, Mapping

import attrs
from sqlalchemy import Connection, insert, select

from crmkit import ValidationError, events, normalize_email, normalize_phone, schema

from .tables import inbound, messages

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm

_MSGID = re.compile(r"<[^<>\s]{1,290}>")


@attrs.frozen
class Received:
    """What became of an incoming message."""

    id: int
    contact_id: int | None
    lead_id: int | None
    thread_id: int | None
    duplicate: bool = False


class InboundService:
    def __init__(self, crm: "Crm") -> None:
        self.crm = crm

    # -- e-mail ------------------------------------------------------------------------------

    def receive_email(self, raw: bytes) -> Received:
        """Take one RFC 5322 message (as an SMTP listener or IMAP poller got it)."""
        if not isinstance(raw, (bytes, bytearray)) or not raw.strip():
            raise ValidationError("message: an e-mail message (bytes)", field="message")
        mail = message_from_bytes(bytes(raw), policy=policy.default)
        assert isinstance(mail, EmailMessage)
        name, address = parseaddr(str(mail.get("From", "")))
        sender = normalize_email(address, field="from")
        message_id = str(mail.get("Message-ID", "")).strip() or \
            f"<sha256-{hashlib.sha256(bytes(raw)).hexdigest()}@crmkit>"
        parents = _MSGID.findall(f"{mail.get('In-Reply-To', '')} {mail.get('References', '')}")
        subject = str(mail.get("Subject", ""))[:300]
        part = mail.get_body(preferencelist=("plain", "html"))
        body = part.get_content() if part is not None else ""
        return self._take("email", message_id[:300], sender, name, subject, body, parents, "email")

    # -- SMS and messengers ------------------------------------------------------------------

    def receive_sms(self, sender: str, text: str, external_id: str) -> Received:
        """Take one SMS (from the gateway's or Twilio's inbound webhook)."""
        phone = normalize_phone(sender, self.crm.settings.default_region, field="from")
        return self._take("phone", f"sms:{external_id}"[:300], phone, "", "", str(text)[:10_000], [], "messenger")

    def receive_telegram(self, update: Mapping[str, Any]) -> Received | None:
        """Take one Telegram Bot API update (``message`` updates; others are ignored: None)."""
        message = update.get("message") if isinstance(update, Mapping) else None
        update_id = update.get("update_id") if isinstance(update, Mapping) else None
        if not isinstance(message, Mapping) or not isinstance(update_id, int):
            return None
        chat = message.get("chat") or {}
        sender = message.get("from") or {}
        chat_id = chat.get("id") if isinstance(chat, Mapping) else None
        if not isinstance(chat_id, int):
            raise ValidationError("message.chat.id: a Telegram chat id", field="message.chat.id")
        name = " ".join(str(sender.get(k, "")) for k in ("first_name", "last_name") if sender.get(k)) \
            if isinstance(sender, Mapping) else ""
        text = message.get("text") or message.get("caption") or ""
        return self._take("telegram", f"tg:{update_id}", str(chat_id), name[:300], "", str(text)[:10_000], [],
                          "messenger")

    # -- the common part -----------------------------------------------------------------------

    def _take(self, kind: str, external_id: str, sender: str, name: str, subject: str, body: str,
              parents: list[str], source: str) -> Received:
        i = inbound.c
        with self.crm.transaction(None) as tx:
            seen = tx.conn.execute(select(inbound).where(i.kind == kind, i.external_id == external_id)).first()
            if seen is not None:
                return Received(seen.id, seen.contact_id, seen.lead_id, seen.thread_id, duplicate=True)
            thread_id, contact_id = self._thread(tx.conn, parents)
            if contact_id is None:
                contact_id = self._contact(tx.conn, kind, sender)
            lead_id = None
            if contact_id is None:  # a stranger writing again: the lead their first message made, while open
                lead_id = tx.conn.scalar(select(i.lead_id).join(schema.leads, schema.leads.c.id == i.lead_id).where(
                    i.kind == kind, i.from_address == sender, schema.leads.c.status != "rejected",
                    schema.leads.c.contact_id.is_(None)).order_by(i.id.desc()).limit(1))
            if contact_id is None and lead_id is None:
                lead = self.crm.leads.create(
                    title=(f"{subject or body.strip().splitlines()[0] if body.strip() else 'Message'}")[:300]
                    or "Message", name=name[:300], source=source, custom=None,
                    **({"email": sender} if kind == "email" else {"phone": sender} if kind == "phone" else {}))
                lead_id = lead.id
                contact_id = lead.contact_id
            row = {"kind": kind, "external_id": external_id, "thread_id": thread_id,
                   "in_reply_to": parents[-1] if parents else None, "from_address": sender, "contact_id": contact_id,
                   "lead_id": lead_id, "subject": subject, "body": body[:100_000], "received_at": tx.now}
            ident = int(tx.conn.execute(insert(inbound).values(**row)).inserted_primary_key[0])
            entity = ("contact", contact_id) if contact_id is not None else ("lead", lead_id)
            tx.emit(events.MESSAGE_RECEIVED, entity[0], entity[1], data={
                "inbound_id": ident, "kind": kind, "from": sender, "subject": subject, "body": body[:2000],
                "thread_id": thread_id})
            return Received(ident, contact_id, lead_id, thread_id)

    def _thread(self, conn: Connection, parents: list[str]) -> tuple[int | None, int | None]:
        """The thread (first inbound message) and contact of the messages ``parents`` names."""
        if not parents:
            return None, None
        i, m = inbound.c, messages.c
        earlier = conn.execute(select(i.id, i.thread_id, i.contact_id).where(i.kind == "email",
                                                                             i.external_id.in_(parents))
                               .order_by(i.id).limit(1)).first()
        if earlier is not None:
            return earlier.thread_id or earlier.id, earlier.contact_id
        ours = conn.execute(select(m.id, m.contact_id).where(m.kind == "email", m.provider_id.in_(parents))
                            .limit(1)).first()
        return (None, ours.contact_id) if ours is not None else (None, None)

    def _contact(self, conn: Connection, kind: str, sender: str) -> int | None:
        if kind == "email":
            e = schema.contact_emails.c
            return conn.scalar(select(e.contact_id).where(e.email == sender).order_by(e.contact_id).limit(1))
        if kind == "phone":
            p = schema.contact_phones.c
            return conn.scalar(select(p.contact_id).where(p.phone == sender).order_by(p.contact_id).limit(1))
        i = inbound.c
        known = conn.scalar(select(i.contact_id).where(i.kind == "telegram", i.from_address == sender,
                                                       i.contact_id.is_not(None)).order_by(i.id.desc()).limit(1))
        if known is not None:
            return int(known)
        if "telegram_chat_id" in self.crm.custom_fields.fields("contact"):
            found = self.crm.contacts.list({"telegram_chat_id": sender}, limit=1).items
            return found[0].id if found else None
        return None

