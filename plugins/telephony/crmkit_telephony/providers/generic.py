"""The generic JSON webhook: any PBX or middleware posts one call event per request.

Signed with HMAC-SHA256 over ``"<timestamp>." + raw body`` with the deployment's
secret; headers ``X-Telephony-Timestamp`` (Unix seconds) and
``X-Telephony-Signature: v1=<hex>``. Timestamps older (or newer) than
``max_age_seconds`` are refused, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping

from crmkit import CrmError

from ..events import MAX_DURATION, CallEvent
from . import (
    HttpPost, MalformedError, NotSupportedError, Originated, SignatureError, WebhookRequest, configured_extension,
    e164, http_post, same_signature,
)

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm

    from ..config import TelephonySettings

log = logging.getLogger("crmkit_telephony.generic")

TIMESTAMP_HEADER = "x-telephony-timestamp"
SIGNATURE_HEADER = "x-telephony-signature"
EVENTS = {"ringing": "ringing", "answered": "answered", "ended": "ended", "recording": "info"}
_FIELDS = {"call_id", "event", "occurred_at", "direction", "from", "to", "extension", "result", "duration",
           "recording_url", "hangup_cause"}


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Telephony-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


class GenericProvider:
    """The documented JSON webhook (see README.md); click-to-call posts to ``originate_url``."""

    name = "generic"

    def __init__(self, transport: HttpPost = http_post) -> None:
        self.transport = transport

    def _secret(self, cfg: "TelephonySettings") -> str:
        secret = cfg.provider_settings(self.name).get("secret")
        if not isinstance(secret, str) or len(secret) < 16:
            raise SignatureError("the generic webhook has no secret configured (settings.telephony.generic.secret)")
        return secret

    def verify(self, crm: "Crm", cfg: "TelephonySettings", request: WebhookRequest) -> None:
        secret = self._secret(cfg)
        raw_ts = request.headers.get(TIMESTAMP_HEADER, "")
        if not (raw_ts.isascii() and raw_ts.isdigit()) or len(raw_ts) > 12:  # "²".isdigit() is True
            raise SignatureError(f"missing or bad {TIMESTAMP_HEADER} header (Unix seconds)")
        max_age = int(cfg.provider_settings(self.name).get("max_age_seconds", 300))
        if abs(crm.clock.now().timestamp() - int(raw_ts)) > max_age:
            raise SignatureError(f"the timestamp is more than {max_age} s away from now (replay refused)")
        expected = sign(secret, int(raw_ts), request.body)
        if not same_signature(expected, request.headers.get(SIGNATURE_HEADER, "")):
            raise SignatureError("the signature does not match the body")

    def parse_webhook(self, crm: "Crm", cfg: "TelephonySettings", request: WebhookRequest) -> list[CallEvent]:
        self.verify(crm, cfg, request)
        try:
            data = json.loads(request.body)
        except (ValueError, RecursionError):
            raise MalformedError("the body is not JSON") from None
        if not isinstance(data, dict):
            raise MalformedError("the body must be a JSON object")
        return [event_from_json(data)]

    def originate(self, crm: "Crm", cfg: "TelephonySettings", extension: str, number: str) -> Originated:
        url = cfg.provider_settings(self.name).get("originate_url")
        if not url:
            raise NotSupportedError("click-to-call needs settings.telephony.generic.originate_url")
        extension, number = configured_extension(cfg, extension), e164(number)
        body = json.dumps({"extension": extension, "to": number}).encode()
        ts = int(crm.clock.now().timestamp())
        headers = {"Content-Type": "application/json", "X-Telephony-Timestamp": str(ts),
                   "X-Telephony-Signature": sign(self._secret(cfg), ts, body)}
        status, answer = self.transport(str(url), body, headers)
        if status >= 300:
            log.warning("the PBX refused a click-to-call (HTTP %s): %s", status, answer[:500])
            raise NotSupportedError(f"the PBX refused the call (HTTP {status})")
        try:
            call_id = json.loads(answer or b"{}").get("call_id") or ""
        except (ValueError, AttributeError):
            call_id = ""
        return Originated(str(call_id))


def event_from_json(data: Mapping[str, Any]) -> CallEvent:
    """A :class:`CallEvent` from the generic JSON shape (``MalformedError`` says what is wrong)."""
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise MalformedError(f"{unknown[0]}: unknown field (known: {', '.join(sorted(_FIELDS))})", field=unknown[0])
    for name in ("call_id", "event", "occurred_at"):
        if not isinstance(data.get(name), str) or not data[name]:
            raise MalformedError(f"{name}: required text", field=name)
    if data["event"] not in EVENTS:
        raise MalformedError(f"event: one of {', '.join(EVENTS)}", field="event")
    duration = data.get("duration")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, int)
                                 or not 0 <= duration <= MAX_DURATION):
        raise MalformedError("duration: seconds, a whole number", field="duration")
    texts = {k: data.get(k) for k in ("direction", "from", "to", "extension", "result", "recording_url", "hangup_cause")}
    for key, value in texts.items():
        if value is not None and not isinstance(value, str):
            raise MalformedError(f"{key}: expected text", field=key)
    try:
        return CallEvent(
            provider="generic", call_id=data["call_id"][:200], status=EVENTS[data["event"]],
            occurred_at=datetime.fromisoformat(data["occurred_at"]), direction=texts["direction"],
            from_number=texts["from"], to_number=texts["to"], extension=texts["extension"],
            result=texts["result"], duration=duration, recording_url=texts["recording_url"],
            hangup_cause=texts["hangup_cause"],
        )
    except (ValueError, OverflowError):  # OverflowError: 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise MalformedError("occurred_at: an ISO 8601 time with its offset, e.g. 2026-01-05T09:00:00Z",
                             field="occurred_at") from None
    except CrmError as exc:
        field = {"from_number": "from", "to_number": "to"}.get(exc.field or "", exc.field)
        raise MalformedError(exc.message.replace(f"{exc.field}:", f"{field}:", 1), field=field) from None
