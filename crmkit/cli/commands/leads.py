"""``crmkit leads``: first requests from any channel."""

from __future__ import annotations

import click

from typing import Any

from ...core.records import Lead
from ...core.services.leads import LeadService
from ..output import Column, card, done, emit_json, emit_page
from ..params import custom_option, filter_option, json_option, order_option, page_options, pairs
from ..params import filters as make_filters
from ..state import CliState, pass_state


def columns(state: CliState) -> list[Column]:
    return [
        ("id", lambda r: r.id), ("title", lambda r: r.title), ("name", lambda r: r.name or r.company_name),
        ("phone", lambda r: r.phone), ("source", lambda r: r.source), ("stage", lambda r: r.stage or r.status),
        ("responsible", lambda r: state.user_name(r.responsible_id)), ("created", lambda r: r.created_at),
    ]


def show_lead(state: CliState, lead: Lead) -> None:
    card(f"Lead {lead.id}: {lead.title}", [
        ("status", lead.status), ("stage", lead.stage), ("name", lead.name), ("company", lead.company_name), ("phone", lead.phone),
        ("e-mail", lead.email), ("source", lead.source), ("utm", lead.utm or None),
        ("customer kind", lead.customer_kind), ("responsible", state.user_name(lead.responsible_id)),
        ("contact", lead.contact_id), ("rejected because", lead.lost_reason), ("custom", lead.custom),
        ("created", lead.created_at), ("closed", lead.closed_at), ("version", lead.version),
    ])


@click.group("leads")
def leads() -> None:
    """Leads: requests from web forms, calls, e-mail and messengers."""


@leads.command("list")
@click.option("--status", type=click.Choice(["new", "in_progress", "converted", "rejected"]))
@click.option("--stage", help="A stage of the lead pipeline (see `crmkit pipelines`).")
@click.option("--source", help="web_form, call, email, messenger, manual, import, ...")
@click.option("--responsible", metavar="USER", help="E-mail or id of the responsible user (me: --as).")
@order_option(LeadService.sortable)
@filter_option
@page_options
@json_option
def list_leads(status: str | None, stage: str | None, source: str | None, responsible: str | None,
               order: str, filters: tuple[str, ...], limit: int, cursor: str | None, as_json: bool) -> None:
    """List leads, oldest first (--order -score: the best lead_win score first, unscored last)."""
    state = pass_state()
    resp = state.user_id(responsible) if responsible else None
    query = make_filters(filters, status=status, stage=stage, source=source, responsible_id=resp)
    page = state.services.leads.list(query, limit=limit, cursor=cursor, order=order)
    emit_page(page, columns(state), as_json=as_json or state.json)


@leads.command("show")
@click.argument("lead_id", type=int)
@json_option
def show(lead_id: int, as_json: bool) -> None:
    """Show one lead."""
    state = pass_state()
    lead = state.services.leads.get(lead_id)
    if as_json or state.json:
        emit_json(lead)
    else:
        show_lead(state, lead)


@leads.command("create")
@click.option("--title", required=True, help="What the request is about.")
@click.option("--name", default="", help="The person's name.")
@click.option("--company-name", default="", help="The company, if the customer is a legal entity.")
@click.option("--phone", help="Phone number (stored as E.164).")
@click.option("--email", help="E-mail address.")
@click.option("--source", default="manual", show_default=True, help="web_form, call, email, messenger, ...")
@click.option("--responsible", metavar="USER", help="E-mail or id of the responsible user.")
@click.option("--customer-kind", type=click.Choice(["person", "legal_entity"]))
@click.option("--utm", "utm", multiple=True, metavar="KEY=VALUE",
              help="UTM field, repeatable: source, medium, campaign, term, content (e.g. --utm source=google).")
@custom_option
@json_option
def create(title: str, name: str, company_name: str, phone: str | None, email: str | None, source: str,
           responsible: str | None, customer_kind: str | None, utm: tuple[str, ...], custom: tuple[str, ...],
           as_json: bool) -> None:
    """Capture a new lead (linked to a known contact with the same phone or e-mail; nobody
    responsible: the contact's manager, else the deployment's [lead_assignment] rule)."""
    state = pass_state()
    lead = state.acting().leads.create(
        title=title, name=name, company_name=company_name, phone=phone, email=email, source=source,
        responsible_id=state.user_id(responsible) if responsible else None, customer_kind=customer_kind,
        utm=pairs(utm, "--utm") or None, custom=state.custom("lead", pairs(custom, "--custom")),
    )
    who = (f", for {state.user_name(lead.responsible_id)}" if lead.responsible_id
           else ", in the queue (nobody responsible)")
    done(state.by(f"Created lead {lead.id}: {lead.title}{who}"), lead, as_json=as_json or state.json)


