"""Twilio Voice: incoming-call webhooks, call status callbacks and recording status callbacks.

Every request is checked with Twilio's documented ``X-Twilio-Signature``: HMAC-SHA1,
keyed with the account's Auth Token, over the full URL Twilio requested followed by
each POST parameter's name and value, sorted by name; base64. The URL is the configured
``webhook_url``, never one built from the request's Host header: a signature carries no
timestamp, so a request signed for another deployment would otherwise replay here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Container, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from xml.sax.saxutils import escape

from ..events import CallEvent
from . import (
    HttpPost, MalformedError, NotConfiguredError, NotSupportedError, Originated, SignatureError, WebhookRequest,
    configured_extension, e164, http_post, same_signature,
)

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm

    from ..config import TelephonySettings

log = logging.getLogger("crmkit_telephony.twilio")

API = "https://api.twilio.com/2010-04-01/Accounts/{sid}/Calls.json"
ENDED = {"completed": None, "busy": "busy", "no-answer": "missed", "canceled": "missed", "failed": "failed"}
DIAL_RESULTS = {"completed": "answered", "answered": "answered", "busy": "busy", "no-answer": "missed",
                "canceled": "missed", "failed": "failed"}


def signature(auth_token: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    """Twilio's ``X-Twilio-Signature`` for a request to ``url`` with form ``params``."""
    data = url + "".join(k + v for k, v in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def _url_variants(url: str) -> list[str]:
    """``url`` as given, and with the default port added or removed (Twilio signs either form)."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    if parts.port is None and default is not None:
        other = parts._replace(netloc=f"{host}:{default}")
    elif parts.port == default:
        other = parts._replace(netloc=host)
    else:
        return [url]
    return [url, urlunsplit(other)]


def _client(value: str) -> str | None:
    return value[len("client:"):] if value.startswith("client:") else None


class TwilioProvider:
    """Twilio's form-encoded voice webhooks; click-to-call through the Calls REST API."""

    name = "twilio"

    def __init__(self, transport: HttpPost = http_post) -> None:
        self.transport = transport

    def parse_webhook(self, crm: "Crm", cfg: "TelephonySettings", request: WebhookRequest) -> list[CallEvent]:
        opts = cfg.provider_settings(self.name)
        token, url = opts.get("auth_token"), opts.get("webhook_url")
        if not isinstance(token, str) or not token or not isinstance(url, str) or not url:
            raise NotConfiguredError(
                "Twilio webhooks are refused: set settings.telephony.twilio.auth_token and webhook_url (the public "
                "URL of this webhook exactly as configured at Twilio; it is never taken from the request)")
        try:
            params = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(request.body),
                               max_num_fields=200)
        except (UnicodeDecodeError, ValueError):
            params = None
        given = request.headers.get("x-twilio-signature", "")
        if params is None:
            if not any(same_signature(signature(token, u, []), given) for u in _url_variants(url)):
                raise SignatureError("X-Twilio-Signature does not match")
            raise MalformedError("the body is not form-encoded")
        if not any(same_signature(signature(token, u, params), given) for u in _url_variants(url)):
            raise SignatureError("X-Twilio-Signature does not match this URL and these parameters")
        return [self.event(crm, dict(params), agents=cfg.extensions)]

    def event(self, crm: "Crm", p: dict[str, str], agents: Container[str] = ()) -> CallEvent:
        """The call event of one (verified) Twilio request. ``agents``: the configured extensions; a
        ``<Dial>`` leg to anything else (the customer, on a click-to-call) names no extension."""
        parent = p.get("ParentCallSid")
        call_id = parent or p.get("CallSid")
        if not call_id:
            raise MalformedError("CallSid: required", field="CallSid")
        when = _timestamp(p.get("Timestamp")) or crm.clock.now()
        status = p.get("CallStatus", "")
        recording = p.get("RecordingUrl") or None
        duration = _int(p.get("CallDuration") or p.get("DialCallDuration"))
        base: dict[str, Any] = {"provider": self.name, "call_id": call_id, "occurred_at": when, "recording_url": recording}
        if not status:
            if recording is None:
                raise MalformedError("CallStatus: required", field="CallStatus")
            return CallEvent(status="info", **base)  # a recording status callback
        frm, to = p.get("From", ""), p.get("To", "")
        if parent:  # a <Dial> leg to an agent: it tells who answered, the parent call ends the call
            agent = _client(to) or (to if to in agents else None)
            return CallEvent(status="answered" if status in ("in-progress", "answered") else "info",
                             extension=agent, **base)
        inbound = p.get("Direction", "inbound") == "inbound"
        direction = "inbound" if inbound else "outbound"
        extension = _client(to) if inbound else _client(frm)
        common: dict[str, Any] = {**base, "direction": direction, "from_number": frm or None,
                                  "to_number": to or None, "extension": extension}
        if status in ("queued", "initiated", "ringing"):
            return CallEvent(status="ringing", **common)
        if status == "in-progress":  # Twilio itself answers inbound calls to run TwiML: not a person
            return CallEvent(status="info" if inbound else "answered", **common)
        if status not in ENDED:
            raise MalformedError(f"CallStatus: {status!r} is not a Twilio call status", field="CallStatus")
        result = ENDED[status]
        if p.get("DialCallStatus") in DIAL_RESULTS:
            result = DIAL_RESULTS[p["DialCallStatus"]]
        if p.get("AnsweredBy", "").startswith("machine"):
            result = "voicemail"
        if inbound and result == "missed" and recording:
            result = "voicemail"
        return CallEvent(status="ended", result=result, duration=duration, **common)

    def originate(self, crm: "Crm", cfg: "TelephonySettings", extension: str, number: str) -> Originated:
        """Ring the agent (``client:NAME`` or a phone), then dial ``number`` with the deployment's caller id.

        The agent is a configured extension (a key of ``settings.telephony.extensions``), never a value from
        the request: otherwise a click-to-call could bridge any two outside numbers on the account."""
        opts = cfg.provider_settings(self.name)
        sid, token, caller = opts.get("account_sid"), opts.get("auth_token"), opts.get("caller_id")
        if not (sid and token and caller):
            raise NotSupportedError("click-to-call needs settings.telephony.twilio account_sid, auth_token, caller_id")
        extension, number = configured_extension(cfg, extension), e164(number)
        agent = extension if extension.startswith(("client:", "+", "sip:")) else f"client:{extension}"
        form = [("To", agent), ("From", str(caller)),
                ("Twiml", f'<Response><Dial callerId="{escape(str(caller))}">{escape(number)}</Dial></Response>')]
        if opts.get("webhook_url"):
            form += [("StatusCallback", str(opts["webhook_url"]))] + [
                ("StatusCallbackEvent", e) for e in ("initiated", "ringing", "answered", "completed")]
        auth = base64.b64encode(f"{sid}:{token}".encode()).decode()
        status, body = self.transport(API.format(sid=sid), urlencode(form).encode(), {
            "Authorization": f"Basic {auth}", "Content-Type": "application/x-www-form-urlencoded"})
        if status >= 300:
            log.warning("Twilio refused a click-to-call (HTTP %s): %s", status, body[:500])
            raise NotSupportedError(f"Twilio refused the call (HTTP {status})")
        try:
            return Originated(str(json.loads(body).get("sid") or ""))
        except (ValueError, AttributeError):
            return Originated("")


def _timestamp(value: str | None) -> datetime | None:
    """Twilio's RFC 2822 ``Timestamp`` (None if absent or not a time)."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
        return parsed.astimezone(timezone.utc) if parsed.tzinfo is not None else None
    except (TypeError, ValueError, OverflowError):  # OverflowError: year 1 with an offset
        return None


def _int(value: str | None) -> int | None:
    """Whole seconds (ASCII digits, at most 9: ``"²".isdigit()`` is True, a 25-digit number overflows a column)."""
    return int(value) if value and value.isascii() and value.isdigit() and len(value) <= 9 else None
