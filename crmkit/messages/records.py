"""The public shapes of messaging: what a channel gets and returns, what the outbox records."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping, Protocol, runtime_checkable

import attrs

from crmkit import CrmError

STATUSES = ("queued", "sending", "sent", "delivered", "failed", "bounced", "suppressed", "cancelled")
"""A message's delivery states. ``sending``: claimed by a worker; ``suppressed``: refused by consent or
a frequency cap; ``cancelled``: withdrawn before it left (``MessageService.cancel``)."""
FINAL = frozenset({"sent", "delivered", "failed", "bounced", "suppressed", "cancelled"})
KINDS = ("email", "phone", "telegram")
"""What a channel sends to: an e-mail address, an E.164 phone number, a messenger chat id."""
PURPOSES = ("transactional", "marketing")


@attrs.frozen
class OutgoingMessage:
    """One message as a channel sends it (built by the outbox from its row)."""

    id: int
    idempotency_key: str
    """Stable for the message's whole life: pass it to providers that de-duplicate."""
    channel: str
    kind: str
    purpose: str
    to: str
    subject: str
    body: str
    html: str | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    contact_id: int | None = None
    attempt: int = 1


@attrs.frozen
class SendResult:
    """What a channel reports back: the provider's id of the message, and ``sent`` or ``delivered``."""

    provider_id: str | None = None
    status: str = "sent"


class DeliveryError(CrmError):
    """A channel could not send. ``permanent``: retrying cannot help (an address refused: the
    message becomes ``failed``, or ``bounced`` with ``bounce=True``); otherwise it is retried."""

    code = "delivery_failed"
    status = 502

    def __init__(self, message: str, *, permanent: bool = False, bounce: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent or bounce
        self.bounce = bounce


@runtime_checkable
class Channel(Protocol):
    """A message channel, registered with ``crm_register_channels``.

    ``name`` is unique in the deployment (``email``, ``sms``, ``twilio``); ``kind`` is what it
    sends to (one of :data:`KINDS`). ``send`` is called by the worker outside any transaction and
    returns a :class:`SendResult` or raises :class:`DeliveryError` (any other exception counts as
    a temporary failure). ``supports_idempotency``: the provider de-duplicates on
    ``message.idempotency_key``, so a retry after a crash never reaches the person twice.
    """

    name: str
    kind: str
    supports_idempotency: bool

    def send(self, message: OutgoingMessage) -> SendResult: ...


@attrs.frozen
class Message:
    """An outbox row, as the services return it."""

    id: int
    idempotency_key: str
    channel: str
    kind: str
    purpose: str
    contact_id: int | None
    user_id: int | None
    to_address: str
    subject: str
    body: str
    html: str | None
    status: str
    attempts: int
    next_attempt_at: datetime
    provider_id: str | None
    last_error: str | None
    group_key: str | None
    campaign_id: int | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    headers: Mapping[str, Any] = attrs.field(factory=dict)

    @classmethod
    def from_row(cls, row: Any) -> "Message":
        m = row._mapping
        return cls(**{f.name: m[f.name] for f in attrs.fields(cls)})
