"""Telegram Bot API: ``sendMessage`` out (the ``telegram`` channel), the bot's webhook in
(:mod:`crmkit.messages.inbound` takes the updates).

Out: ``POST <api_url>/bot<token>/sendMessage`` with ``{"chat_id": ..., "text": ...}``; the answer
``{"ok": true, "result": {"message_id": ...}}``. The chat id of a contact is its custom field
``telegram_chat_id`` (set when the contact first writes to the bot), or the ``to`` of the message.
"""

from __future__ import annotations

from .config import TelegramSettings
from .records import DeliveryError, OutgoingMessage, SendResult
from .sms_gateway import post_json, raise_for


class TelegramChannel:
    """``telegram``: messages to Telegram chats through a bot."""

    kind = "telegram"
    supports_idempotency = False

    def __init__(self, settings: TelegramSettings, name: str = "telegram") -> None:
        self.name = name
        self.settings = settings

    def send(self, message: OutgoingMessage) -> SendResult:
        s = self.settings
        response = post_json(f"{s.api_url}/bot{s.token}/sendMessage", {"chat_id": message.to, "text": message.body},
                             {}, s.timeout)
        raise_for(response, "the Telegram Bot API")
        try:
            answer = response.json()
        except ValueError:
            raise DeliveryError("the Telegram Bot API answered with something that is not JSON") from None
        if not isinstance(answer, dict) or not answer.get("ok"):
            raise DeliveryError(f"the Telegram Bot API refused the message: {str(answer)[:300]}", permanent=True)
        result = answer.get("result") or {}
        return SendResult(provider_id=str(result.get("message_id")) if isinstance(result, dict) else None)
