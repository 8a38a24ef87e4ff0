"""``crmkit messages``, ``crmkit templates``, ``crmkit webhooks``, ``crmkit campaigns``: the CLI of
:mod:`crmkit.messages`. Errors are one line and a non-zero exit, like every crmkit command."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from crmkit import ValidationError, ensure_utc, to_dict


def _state() -> Any:
    """The running ``crmkit`` invocation (``crmkit.cli.invocation``; imported late: crmkit.cli imports this)."""
    from crmkit.cli import invocation

    return invocation()


def _out(data: Any, text: str, as_json: bool) -> None:
    if as_json or _state().json:
        click.echo(json.dumps(_plain(data), indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(text)


def _plain(data: Any) -> Any:
    if isinstance(data, list):
        return [_plain(d) for d in data]
    return to_dict(data) if hasattr(data, "__attrs_attrs__") else data


def _messages() -> Any:
    state = _state()
    return state.crm.messages.as_user(state.services.actor_id)


def _json_arg(value: str | None, field: str) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        raise ValidationError(f"{field}: not JSON: {value[:60]!r}", field=field) from None


JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts).")


@click.group("messages")
def messages() -> None:
    """Messages to people: send, the outbox, consent, delivery (docs/messages.md)."""


@messages.command("send")
@click.option("--to", help="An e-mail address, a phone number or a chat id.")
@click.option("--contact", "contact_id", type=int, help="The contact's id (its address is used).")
@click.option("--user", "user", help="A user (e-mail or id): reminders to staff.")
@click.option("--channel", help="email, sms, telegram, ... (default: by the address).")
@click.option("--subject", default="")
@click.option("--body", help="The text (or --template).")
@click.option("--template", help="A stored template's key.")
@click.option("--marketing", is_flag=True, help="A marketing message: opt-outs, caps, unsubscribe link.")
@click.option("--key", "idempotency_key", help="An idempotency key: the same key never queues twice.")
@JSON
def send(to: str | None, contact_id: int | None, user: str | None, channel: str | None, subject: str,
         body: str | None, template: str | None, marketing: bool, idempotency_key: str | None, as_json: bool) -> None:
    """Queue a message (the worker sends it; `crmkit messages deliver` does it now)."""
    state = _state()
    msg = _messages().send(to=to, contact_id=contact_id, user_id=state.user_id(user) if user else None,
                           channel=channel, subject=subject, body=body, template=template,
                           purpose="marketing" if marketing else "transactional", idempotency_key=idempotency_key)
    _out(msg, f"Queued message {msg.id} to {msg.to_address} by {msg.channel} ({msg.status}).", as_json)


@messages.command("list")
@click.option("--status", type=click.Choice(["queued", "sending", "sent", "delivered", "failed", "bounced",
                                             "suppressed", "cancelled"]))
@click.option("--contact", "contact_id", type=int)
@click.option("--campaign", "campaign_id", type=int)
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@JSON
def list_messages(status: str | None, contact_id: int | None, campaign_id: int | None, limit: int,
                  as_json: bool) -> None:
    """Messages, newest first."""
    page = _messages().list(status=status, contact_id=contact_id, campaign_id=campaign_id, limit=limit)
    lines = [f"{m.id:>6}  {m.status:<10} {m.channel:<8} {m.to_address:<30} {m.subject[:40]}"
             + (f"  [{(m.last_error or '').splitlines()[0][:60]}]" if m.last_error else "") for m in page.items]
    _out(list(page.items), "\n".join(lines) or "No messages.", as_json)


@messages.command("show")
@click.argument("message_id", type=int)
@JSON
def show(message_id: int, as_json: bool) -> None:
    """One message with its status and last error."""
    m = _messages().get(message_id)
    _out(m, "\n".join(f"{k}: {v}" for k, v in to_dict(m).items() if k not in ("html", "headers")), as_json)


@messages.command("deliver")
@JSON
def deliver(as_json: bool) -> None:
    """Send the due messages now (the worker does it every pass)."""
    r = _messages().deliver()
    _out(to_dict(r), f"Sent {r.sent}, retrying {r.retrying}, failed {r.failed}, suppressed {r.suppressed}, "
                     f"held for quiet hours {r.deferred}.", as_json)


@messages.command("retry")
@click.argument("ids", nargs=-1, type=int)
def retry(ids: tuple[int, ...]) -> None:
    """Send failed messages (IDS, or all) again."""
    click.echo(f"Requeued {_messages().retry(ids)} message(s).")


@messages.command("cancel")
@click.argument("ids", nargs=-1, type=int)
@click.option("--group", help="Every queued message of this group.")
def cancel(ids: tuple[int, ...], group: str | None) -> None:
    """Withdraw queued messages."""
    click.echo(f"Cancelled {_messages().cancel(ids=ids, group=group)} message(s).")


@messages.command("consent")
@click.argument("contact_id", type=int)
@click.argument("change", required=False, type=click.Choice(["in", "out"]))
@click.option("--kind", type=click.Choice(["email", "phone", "telegram"]), default="email", show_default=True)
@JSON
def consent(contact_id: int, change: str | None, kind: str, as_json: bool) -> None:
    """Show a contact's consent, or opt them in/out: `crmkit messages consent 12 out --kind phone`."""
    service = _messages()
    if change is not None:
        (service.opt_in if change == "in" else service.opt_out)(contact_id, kind, source="cli")
    found = service.consent_of(contact_id)
    _out(found, ", ".join(f"{k}: {v}" for k, v in found.items()) or "Never asked (marketing may go).", as_json)


