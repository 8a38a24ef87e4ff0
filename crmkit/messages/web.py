"""The messaging API: ``/messages``, ``/messages/templates``, ``/messages/consent``, ``/webhooks``,
``/campaigns`` (operations of the core's API, documented in its OpenAPI), and the public routes
providers and people call: the one-click unsubscribe, the SMS gateway's reports and replies, the
Telegram bot's webhook.

Reading or sending about a contact needs that contact to be visible to the user; templates,
campaigns, webhooks and the whole outbox need the permission ``messages.manage`` (admin, head).
"""

from __future__ import annotations

import hmac
import html as htmlmod
import json
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from crmkit import PermissionDeniedError, ValidationError, ensure_utc, to_dict
from crmkit.web import Ctx, Operation, Param, Result
from crmkit.web.operation import ID_SCHEMA
from crmkit.web.schemas import body, page_schema, record_schema, text

from .campaigns import Campaign, CampaignResults
from .config import load
from .consent import check_unsubscribe
from .records import KINDS, PURPOSES, STATUSES, Message
from .sms_gateway import SIGNATURE, TIMESTAMP, verify
from .templates import Rendered, Template
from .webhooks import Delivery, Subscription

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm

MANAGE = "messages.manage"
PREFIX = "/api/v1/messages"


def _manage(ctx: Ctx, what: str) -> None:
    ctx.services.access.require(MANAGE, what)


def _dt(value: Any, field: str) -> Any:
    from datetime import datetime

    if value is None:
        return None
    try:
        return ensure_utc(datetime.fromisoformat(value), field=field)
    except ValueError:
        raise ValidationError(f"{field}: {value!r} is not an ISO 8601 date-time with a UTC offset",
                              field=field) from None


# -- handlers ---------------------------------------------------------------------------------


def send_message(ctx: Ctx) -> Any:
    b = dict(ctx.body)
    if "send_at" in b:
        b["send_at"] = _dt(b["send_at"], "send_at")
    return Result(ctx.crm.messages.as_user(ctx.user_id).send(**b), status=201)


def list_messages(ctx: Ctx) -> Any:
    q = ctx.query
    if q.get("contact_id") is not None:
        ctx.services.contacts.get(q["contact_id"])
    else:
        _manage(ctx, "read every message (filter by contact_id)")
    return ctx.crm.messages.list(status=q.get("status"), contact_id=q.get("contact_id"),
                                 campaign_id=q.get("campaign_id"), limit=q.get("limit", 50), cursor=q.get("cursor"))


def get_message(ctx: Ctx) -> Any:
    msg = ctx.crm.messages.get(ctx.id)
    if msg.contact_id is not None and not ctx.services.access.allows(MANAGE):
        ctx.services.contacts.get(msg.contact_id)
    elif msg.contact_id is None:
        _manage(ctx, "read messages to users")
    return msg


def cancel_message(ctx: Ctx) -> Any:
    _manage(ctx, "cancel messages")
    return {"cancelled": ctx.crm.messages.cancel(ids=[ctx.id])}


def retry_messages(ctx: Ctx) -> Any:
    _manage(ctx, "retry messages")
    return {"requeued": ctx.crm.messages.retry(ctx.body.get("ids") or ())}


def get_consent(ctx: Ctx) -> Any:
    return ctx.crm.messages.as_user(ctx.user_id).consent_of(ctx.id)


def set_consent(ctx: Ctx) -> Any:
    service = ctx.crm.messages.as_user(ctx.user_id)
    change = service.opt_in if ctx.body["status"] == "in" else service.opt_out
    change(ctx.id, ctx.body["kind"], source=ctx.body.get("source", "api"))
    return service.consent_of(ctx.id)


def list_templates(ctx: Ctx) -> Any:
    return {"items": [to_dict(t) for t in ctx.crm.messages.templates.list()]}


def save_template(ctx: Ctx) -> Any:
    _manage(ctx, "change message templates")
    b = ctx.body
    return Result(ctx.crm.messages.templates.save(b["key"], b["body"], subject=b.get("subject", ""),
                                                  html=b.get("html"), language=b.get("language", "en")), status=201)


def preview_template(ctx: Ctx) -> Any:
    b = ctx.body
    return ctx.crm.messages.as_user(ctx.user_id).templates.preview(
        b["key"], contact_id=b.get("contact_id"), deal_id=b.get("deal_id"), language=b.get("language"),
        context=b.get("context"))


def delete_template(ctx: Ctx) -> Any:
    _manage(ctx, "change message templates")
    ctx.crm.messages.templates.delete(ctx.body["key"], ctx.body["language"])
    return {"deleted": True}


