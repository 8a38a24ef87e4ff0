"""Queueing messages: ``crm.messages.send(...)`` writes one outbox row in the caller's transaction.

The worker sends it later (:mod:`crmkit.messages.delivery`); nothing leaves inside a transaction,
so a rolled-back command never sends anything, and a committed one never loses its message.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from sqlalchemy import Connection, insert, select, update

from crmkit import (
    NotFoundError, Page, ValidationError, check_id, check_limit, check_text, ensure_utc, id_cursor, normalize_email,
    normalize_phone, schema,
)

from . import channels as _channels
from .consent import opted_out, unsubscribe_url
from .records import PURPOSES, STATUSES, Message
from .tables import messages

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm, Tx

EVENT_PREFIX = "message."


def guess_kind(address: str) -> str:
    return "email" if "@" in address else "phone"


class Outbox:
    """The outbox of one deployment, acting as ``actor_id`` (``None``: the system)."""

    def __init__(self, crm: "Crm", actor_id: int | None = None) -> None:
        self.crm = crm
        self.actor_id = actor_id

    # -- queueing ---------------------------------------------------------------------

    def send(
        self,
        *,
        to: str | None = None,
        contact_id: int | None = None,
        user_id: int | None = None,
        channel: str | None = None,
        subject: str = "",
        body: str | None = None,
        html: str | None = None,
        template: str | None = None,
        context: Mapping[str, Any] | None = None,
        language: str | None = None,
        purpose: str = "transactional",
        idempotency_key: str | None = None,
        group: str | None = None,
        send_at: datetime | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Message:
        """Queue one message; see docs/messages.md. Returns the outbox record (an existing one when
        ``idempotency_key`` was used before: the same key never queues twice)."""
        if purpose not in PURPOSES:
            raise ValidationError(f"purpose: one of {', '.join(PURPOSES)}", field="purpose")
        key = check_text(idempotency_key, "idempotency_key", max_length=200) if idempotency_key else None
        if contact_id is not None:
            contact_id = check_id(contact_id, "contact_id")
        if user_id is not None:
            user_id = check_id(user_id, "user_id")
        with self.crm.transaction(self.actor_id) as tx:
            if key is not None:
                found = tx.conn.execute(select(messages).where(messages.c.idempotency_key == key)).first()
                if found is not None:
                    return Message.from_row(found)
            row = self._row(tx, to=to, contact_id=contact_id, user_id=user_id, channel=channel, subject=subject,
                            body=body, html=html, template=template, context=context, language=language,
                            purpose=purpose, key=key, group=group, send_at=send_at, headers=headers)
            row["id"] = tx.conn.execute(insert(messages).values(**row)).inserted_primary_key[0]
            self._emit(tx, row, "queued" if row["status"] == "queued" else "suppressed")
            return Message.from_row(_Row(row))

    def _row(self, tx: "Tx", *, to: str | None, contact_id: int | None, user_id: int | None, channel: str | None,
             subject: str, body: str | None, html: str | None, template: str | None,
             context: Mapping[str, Any] | None, language: str | None, purpose: str, key: str | None,
             group: str | None, send_at: datetime | None, headers: Mapping[str, str] | None) -> dict[str, Any]:
        conn = tx.conn
        contact = self._contact(conn, contact_id) if contact_id is not None else None
        if channel is not None:
            chosen = _channels.resolve(self.crm, channel)
        else:
            kind = guess_kind(to) if to else "email" if (user_id is not None or contact is None or contact.emails) \
                else "phone"
            chosen = _channels.resolve(self.crm, None, kind)
        kind = chosen.kind
        address = self._address(conn, kind, to, contact, user_id)
        if template is not None:
            from .templates import TemplateService

            rendered = TemplateService(self.crm).render(template, contact_id=contact_id, language=language,
                                                        context=context, conn=conn)
            subject, body, html = rendered.subject, rendered.body, rendered.html
        if body is None or body == "":
            raise ValidationError("body: a message needs a body (or a template)", field="body")
        subject = check_text(subject, "subject", max_length=300) or ""
        body = check_text(body, "body", max_length=100_000, multiline=True)
        extra = {str(k): str(v) for k, v in (headers or {}).items()}
        status = "queued"
        if purpose == "marketing" and contact_id is not None:
            if opted_out(conn, contact_id, kind):
                status = "suppressed"
            if kind == "email":
                link = unsubscribe_url(self.crm, contact_id, kind)
                extra["List-Unsubscribe"] = f"<{link}>"
                extra["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
                body = f"{body}\n\n--\nUnsubscribe: {link}\n"
                if html:
                    html = f'{html}\n<p style="font-size:small"><a href="{link}">Unsubscribe</a></p>'
        now = tx.now
        return {
            "idempotency_key": key or f"msg-{uuid.uuid4().hex}", "channel": chosen.name, "kind": kind,
            "purpose": purpose, "contact_id": contact_id, "user_id": user_id, "to_address": address,
            "subject": subject, "body": body, "html": html, "headers": extra,
            "group_key": check_text(group, "group", max_length=200) if group else None, "campaign_id": None,
            "status": status, "attempts": 0,
            "next_attempt_at": ensure_utc(send_at, field="send_at") if send_at is not None else now,
            "created_at": now, "updated_at": now, "last_error": "opted out" if status == "suppressed" else None,
        }

    def _contact(self, conn: Connection, contact_id: int) -> Any:
        self.crm.as_user(self.actor_id).contacts.get(contact_id)  # NotFound (or invisible) -> 404
        c = schema.contacts.c
        return conn.execute(select(c.id, c.emails, c.phones, c.custom).where(c.id == contact_id)).one()

    def _address(self, conn: Connection, kind: str, to: str | None, contact: Any, user_id: int | None) -> str:
        if to is not None:
            if kind == "email":
                return normalize_email(to, field="to")
            if kind == "phone":
                return normalize_phone(to, self.crm.settings.default_region, field="to")
            return check_text(to, "to", required=True, max_length=254)
        if contact is not None:
            found = (contact.emails if kind == "email" else contact.phones if kind == "phone"
                     else [(contact.custom or {}).get("telegram_chat_id")])
            found = [a for a in found or () if a]
            if not found:
                raise ValidationError(f"to: contact {contact.id} has no {kind} address", field="to")
            return str(found[0])
        if user_id is not None and kind == "email":
            email = conn.scalar(select(schema.users.c.email).where(schema.users.c.id == user_id))
            if email is None:
                raise NotFoundError(f"user {user_id} does not exist")
            return str(email)
        raise ValidationError("to: give an address, a contact_id or a user_id", field="to")

    def _emit(self, tx: "Tx", row: Mapping[str, Any], what: str) -> None:
        emit_status(tx, row, what)

    # -- reading and changing -----------------------------------------------------------

    def get(self, message_id: int) -> Message:
        with self.crm.engine.connect() as conn:
            row = conn.execute(select(messages).where(messages.c.id == check_id(message_id, "id"))).first()
        if row is None:
            raise NotFoundError(f"message {message_id} does not exist")
        return Message.from_row(row)

    def list(self, *, status: str | None = None, contact_id: int | None = None, campaign_id: int | None = None,
             group: str | None = None, limit: int = 50, cursor: str | None = None) -> Page[Message]:
        """Messages, newest first, by status, contact, campaign or group."""
        check_limit(limit)
        m = messages.c
        query = select(messages)
        if status is not None:
            if status not in STATUSES:
                raise ValidationError(f"status: one of {', '.join(STATUSES)}", field="status")
            query = query.where(m.status == status)
        if contact_id is not None:
            query = query.where(m.contact_id == check_id(contact_id, "contact_id"))
        if campaign_id is not None:
            query = query.where(m.campaign_id == check_id(campaign_id, "campaign_id"))
        if group is not None:
            query = query.where(m.group_key == group)
        if cursor:
            query = query.where(m.id < id_cursor(cursor))
        with self.crm.engine.connect() as conn:
            rows = conn.execute(query.order_by(m.id.desc()).limit(limit + 1)).all()
        items = [Message.from_row(r) for r in rows[:limit]]
        return Page(items, str(items[-1].id) if len(rows) > limit else None)

    def cancel(self, *, ids: Iterable[int] = (), group: str | None = None) -> int:
        """Withdraw queued messages (by id, or every one of ``group``); returns how many."""
        m = messages.c
        wanted = [check_id(i, "ids") for i in ids]
        if not wanted and not group:
            raise ValidationError("ids: name the messages (or a group) to cancel", field="ids")
        with self.crm.transaction(self.actor_id) as tx:
            query = select(messages).where(m.status == "queued")
            query = query.where(m.id.in_(wanted)) if wanted else query.where(m.group_key == group)
            rows = tx.conn.execute(query).all()
            if rows:
                tx.conn.execute(update(messages).where(m.id.in_([r.id for r in rows]), m.status == "queued")
                                .values(status="cancelled", updated_at=tx.now))
            for r in rows:
                emit_status(tx, r._mapping, "cancelled")
            return len(rows)

    def report(self, channel: str, provider_id: str, status: str, error: str | None = None) -> Message | None:
        """A provider's delivery report (``delivered``, ``failed`` or ``bounced``) for the message it
        knows as ``provider_id``; None when no such message was sent through ``channel``."""
        if status not in ("delivered", "failed", "bounced"):
            raise ValidationError("status: one of delivered, failed, bounced", field="status")
        m = messages.c
        with self.crm.transaction(None) as tx:
            row = tx.conn.execute(select(messages).where(m.channel == channel, m.provider_id == provider_id)).first()
            if row is None or row.status == status:
                return None if row is None else Message.from_row(row)
            values: dict[str, Any] = {"status": status, "updated_at": tx.now}
            if status == "delivered":
                values["delivered_at"] = tx.now
            else:
                values["last_error"] = (error or status)[:2000]
            tx.conn.execute(update(messages).where(m.id == row.id).values(**values))
            emit_status(tx, {**row._mapping, **values}, status)
            return Message.from_row(tx.conn.execute(select(messages).where(m.id == row.id)).one())


class _Row:
    """A dict looking like a SQLAlchemy row to :meth:`Message.from_row`."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._mapping = {**{c.name: None for c in messages.c}, **values}


def emit_status(tx: "Tx", row: Mapping[str, Any], what: str) -> None:
    """A ``message.<what>`` event on the contact's timeline (or the message's own, without a contact)."""
    entity = ("contact", row["contact_id"]) if row.get("contact_id") else ("message", row["id"])
    data = {"message_id": row["id"], "channel": row["channel"], "to": row["to_address"], "purpose": row["purpose"],
            "subject": row["subject"]}
    for key in ("provider_id", "last_error", "campaign_id", "user_id"):
        if row.get(key) is not None:
            data[key] = row[key]
    tx.emit(EVENT_PREFIX + what, entity[0], entity[1], data=data)