@messages.command("listen-smtp")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=2525, show_default=True)
def listen_smtp(host: str, port: int) -> None:
    """Take incoming e-mail (an MX or forwarding rule pointed here) until Ctrl-C."""
    from .inbound_smtp import start_listener

    controller = start_listener(_state().crm, host, port)
    click.echo(f"Listening for e-mail on {host}:{port} (Ctrl-C to stop).")
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


@messages.command("receive-email")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@JSON
def receive_email(path: Path, as_json: bool) -> None:
    """Take one e-mail from a file (.eml), as the listener would."""
    got = _state().crm.messages.inbound.receive_email(path.read_bytes())
    where = f"contact {got.contact_id}" if got.contact_id else f"new lead {got.lead_id}"
    _out(got, f"{'Already taken' if got.duplicate else 'Taken'}: {where}.", as_json)


# -- templates ---------------------------------------------------------------------------------


@click.group("templates")
def templates() -> None:
    """Message templates (Jinja2): per key and language."""


@templates.command("list")
@JSON
def list_templates(as_json: bool) -> None:
    found = _messages().templates.list()
    _out(found, "\n".join(f"{t.key} [{t.language}] {t.subject}" for t in found) or "No templates.", as_json)


@templates.command("save")
@click.argument("key")
@click.option("--body", "body_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="A file with the template's text.")
@click.option("--subject", default="")
@click.option("--language", default="en", show_default=True)
@click.option("--html", "html_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def save(key: str, body_file: Path, subject: str, language: str, html_file: Path | None) -> None:
    """Create or replace template KEY in a language."""
    t = _messages().templates.save(key, body_file.read_text(), subject=subject, language=language,
                                   html=html_file.read_text() if html_file else None)
    click.echo(f"Saved template {t.key} [{t.language}].")


@templates.command("preview")
@click.argument("key")
@click.option("--contact", "contact_id", type=int)
@click.option("--deal", "deal_id", type=int)
@click.option("--language")
@click.option("--context", help="Extra values as a JSON object.")
@JSON
def preview(key: str, contact_id: int | None, deal_id: int | None, language: str | None, context: str | None,
            as_json: bool) -> None:
    """Fill template KEY in with a real card."""
    r = _messages().templates.preview(key, contact_id=contact_id, deal_id=deal_id, language=language,
                                      context=_json_arg(context, "context"))
    _out(r, f"Subject: {r.subject}\n\n{r.body}", as_json)


@templates.command("document")
@click.argument("key")
@click.option("--deal", "deal_id", type=int, help="The deal (its contact too).")
@click.option("--contact", "contact_id", type=int)
@click.option("--language")
@click.option("--attach", is_flag=True, help="Store the document as a file on the deal (or contact).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), help="Write the HTML here.")
def document(key: str, deal_id: int | None, contact_id: int | None, language: str | None, attach: bool,
             out: Path | None) -> None:
    """Make a document (a proposal, a contract) as HTML from template KEY's HTML part."""
    page, stored = _messages().templates.document(key, deal_id=deal_id, contact_id=contact_id, language=language,
                                                  attach=attach)
    if out is not None:
        out.write_text(page)
    if stored is not None:
        click.echo(f"Attached {stored.name} (file {stored.id}).")
    if out is None and stored is None:
        click.echo(page, nl=False)


@templates.command("delete")
@click.argument("key")
@click.option("--language", required=True)
def delete(key: str, language: str) -> None:
    _messages().templates.delete(key, language)
    click.echo(f"Deleted template {key} [{language}].")


# -- webhooks ------------------------------------------------------------------------------------


@click.group("webhooks")
def webhooks() -> None:
    """Outbound webhooks (Standard Webhooks signatures)."""


@webhooks.command("list")
@JSON
def list_webhooks(as_json: bool) -> None:
    found = _messages().webhooks.list()
    _out(found, "\n".join(f"{s.id:>4}  {'on ' if s.active else 'off'}  {s.url}  {','.join(s.event_types)}"
                          for s in found) or "No webhooks.", as_json)


@webhooks.command("add")
@click.argument("url")
@click.option("--event", "event_types", multiple=True, required=True, help="An event type, deal.* or *; repeat.")
@click.option("--description", default="")
@JSON
def add(url: str, event_types: tuple[str, ...], description: str, as_json: bool) -> None:
    """Subscribe URL; prints the secret once."""
    s = _messages().webhooks.create(url, list(event_types), description=description)
    _out(s, f"Webhook {s.id} added. Its secret (shown once): {s.secret}", as_json)


@webhooks.command("enable")
@click.argument("subscription_id", type=int)
def enable(subscription_id: int) -> None:
    _messages().webhooks.update(subscription_id, active=True)
    click.echo(f"Webhook {subscription_id} enabled.")


@webhooks.command("disable")
@click.argument("subscription_id", type=int)
def disable(subscription_id: int) -> None:
    _messages().webhooks.update(subscription_id, active=False)
    click.echo(f"Webhook {subscription_id} disabled.")


@webhooks.command("remove")
@click.argument("subscription_id", type=int)
def remove(subscription_id: int) -> None:
    _messages().webhooks.delete(subscription_id)
    click.echo(f"Webhook {subscription_id} removed.")


@webhooks.command("deliveries")
@click.argument("subscription_id", type=int)
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@JSON
def deliveries(subscription_id: int, limit: int, as_json: bool) -> None:
    """A subscription's delivery log, newest first."""
    found = _messages().webhooks.deliveries(subscription_id, limit=limit)
    _out(found, "\n".join(f"{d.id:>6}  {d.status:<9} {d.event_type:<28} attempts {d.attempts}  "
                          f"{d.last_status_code or ''} {d.last_error or ''}" for d in found) or "No deliveries.", as_json)


# -- campaigns -----------------------------------------------------------------------------------


@click.group("campaigns")
def campaigns() -> None:
    """Campaigns: a segment x a template x a schedule; their results."""


@campaigns.command("list")
@JSON
def list_campaigns(as_json: bool) -> None:
    found = _messages().campaigns.list()
    _out(found, "\n".join(f"{c.id:>4}  {c.status:<9} {c.schedule:<8} {c.name}  ({c.queued} queued)" for c in found)
         or "No campaigns.", as_json)


@campaigns.command("create")
@click.argument("name")
@click.option("--template", required=True)
@click.option("--segment", help='Contact filters as JSON, e.g. \'{"club_level": "gold"}\'.')
@click.option("--channel", default="email", show_default=True)
@click.option("--schedule", type=click.Choice(["once", "birthday", "event"]), default="once", show_default=True)
@click.option("--trigger", help="With --schedule event: the event type, e.g. deal.won or contact.created.")
@click.option("--start", help="When (ISO 8601 with an offset); default now.")
@JSON
def create(name: str, template: str, segment: str | None, channel: str, schedule: str, trigger: str | None,
           start: str | None, as_json: bool) -> None:
    start_at = None
    if start:
        try:
            start_at = ensure_utc(datetime.fromisoformat(start), field="start")
        except ValueError:
            raise ValidationError(f"start: {start!r} is not an ISO 8601 date-time", field="start") from None
    c = _messages().campaigns.create(name, template=template, segment=_json_arg(segment, "segment"),
                                     channel=channel, schedule=schedule, start_at=start_at, trigger=trigger)
    _out(c, f"Campaign {c.id} created ({c.schedule}, {c.status}).", as_json)


@campaigns.command("queue")
@click.argument("campaign_id", type=int)
def queue(campaign_id: int) -> None:
    """Queue the campaign's messages now."""
    click.echo(f"Queued {_messages().campaigns.queue(campaign_id)} message(s).")


@campaigns.command("results")
@click.argument("campaign_id", type=int)
@click.option("--days", type=click.IntRange(1, 365), default=30, show_default=True,
              help="A deal within this many days after the message counts as converted.")
@JSON
def results(campaign_id: int, days: int, as_json: bool) -> None:
    r = _messages().campaigns.results(campaign_id, days=days)
    _out(r, "\n".join(f"{k}: {v}" for k, v in to_dict(r).items()), as_json)


COMMANDS = (messages, templates, webhooks, campaigns)