def list_webhooks(ctx: Ctx) -> Any:
    _manage(ctx, "manage webhooks")
    return {"items": [to_dict(s) for s in ctx.crm.messages.webhooks.list()]}


def create_webhook(ctx: Ctx) -> Any:
    _manage(ctx, "manage webhooks")
    b = ctx.body
    return Result(ctx.crm.messages.webhooks.create(b["url"], b["event_types"], description=b.get("description", "")),
                  status=201)


def get_webhook(ctx: Ctx) -> Any:
    _manage(ctx, "manage webhooks")
    return ctx.crm.messages.webhooks.get(ctx.id)


def update_webhook(ctx: Ctx) -> Any:
    _manage(ctx, "manage webhooks")
    return ctx.crm.messages.webhooks.update(ctx.id, **ctx.body)


def delete_webhook(ctx: Ctx) -> Any:
    _manage(ctx, "manage webhooks")
    ctx.crm.messages.webhooks.delete(ctx.id)
    return {"deleted": True}


def webhook_deliveries(ctx: Ctx) -> Any:
    _manage(ctx, "manage webhooks")
    return {"items": [to_dict(d) for d in ctx.crm.messages.webhooks.deliveries(ctx.id, limit=ctx.query.get("limit", 50))]}


def list_campaigns(ctx: Ctx) -> Any:
    _manage(ctx, "manage campaigns")
    return {"items": [to_dict(c) for c in ctx.crm.messages.campaigns.list()]}


def create_campaign(ctx: Ctx) -> Any:
    _manage(ctx, "manage campaigns")
    b = dict(ctx.body)
    if "start_at" in b:
        b["start_at"] = _dt(b["start_at"], "start_at")
    name = b.pop("name")
    return Result(ctx.crm.messages.as_user(ctx.user_id).campaigns.create(name, **b), status=201)


def get_campaign(ctx: Ctx) -> Any:
    _manage(ctx, "manage campaigns")
    return ctx.crm.messages.campaigns.get(ctx.id)


def campaign_results(ctx: Ctx) -> Any:
    _manage(ctx, "manage campaigns")
    return ctx.crm.messages.campaigns.results(ctx.id, days=ctx.query.get("days", 30))


def queue_campaign(ctx: Ctx) -> Any:
    _manage(ctx, "manage campaigns")
    return {"queued": ctx.crm.messages.as_user(ctx.user_id).campaigns.queue(ctx.id)}


def pause_campaign(ctx: Ctx) -> Any:
    _manage(ctx, "manage campaigns")
    return ctx.crm.messages.campaigns.pause(ctx.id)


