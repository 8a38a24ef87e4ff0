"""Twilio's SMS webhooks: delivery status callbacks and inbound SMS (replies), mounted at
``/api/v1/telephony/sms/twilio/status`` and ``/api/v1/telephony/sms/twilio/inbound``.

Both are public and checked like the voice webhooks: ``X-Twilio-Signature`` (HMAC-SHA1 with
``[settings.telephony.sms] auth_token``) over the URL configured at Twilio -- ``status_callback_url``
for the status route, ``inbound_url`` for the inbound one, never the request's Host -- and the form
parameters; a wrong signature or another account's ``AccountSid`` is a 403 and nothing is written; a
route whose URL is not configured is a 503.

* status: ``MessageSid`` and ``MessageStatus``; ``delivered`` becomes the message's ``delivered``,
  ``undelivered`` (the carrier refused it) ``bounced``, ``failed`` ``failed`` (with ``ErrorCode``);
  the intermediate statuses (queued, sending, sent, ...) are acknowledged and change nothing;
* inbound: ``MessageSid``, ``From``, ``Body`` go to ``crm.messages.inbound.receive_sms`` exactly as the
  generic SMS gateway's inbound route does (the sender's contact by phone, else a lead; a
  ``MessageSid`` taken once). The answer is an empty TwiML ``<Response/>``: no automatic reply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from crmkit import ValidationError
from crmkit.web import public

from . import sms
from .providers import MalformedError, NotConfiguredError, SignatureError, same_signature
from .providers.twilio import _url_variants, signature

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm

REPORTED = {"delivered": "delivered", "undelivered": "bounced", "failed": "failed"}
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def verified_form(s: sms.SmsSettings, url_key: str, url: str | None, body: bytes, given: str) -> dict[str, str]:
    """The form parameters of a request Twilio signed for ``url``; raises 503/403/400."""
    if not s.enabled or not url:
        raise NotConfiguredError(f"Twilio SMS webhooks are refused: set settings.telephony.sms.{url_key} (the "
                                 "public URL of this route exactly as configured at Twilio) and auth_token")
    try:
        params = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body),
                           max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        params = None
    token = s.auth_token or ""
    if not any(same_signature(signature(token, u, params or []), given) for u in _url_variants(url)):
        raise SignatureError("X-Twilio-Signature does not match this URL and these parameters")
    if params is None:
        raise MalformedError("the body is not form-encoded")
    form = dict(params)
    if form.get("AccountSid", s.account_sid) != s.account_sid:
        raise SignatureError("AccountSid: another Twilio account")
    return form


def _required(form: dict[str, str], key: str) -> str:
    value = form.get(key, "")
    if not value:
        raise ValidationError(f"{key}: required", field=key)
    return value


def routes(crm: "Crm") -> list[BaseRoute]:
    """The two public SMS webhook routes of ``crm``."""

    async def status(request: Request) -> Response:
        s = sms.settings(crm)
        form = verified_form(s, "status_callback_url", s.status_callback_url, await request.body(),
                             request.headers.get("x-twilio-signature", ""))
        sid, reported = _required(form, "MessageSid")[:200], _required(form, "MessageStatus")
        outcome = REPORTED.get(reported)
        if outcome is None:
            return JSONResponse({"known": None, "ignored": reported})
        error = f"Twilio {reported}" + (f": error {form['ErrorCode']}" if form.get("ErrorCode") else "")
        found = await run_in_threadpool(crm.messages.report, sms.CHANNEL, sid, outcome,
                                        None if outcome == "delivered" else error)
        return JSONResponse({"known": found is not None, "status": outcome})

    async def inbound(request: Request) -> Response:
        s = sms.settings(crm)
        form = verified_form(s, "inbound_url", s.inbound_url, await request.body(),
                             request.headers.get("x-twilio-signature", ""))
        sid, sender = _required(form, "MessageSid")[:200], _required(form, "From")
        await run_in_threadpool(crm.messages.inbound.receive_sms, sender, form.get("Body", ""), sid)
        return Response(EMPTY_TWIML, media_type="application/xml")

    return [public(Route("/sms/twilio/status", status, methods=["POST"])),
            public(Route("/sms/twilio/inbound", inbound, methods=["POST"]))]
