"""The generic HTTP SMS gateway channel: one signed JSON POST per message.

The request (docs/messages.md has it in full)::

    POST <url>
    Content-Type: application/json
    Idempotency-Key: <the message's idempotency key>
    X-Crmkit-Timestamp: <unix seconds>
    X-Crmkit-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>" with the shared secret>

    {"id": "<idempotency key>", "to": "+4915112345678", "from": "<sender>", "text": "..."}

A 2xx answer is success (its JSON ``id``, if any, is the provider's id; ``"status": "delivered"``
marks it delivered); 4xx other than 408/429 is a permanent failure; anything else is retried.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from .config import SmsGatewaySettings
from .records import DeliveryError, OutgoingMessage, SendResult

SIGNATURE = "X-Crmkit-Signature"
TIMESTAMP = "X-Crmkit-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=<hex>``: HMAC-SHA256 of ``timestamp + "." + body``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, now: float | None = None,
           tolerance: int = 300) -> bool:
    """Whether ``signature`` signs ``body`` at ``timestamp``, within ``tolerance`` seconds of ``now``."""
    if not timestamp.isdigit() or abs((now if now is not None else time.time()) - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def post_json(url: str, payload: Any, headers: dict[str, str], timeout: float) -> httpx.Response:
    """POST ``payload`` as JSON; a network failure is a temporary :class:`DeliveryError`."""
    try:
        return httpx.post(url, content=json.dumps(payload).encode(), timeout=timeout,
                          headers={"Content-Type": "application/json", **headers})
    except httpx.HTTPError as exc:
        raise DeliveryError(f"cannot reach {url}: {exc.__class__.__name__}: {exc}") from None


def raise_for(response: httpx.Response, what: str) -> None:
    """A non-2xx answer as a :class:`DeliveryError` (permanent for a 4xx other than 408 and 429)."""
    if 200 <= response.status_code < 300:
        return
    permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 409, 425, 429)
    raise DeliveryError(f"{what} answered {response.status_code}: {response.text[:300]}", permanent=permanent)


class HttpSmsChannel:
    """``sms``: sends to phone numbers through a generic HTTP gateway; it de-duplicates on ``Idempotency-Key``."""

    kind = "phone"
    supports_idempotency = True

    def __init__(self, settings: SmsGatewaySettings, name: str = "sms") -> None:
        self.name = name
        self.settings = settings

    def payload(self, message: OutgoingMessage) -> dict[str, Any]:
        return {"id": message.idempotency_key, "to": message.to, "from": self.settings.sender, "text": message.body}

    def send(self, message: OutgoingMessage) -> SendResult:
        body = json.dumps(self.payload(message)).encode()
        ts = str(int(time.time()))
        try:
            response = httpx.post(self.settings.url, content=body, timeout=self.settings.timeout, headers={
                "Content-Type": "application/json", "Idempotency-Key": message.idempotency_key,
                TIMESTAMP: ts, SIGNATURE: sign(self.settings.secret, ts, body)})
        except httpx.HTTPError as exc:
            raise DeliveryError(f"cannot reach the SMS gateway: {exc.__class__.__name__}: {exc}") from None
        raise_for(response, "the SMS gateway")
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        answer = answer if isinstance(answer, dict) else {}
        provider_id = answer.get("id")
        status = "delivered" if answer.get("status") == "delivered" else "sent"
        return SendResult(provider_id=str(provider_id)[:200] if provider_id is not None else None, status=status)
