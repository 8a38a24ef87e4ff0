"""Messages to and from people: channels, the outbox, consent, templates, reminders, campaigns,
outbound webhooks and inbound e-mail/SMS/messenger messages (docs/messages.md).

The public names are re-exported from :mod:`crmkit` (``crmkit.Channel``, ``crmkit.SendResult``, ...);
``crm.messages`` is the deployment's :class:`MessageService`. This package uses only crmkit's
public API, so the core's internals can move without it.
"""

from __future__ import annotations

from .records import Channel, DeliveryError, Message, OutgoingMessage, SendResult
from .service import MessageService

__all__ = ["Channel", "DeliveryError", "Message", "MessageService", "OutgoingMessage", "SendResult"]
