"""``crm.messages``: the one object plugins and interfaces use to talk to people."""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from sqlalchemy import select

from crmkit import Page, ValidationError, check_id

from . import channels as _channels
from .consent import set_consent, unsubscribe_url
from .delivery import DeliveryReport, deliver_due, retry_now
from .outbox import Outbox
from .records import KINDS, Channel, Message
from .tables import consent

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm

    from .campaigns import CampaignService
    from .notifications import NotificationService
    from .inbound import InboundService
    from .templates import TemplateService
    from .webhooks import WebhookService


class MessageService:
    """Messages of one deployment, acting as ``actor_id`` (``crm.messages`` acts as the system;
    ``crm.messages.as_user(id)`` as a user, under their record rules for the contacts they name)."""

    def __init__(self, crm: "Crm", actor_id: int | None = None) -> None:
        self.crm = crm
        self.actor_id = actor_id
        self._outbox = Outbox(crm, actor_id)

    def as_user(self, actor_id: int | None) -> "MessageService":
        return MessageService(self.crm, actor_id)

    @property
    def channels(self) -> Mapping[str, Channel]:
        """The deployment's channels by name (``crm_register_channels``)."""
        return _channels.channels(self.crm)

    # -- the outbox -----------------------------------------------------------------------

    def send(self, *, to: str | None = None, contact_id: int | None = None, user_id: int | None = None,
             channel: str | None = None, subject: str = "", body: str | None = None, html: str | None = None,
             template: str | None = None, context: Mapping[str, Any] | None = None, language: str | None = None,
             purpose: str = "transactional", idempotency_key: str | None = None, group: str | None = None,
             send_at: datetime | None = None, headers: Mapping[str, str] | None = None) -> Message:
        """Queue a message (docs/messages.md, "Sending"). It joins a transaction open in this thread."""
        return self._outbox.send(
            to=to, contact_id=contact_id, user_id=user_id, channel=channel, subject=subject, body=body, html=html,
            template=template, context=context, language=language, purpose=purpose,
            idempotency_key=idempotency_key, group=group, send_at=send_at, headers=headers)

    def get(self, message_id: int) -> Message:
        return self._outbox.get(message_id)

    def list(self, *, status: str | None = None, contact_id: int | None = None, campaign_id: int | None = None,
             group: str | None = None, limit: int = 50, cursor: str | None = None) -> Page[Message]:
        return self._outbox.list(status=status, contact_id=contact_id, campaign_id=campaign_id, group=group,
                                 limit=limit, cursor=cursor)

    def cancel(self, *, ids: Iterable[int] = (), group: str | None = None) -> int:
        """Withdraw queued messages by id or group (e.g. reminders of a plan that got paid)."""
        return self._outbox.cancel(ids=ids, group=group)

    def report(self, channel: str, provider_id: str, status: str, error: str | None = None) -> Message | None:
        """Record a provider's delivery report (``delivered``, ``failed``, ``bounced``)."""
        return self._outbox.report(channel, provider_id, status, error)

    def deliver(self, *, limit: int = 200) -> DeliveryReport:
        """Send the due messages now (the worker does this every pass)."""
        return deliver_due(self.crm, limit=limit)

    def retry(self, ids: Iterable[int] = ()) -> int:
        """Put failed messages (``ids``, or all) up for sending again now."""
        return retry_now(self.crm, [check_id(i, "ids") for i in ids] or None)

    # -- consent --------------------------------------------------------------------------

    def opt_in(self, contact_id: int, kind: str, *, source: str = "manual") -> bool:
        return self._consent(contact_id, kind, "in", source)

    def opt_out(self, contact_id: int, kind: str, *, source: str = "manual") -> bool:
        """Stop marketing messages of ``kind`` to the contact; True if it changed."""
        return self._consent(contact_id, kind, "out", source)

    def consent_of(self, contact_id: int) -> dict[str, str]:
        """``{kind: "in" | "out"}`` of one contact (kinds never asked are absent)."""
        self.crm.as_user(self.actor_id).contacts.get(check_id(contact_id, "contact_id"))
        with self.crm.engine.connect() as conn:
            rows = conn.execute(select(consent.c.kind, consent.c.status).where(consent.c.contact_id == contact_id))
            return {r.kind: r.status for r in rows}

    def _consent(self, contact_id: int, kind: str, status: str, source: str) -> bool:
        if kind not in KINDS:
            raise ValidationError(f"kind: one of {', '.join(KINDS)}", field="kind")
        contact_id = check_id(contact_id, "contact_id")
        with self.crm.transaction(self.actor_id) as tx:
            self.crm.as_user(self.actor_id).contacts.get(contact_id)
            changed = set_consent(tx.conn, contact_id, kind, status, str(source)[:100], tx.now)
            if changed:
                tx.emit(f"message.opted_{status}", "contact", contact_id, data={"kind": kind, "source": source})
            return changed

    def unsubscribe_url(self, contact_id: int, kind: str = "email") -> str:
        """The signed one-click unsubscribe link of a contact."""
        return unsubscribe_url(self.crm, check_id(contact_id, "contact_id"), kind)

    # -- the rest -------------------------------------------------------------------------

    @cached_property
    def templates(self) -> "TemplateService":
        from .templates import TemplateService

        return TemplateService(self.crm, self.actor_id)

    @cached_property
    def webhooks(self) -> "WebhookService":
        from .webhooks import WebhookService

        return WebhookService(self.crm)

    @cached_property
    def campaigns(self) -> "CampaignService":
        from .campaigns import CampaignService

        return CampaignService(self.crm, self.actor_id)

    def notifications(self, user_id: int) -> "NotificationService":
        """A user's in-app notifications (their reminders and digests; crmkit/messages/notifications.py)."""
        from .notifications import NotificationService

        return NotificationService(self.crm, user_id)

    @cached_property
    def inbound(self) -> "InboundService":
        from .inbound import InboundService

        return InboundService(self.crm)