@leads.command("update")
@click.argument("lead_id", type=int)
@click.option("--title")
@click.option("--name", help="The person's name.")
@click.option("--company-name")
@click.option("--phone", help="Phone number (stored as E.164); an empty string clears it.")
@click.option("--email", help="E-mail address; an empty string clears it.")
@click.option("--source")
@click.option("--responsible", metavar="USER", help="E-mail or id of the responsible user (me: take the lead).")
@click.option("--customer-kind", type=click.Choice(["person", "legal_entity"]))
@click.option("--utm", "utm", multiple=True, metavar="KEY=VALUE", help="UTM field, repeatable.")
@custom_option
@click.option("--version", type=int, help="Refuse if the lead changed since this version.")
@json_option
def update(lead_id: int, title: str | None, name: str | None, company_name: str | None, phone: str | None,
           email: str | None, source: str | None, responsible: str | None, customer_kind: str | None,
           utm: tuple[str, ...], custom: tuple[str, ...], version: int | None, as_json: bool) -> None:
    """Change an open lead's fields (e.g. take it from the queue: --responsible me)."""
    state = pass_state()
    services = state.acting()
    changes: dict[str, Any] = {k: v for k, v in {
        "title": title, "name": name, "company_name": company_name, "phone": phone, "email": email,
        "source": source, "customer_kind": customer_kind}.items() if v is not None}
    if responsible is not None:
        changes["responsible_id"] = state.user_id(responsible)
    if utm:
        changes["utm"] = pairs(utm, "--utm")
    if custom:
        changes["custom"] = state.custom("lead", pairs(custom, "--custom"))
    if not changes:
        raise click.UsageError("nothing to change: give at least one option")
    lead = services.leads.update(lead_id, changes, version=version)
    done(state.by(f"Updated lead {lead.id}: {lead.title}"), lead, as_json=as_json or state.json)


@leads.command("reject")
@click.argument("lead_id", type=int)
@click.option("--reason", help="A lost-reason key of the deployment (e.g. not_a_target_customer).")
@click.option("--reason-text", help="A free-text reason (or a comment to --reason).")
@click.option("--version", type=int, help="Refuse if the lead changed since this version.")
@json_option
def reject(lead_id: int, reason: str | None, reason_text: str | None, version: int | None, as_json: bool) -> None:
    """Close a lead as not a target customer (a reason is required)."""
    state = pass_state()
    lead = state.acting().leads.reject(lead_id, reason=reason, reason_text=reason_text, version=version)
    done(state.by(f"Rejected lead {lead.id}: {lead.lost_reason}"), lead, as_json=as_json or state.json)


@leads.command("reopen")
@click.argument("lead_id", type=int)
@click.option("--version", type=int, help="Refuse if the lead changed since this version.")
@json_option
def reopen(lead_id: int, version: int | None, as_json: bool) -> None:
    """Open a rejected lead again (back in the first stage of the lead pipeline)."""
    state = pass_state()
    lead = state.acting().leads.reopen(lead_id, version=version)
    done(state.by(f"Reopened lead {lead.id}: now {lead.stage or lead.status}"), lead, as_json=as_json or state.json)


@leads.command("move")
@click.argument("lead_id", type=int)
@click.argument("stage")
@click.option("--version", type=int, help="Refuse if the lead changed since this version.")
@json_option
def move(lead_id: int, stage: str, version: int | None, as_json: bool) -> None:
    """Move a lead to another open STAGE of the lead pipeline (e.g. qualifying)."""
    state = pass_state()
    lead = state.acting().leads.move(lead_id, stage, version=version)
    done(state.by(f"Lead {lead.id} is now in {lead.stage}"), lead, as_json=as_json or state.json)


@leads.command("convert")
@click.argument("lead_id", type=int)
@click.option("--customer-kind", type=click.Choice(["person", "legal_entity"]),
              help="Only a legal entity gets a company [default: the lead's, else person].")
@click.option("--company-name", help="The company's name (default: the lead's company name).")
@click.option("--title", help="The deal's title (default: the lead's).")
@click.option("--amount", help="The deal's amount, e.g. 1200.00.")
@click.option("--currency", help="ISO 4217 code [default: the deployment's].")
@click.option("--stage", help="The deal's first stage in the sales pipeline.")
@custom_option
@click.option("--version", type=int, help="Refuse if the lead changed since this version.")
@json_option
def convert(lead_id: int, customer_kind: str | None, company_name: str | None, title: str | None,
            amount: str | None, currency: str | None, stage: str | None, custom: tuple[str, ...],
            version: int | None, as_json: bool) -> None:
    """Convert a qualified lead: contact (or the matched one), company (legal entities only) and deal."""
    state = pass_state()
    fields = {"title": title, "amount": amount, "currency": currency, "stage": stage,
              "custom": state.custom("deal", pairs(custom, "--custom")) or None}
    deal = {k: v for k, v in fields.items() if v is not None}
    result = state.acting().leads.convert(
        lead_id, customer_kind=customer_kind, company={"name": company_name} if company_name else None,
        deal=deal, version=version,
    )
    if as_json or state.json:
        emit_json({"lead": result.lead, "contact": result.contact, "company": result.company, "deal": result.deal})
        return
    made = f"contact {result.contact.id}" + (f", company {result.company.id}" if result.company else "")
    click.echo(state.by(f"Converted lead {result.lead.id}: {made}, deal {result.deal.id} in "
                        f"{result.deal.pipeline}/{result.deal.stage}"))
