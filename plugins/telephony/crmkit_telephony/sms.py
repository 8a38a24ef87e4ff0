"""SMS through Twilio (the channel ``twilio`` of ``crm.messages``) and the missed-call SMS option.

``[settings.telephony.sms]``: ``account_sid``, ``auth_token``, ``from`` (a Twilio number in E.164, or
``messaging_service_sid``), optional ``status_callback_url`` (passed to Twilio as ``StatusCallback``: the
public URL of ``/api/v1/telephony/sms/twilio/status``, which records Twilio's delivery reports),
``inbound_url`` (the public URL of ``/api/v1/telephony/sms/twilio/inbound``, set as the number's
"A message comes in" webhook: replies land on the contact) and ``api_url`` (default
``https://api.twilio.com``). The routes are in :mod:`.sms_webhooks`.

Sending is Twilio's ``POST /2010-04-01/Accounts/<sid>/Messages.json`` (form fields ``To``, ``From``
or ``MessagingServiceSid``, ``Body``, ``StatusCallback``; HTTP basic auth with the SID and token).
Twilio's Messages API takes no idempotency key, so this channel declares
``supports_idempotency = False``: a worker killed between Twilio's answer and the outbox's record
sends that SMS again (docs/messages.md).

``missed_call_sms = "Sorry we missed your call ..."``: after an inbound call ends missed, that text
goes to the caller (once per call: the call's id is the message's idempotency key), through
``missed_call_sms_channel`` (default: the deployment's SMS channel: ``sms``, else ``twilio``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import attrs
import httpx

from crmkit import ConfigError, DeliveryError, Event, OutgoingMessage, SendResult, ValidationError

from .config import NAME, valid_url

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm

CHANNEL = "twilio"


@attrs.frozen
class SmsSettings:
    account_sid: str | None = None
    auth_token: str | None = None
    sender: str | None = None
    messaging_service_sid: str | None = None
    status_callback_url: str | None = None
    inbound_url: str | None = None
    api_url: str = "https://api.twilio.com"
    missed_call_sms: str | None = None
    missed_call_channel: str | None = None

    @property
    def enabled(self) -> bool:
        return self.account_sid is not None


def settings(crm: "Crm") -> SmsSettings:
    """The SMS part of ``[settings.telephony]``, parsed once per deployment."""
    state = crm.plugin_state(NAME)
    found = state.get("sms")
    if found is None:
        found = state["sms"] = parse(crm.plugin_settings(NAME) or {})
    return found  # type: ignore[no-any-return]


def parse(raw: Mapping[str, Any]) -> SmsSettings:
    where = "settings.telephony"
    text = raw.get("missed_call_sms")
    if text is not None and (not isinstance(text, str) or not text.strip() or len(text) > 1600):
        raise ConfigError(f"{where}.missed_call_sms: the text to send, 1 to 1600 characters")
    channel = raw.get("missed_call_sms_channel")
    if channel is not None and (not isinstance(channel, str) or not channel):
        raise ConfigError(f"{where}.missed_call_sms_channel: a channel name such as sms or twilio")
    sms = raw.get("sms")
    if sms is None:
        return SmsSettings(missed_call_sms=text, missed_call_channel=channel)
    if not isinstance(sms, Mapping):
        raise ConfigError(f"{where}.sms: expected a table")
    known = {"account_sid", "auth_token", "from", "messaging_service_sid", "status_callback_url", "inbound_url",
             "api_url"}
    unknown = sorted(set(sms) - known)
    if unknown:
        raise ConfigError(f"{where}.sms: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")
    for key in ("account_sid", "auth_token"):
        if not isinstance(sms.get(key), str) or not sms[key].strip():
            raise ConfigError(f"{where}.sms.{key}: required text (from the Twilio console)")
    if not (isinstance(sms.get("from"), str) or isinstance(sms.get("messaging_service_sid"), str)):
        raise ConfigError(f"{where}.sms.from: a Twilio number in E.164 (or give messaging_service_sid)")
    for key in ("status_callback_url", "inbound_url", "api_url"):
        if key in sms and not valid_url(sms[key]):
            raise ConfigError(f"{where}.sms.{key}: an http(s) URL")
    return SmsSettings(account_sid=sms["account_sid"], auth_token=sms["auth_token"], sender=sms.get("from"),
                       messaging_service_sid=sms.get("messaging_service_sid"),
                       status_callback_url=sms.get("status_callback_url"), inbound_url=sms.get("inbound_url"),
                       api_url=str(sms.get("api_url", "https://api.twilio.com")).rstrip("/"),
                       missed_call_sms=text, missed_call_channel=channel)


class TwilioSmsChannel:
    """``twilio``: SMS to phone numbers through Twilio's Messages API."""

    name = CHANNEL
    kind = "phone"
    supports_idempotency = False

    def __init__(self, s: SmsSettings) -> None:
        self.settings = s

    def form(self, message: OutgoingMessage) -> dict[str, str]:
        s = self.settings
        data = {"To": message.to, "Body": message.body}
        if s.messaging_service_sid:
            data["MessagingServiceSid"] = s.messaging_service_sid
        else:
            data["From"] = s.sender or ""
        if s.status_callback_url:
            data["StatusCallback"] = s.status_callback_url
        return data

    def send(self, message: OutgoingMessage) -> SendResult:
        s = self.settings
        url = f"{s.api_url}/2010-04-01/Accounts/{s.account_sid}/Messages.json"
        try:
            response = httpx.post(url, data=self.form(message), auth=(s.account_sid or "", s.auth_token or ""),
                                  timeout=15.0)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"cannot reach Twilio: {exc.__class__.__name__}: {exc}") from None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        answer = answer if isinstance(answer, dict) else {}
        if response.status_code >= 400:
            detail = f"{answer.get('code', '')} {answer.get('message', response.text[:200])}".strip()
            permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
            raise DeliveryError(f"Twilio answered {response.status_code}: {detail}", permanent=permanent)
        sid = answer.get("sid")
        return SendResult(provider_id=str(sid) if sid else None,
                          status="delivered" if answer.get("status") == "delivered" else "sent")


def channels(crm: "Crm") -> list[Any]:
    s = settings(crm)
    return [TwilioSmsChannel(s)] if s.enabled else []


def on_call_finished(crm: "Crm", event: Event) -> None:
    """The missed-call SMS: once per missed inbound call with a caller number."""
    s = settings(crm)
    data = event.data
    if (s.missed_call_sms is None or event.type != "telephony.call_finished" or data.get("result") != "missed"
            or data.get("direction") != "inbound" or not data.get("phone")):
        return
    known = crm.messages.channels
    channel = s.missed_call_channel or ("sms" if "sms" in known else CHANNEL if CHANNEL in known else None)
    if channel is None:
        return  # no SMS channel: nothing to send with
    contact_id = event.entity_id if event.entity_type == "contact" else None
    try:
        crm.messages.send(to=data["phone"], channel=channel, body=s.missed_call_sms, contact_id=contact_id,
                          idempotency_key=f"{NAME}.missed_call_sms:{data.get('call')}")
    except ValidationError as exc:
        if exc.field != "to":
            raise