def operations(crm: "Crm") -> list[Operation]:
    """The messaging operations of the core API."""
    msg, tpl, sub, dlv = record_schema(Message), record_schema(Template), record_schema(Subscription), \
        record_schema(Delivery)
    camp, res, rendered = record_schema(Campaign), record_schema(CampaignResults), record_schema(Rendered)
    opt_id = {"type": ["integer", "null"], "minimum": 1, "maximum": 2**31 - 1}
    send = body({
        "to": text(254, null=True), "contact_id": opt_id, "user_id": opt_id, "channel": text(40, null=True),
        "subject": {"type": "string", "maxLength": 300}, "body": {"type": ["string", "null"], "maxLength": 100_000},
        "html": {"type": ["string", "null"], "maxLength": 200_000}, "template": text(100, null=True),
        "context": {"type": ["object", "null"]}, "language": text(10, null=True),
        "purpose": {"type": "string", "enum": list(PURPOSES)}, "idempotency_key": text(200, null=True),
        "group": text(200, null=True), "send_at": {"type": "string", "format": "date-time", "maxLength": 40}})
    count = lambda key: {"type": "object", "required": [key], "properties": {key: {"type": "integer"}}}  # noqa: E731
    deleted = {"type": "object", "required": ["deleted"], "properties": {"deleted": {"type": "boolean"}}}
    consent_map = {"type": "object", "additionalProperties": {"type": "string", "enum": ["in", "out"]}}
    items = lambda s: {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": s}}}  # noqa: E731
    types = {"type": "array", "minItems": 1, "maxItems": 100, "items": {"type": "string", "minLength": 1, "maxLength": 80}}
    limit = Param("limit", {"type": "integer", "minimum": 1, "maximum": 500})
    T = "messages"
    return [
        Operation("POST", "/messages", send_message, "Queue a message to a contact, user or address", T,
                  "send_message", status=201, body=send, response=msg, idempotent=True, errors=(404,)),
        Operation("GET", "/messages", list_messages, "List messages (newest first)", T, "list_messages",
                  query=(Param("status", {"type": "string", "enum": list(STATUSES)}), Param("contact_id", ID_SCHEMA),
                         Param("campaign_id", ID_SCHEMA), limit, Param("cursor", {"type": "string", "maxLength": 20})),
                  response=page_schema(msg), errors=(404,)),
        Operation("POST", "/messages/retry", retry_messages, "Send failed messages again", T, "retry_messages",
                  body=body({"ids": {"type": "array", "maxItems": 500, "items": ID_SCHEMA}}), body_required=False,
                  response=count("requeued")),
        Operation("GET", "/messages/{id:int}", get_message, "Get a message", T, "get_message", response=msg,
                  errors=(404,)),
        Operation("POST", "/messages/{id:int}/cancel", cancel_message, "Cancel a queued message", T,
                  "cancel_message", body_required=False, body=body({}), response=count("cancelled"), errors=(404,)),
        Operation("GET", "/messages/consent/{id:int}", get_consent, "A contact's consent by address kind", T,
                  "get_consent", response=consent_map, errors=(404,)),
        Operation("POST", "/messages/consent/{id:int}", set_consent, "Opt a contact in or out", T, "set_consent",
                  body=body({"kind": {"type": "string", "enum": list(KINDS)}, "status": {"type": "string",
                             "enum": ["in", "out"]}, "source": text(100)}, ["kind", "status"]),
                  response=consent_map, errors=(404,)),
        Operation("GET", "/messages/templates", list_templates, "List message templates", T, "list_templates",
                  response=items(tpl)),
        Operation("POST", "/messages/templates", save_template, "Create or replace a template", T, "save_template",
                  status=201, body=body({"key": text(100), "language": text(10), "subject": text(300),
                                         "body": {"type": "string", "maxLength": 100_000},
                                         "html": {"type": ["string", "null"], "maxLength": 200_000}},
                                        ["key", "body"]), response=tpl),
        Operation("POST", "/messages/templates/preview", preview_template, "Fill a template in with a real card", T,
                  "preview_template", body=body({"key": text(100), "contact_id": opt_id, "deal_id": opt_id,
                                                 "language": text(10, null=True), "context": {"type": ["object", "null"]}},
                                                ["key"]), response=rendered, errors=(404,)),
        Operation("POST", "/messages/templates/delete", delete_template, "Delete a template's language variant", T,
                  "delete_template", body=body({"key": text(100), "language": text(10)}, ["key", "language"]),
                  response=deleted, errors=(404,)),
        Operation("GET", "/webhooks", list_webhooks, "List webhook subscriptions", "webhooks", "list_webhooks",
                  response=items(sub)),
        Operation("POST", "/webhooks", create_webhook, "Subscribe a URL to events (the secret is in this answer only)",
                  "webhooks", "create_webhook", status=201, body=body({"url": text(2000), "event_types": types,
                                                                       "description": text(300)},
                                                                      ["url", "event_types"]), response=sub),
        Operation("GET", "/webhooks/{id:int}", get_webhook, "Get a webhook subscription", "webhooks", "get_webhook",
                  response=sub, errors=(404,)),
        Operation("PATCH", "/webhooks/{id:int}", update_webhook, "Change (or re-enable) a subscription", "webhooks",
                  "update_webhook", body=body({"url": text(2000), "event_types": types, "active": {"type": "boolean"}}),
                  response=sub, errors=(404,)),
        Operation("DELETE", "/webhooks/{id:int}", delete_webhook, "Delete a subscription", "webhooks",
                  "delete_webhook", response=deleted, errors=(404,)),
        Operation("GET", "/webhooks/{id:int}/deliveries", webhook_deliveries, "A subscription's delivery log",
                  "webhooks", "webhook_deliveries", query=(limit,), response=items(dlv), errors=(404,)),
        Operation("GET", "/campaigns", list_campaigns, "List campaigns", "campaigns", "list_campaigns",
                  response=items(camp)),
        Operation("POST", "/campaigns", create_campaign, "Create a campaign", "campaigns", "create_campaign",
                  status=201, body=body({"name": text(200), "template": text(100), "segment": {"type": "object"},
                                         "channel": text(40), "schedule": {"type": "string", "enum": ["once", "birthday", "event"]},
                                         "trigger": text(100),
                                         "start_at": {"type": "string", "format": "date-time", "maxLength": 40}},
                                        ["name", "template"]), response=camp, errors=(404,)),
        Operation("GET", "/campaigns/{id:int}", get_campaign, "Get a campaign", "campaigns", "get_campaign",
                  response=camp, errors=(404,)),
        Operation("GET", "/campaigns/{id:int}/results", campaign_results, "A campaign's results", "campaigns",
                  "campaign_results", query=(Param("days", {"type": "integer", "minimum": 1, "maximum": 365}),),
                  response=res, errors=(404,)),
        Operation("POST", "/campaigns/{id:int}/queue", queue_campaign, "Queue a campaign's messages now",
                  "campaigns", "queue_campaign", body_required=False, body=body({}), response=count("queued"),
                  errors=(404,)),
        Operation("POST", "/campaigns/{id:int}/pause", pause_campaign, "Pause a campaign", "campaigns",
                  "pause_campaign", body_required=False, body=body({}), response=camp, errors=(404,)),
    ]


# -- public routes: people and providers ------------------------------------------------------------


async def unsubscribe(request: Request) -> Response:
    """GET: a page with one button; POST (the button, or a mail client's RFC 8058 one-click): opt out."""
    crm: Any = request.app.state.crm
    q = request.query_params
    try:
        contact_id, kind = check_unsubscribe(crm, q.get("c"), q.get("k"), q.get("s"))
    except ValidationError as exc:
        return HTMLResponse(f"<p>{htmlmod.escape(exc.message)}</p>", status_code=400)
    if request.method == "GET":
        action = htmlmod.escape(str(request.url.path) + "?" + str(request.url.query), quote=True)
        return HTMLResponse(f'<!doctype html><title>Unsubscribe</title><form method="post" action="{action}">'
                            f'<p>Stop receiving offers by {htmlmod.escape(kind)}?</p>'
                            '<button type="submit">Unsubscribe</button></form>')
    await run_in_threadpool(crm.messages.opt_out, contact_id, kind, source="unsubscribe link")
    return HTMLResponse("<!doctype html><title>Unsubscribed</title><p>You are unsubscribed.</p>")


async def _signed_json(request: Request) -> Any:
    crm: Any = request.app.state.crm
    sms = load(crm).sms
    if sms is None:
        return None
    raw = await request.body()
    if not verify(sms.secret, request.headers.get(TIMESTAMP, ""), raw, request.headers.get(SIGNATURE, "")):
        raise PermissionDeniedError("the signature of this request is not valid")
    try:
        data = json.loads(raw)
    except ValueError:
        raise ValidationError("body: not JSON", field="body") from None
    if not isinstance(data, dict):
        raise ValidationError("body: a JSON object", field="body")
    return data


async def sms_status(request: Request) -> Response:
    data = await _signed_json(request)
    if data is None:
        return JSONResponse({"error": {"code": "not_found", "message": "no SMS gateway is configured"}}, 404)
    if not isinstance(data.get("id"), str) or data.get("status") not in ("delivered", "failed", "bounced"):
        raise ValidationError("status: {\"id\": text, \"status\": delivered, failed or bounced}", field="status")
    crm: Any = request.app.state.crm
    found = await run_in_threadpool(crm.messages.report, "sms", data["id"][:200], data["status"],
                                    str(data.get("error") or "")[:2000] or None)
    return JSONResponse({"known": found is not None})


async def sms_inbound(request: Request) -> Response:
    data = await _signed_json(request)
    if data is None:
        return JSONResponse({"error": {"code": "not_found", "message": "no SMS gateway is configured"}}, 404)
    for key in ("id", "from", "text"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ValidationError(f"{key}: required text", field=key)
    crm: Any = request.app.state.crm
    got = await run_in_threadpool(crm.messages.inbound.receive_sms, data["from"], data["text"], data["id"][:200])
    return JSONResponse(to_dict(got))


async def telegram_webhook(request: Request) -> Response:
    crm: Any = request.app.state.crm
    tg = load(crm).telegram
    if tg is None:
        return JSONResponse({"error": {"code": "not_found", "message": "no Telegram bot is configured"}}, 404)
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not tg.webhook_secret or not hmac.compare_digest(given, tg.webhook_secret):
        raise PermissionDeniedError("X-Telegram-Bot-Api-Secret-Token is missing or wrong")
    try:
        update = json.loads(await request.body())
    except ValueError:
        raise ValidationError("body: not JSON", field="body") from None
    got = await run_in_threadpool(crm.messages.inbound.receive_telegram, update if isinstance(update, dict) else {})
    return JSONResponse(to_dict(got) if got is not None else {"ignored": True})


def routes() -> list[Route]:
    """The public routes (no token: a signature, a secret or a signed link authenticates them)."""
    return [Route(f"{PREFIX}/unsubscribe", unsubscribe, methods=["GET", "POST"], name="messages_unsubscribe"),
            Route(f"{PREFIX}/sms/status", sms_status, methods=["POST"], name="messages_sms_status"),
            Route(f"{PREFIX}/sms/inbound", sms_inbound, methods=["POST"], name="messages_sms_inbound"),
            Route(f"{PREFIX}/telegram/webhook", telegram_webhook, methods=["POST"], name="messages_telegram")]
