"""``crmkit contacts``: natural persons with phones and e-mails."""

from __future__ import annotations

from typing import Any

import click

from ...core.records import Contact
from ..output import Column, card, done, emit_json, emit_page
from ..params import custom_option, filter_option, json_option, page_options, pairs
from ..params import filters as make_filters
from ..state import CliState, pass_state
from .privacy import erase_contact, export_contact


def columns(state: CliState) -> list[Column]:
    return [
        ("id", lambda r: r.id), ("name", lambda r: r.name), ("phones", lambda r: r.phones),
        ("e-mails", lambda r: r.emails), ("company", lambda r: r.company_id),
        ("responsible", lambda r: state.user_name(r.responsible_id)),
    ]


def show_contact(state: CliState, c: Contact) -> None:
    company = state.services.companies.get(c.company_id).name if c.company_id else None
    card(f"Contact {c.id}: {c.name}", [
        ("phones", c.phones), ("e-mails", c.emails), ("company", f"{company} ({c.company_id})" if company else None),
        ("birthday", c.birthday), ("responsible", state.user_name(c.responsible_id)), ("custom", c.custom),
        ("created", c.created_at), ("updated", c.updated_at), ("version", c.version),
    ])


@click.group("contacts")
def contacts() -> None:
    """Contacts: natural persons (customers and contact persons of companies)."""


@contacts.command("list")
@click.option("--phone", help="Contacts having this phone (any format).")
@click.option("--email", help="Contacts having this e-mail address.")
@click.option("--company", "company_id", type=int, help="Contact persons of this company id.")
@click.option("--responsible", metavar="USER", help="E-mail or id of the responsible user (me: --as).")
@filter_option
@page_options
@json_option
def list_contacts(phone: str | None, email: str | None, company_id: int | None, responsible: str | None,
                  filters: tuple[str, ...], limit: int, cursor: str | None, as_json: bool) -> None:
    """List contacts."""
    state = pass_state()
    query = make_filters(filters, phone=phone, email=email, company_id=company_id,
                         responsible_id=state.user_id(responsible) if responsible else None)
    page = state.services.contacts.list(query, limit=limit, cursor=cursor)
    emit_page(page, columns(state), as_json=as_json or state.json)


@contacts.command("show")
@click.argument("contact_id", type=int)
@json_option
def show(contact_id: int, as_json: bool) -> None:
    """Show one contact."""
    state = pass_state()
    contact = state.services.contacts.get(contact_id)
    if as_json or state.json:
        emit_json(contact)
    else:
        show_contact(state, contact)


@contacts.command("create")
@click.option("--first-name", default="")
@click.option("--last-name", default="")
@click.option("--phone", "phones", multiple=True, help="Phone number, repeatable (stored as E.164).")
@click.option("--email", "emails", multiple=True, help="E-mail address, repeatable.")
@click.option("--company", "company_id", type=int, help="The company (id) this person works for.")
@click.option("--birthday", help="YYYY-MM-DD.")
@click.option("--responsible", metavar="USER", help="E-mail or id of the responsible user.")
@custom_option
@json_option
def create(first_name: str, last_name: str, phones: tuple[str, ...], emails: tuple[str, ...],
           company_id: int | None, birthday: str | None, responsible: str | None, custom: tuple[str, ...],
           as_json: bool) -> None:
    """Create a contact."""
    state = pass_state()
    contact = state.acting().contacts.create(
        first_name=first_name, last_name=last_name, phones=phones, emails=emails, company_id=company_id,
        birthday=birthday, responsible_id=state.user_id(responsible) if responsible else None,
        custom=state.custom("contact", pairs(custom, "--custom")),
    )
    done(state.by(f"Created contact {contact.id}: {contact.name}"), contact, as_json=as_json or state.json)


@contacts.command("update")
@click.argument("contact_id", type=int)
@click.option("--first-name")
@click.option("--last-name")
@click.option("--phone", "phones", multiple=True, help="Phone number, repeatable: the new list (--phone '' clears it).")
@click.option("--email", "emails", multiple=True,
              help="E-mail address, repeatable: the new list (--email '' clears it).")
@click.option("--company", "company_id", help="The company id (an empty string: none).")
@click.option("--birthday", help="YYYY-MM-DD (an empty string clears it).")
@click.option("--responsible", metavar="USER", help="E-mail or id of the responsible user.")
@custom_option
@click.option("--version", type=int, help="Refuse if the contact changed since this version.")
@json_option
def update(contact_id: int, first_name: str | None, last_name: str | None, phones: tuple[str, ...],
           emails: tuple[str, ...], company_id: str | None, birthday: str | None, responsible: str | None,
           custom: tuple[str, ...], version: int | None, as_json: bool) -> None:
    """Change a contact's fields."""
    state = pass_state()
    services = state.acting()
    changes: dict[str, Any] = {k: v for k, v in {"first_name": first_name, "last_name": last_name,
                                                  "birthday": birthday}.items() if v is not None}
    if phones:
        changes["phones"] = [p for p in phones if p.strip()]
    if emails:
        changes["emails"] = [e for e in emails if e.strip()]
    if company_id is not None:
        text = company_id.strip()
        changes["company_id"] = int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else text or None
    if responsible is not None:
        changes["responsible_id"] = state.user_id(responsible)
    if custom:
        changes["custom"] = state.custom("contact", pairs(custom, "--custom"))
    if not changes:
        raise click.UsageError("nothing to change: give at least one option")
    contact = services.contacts.update(contact_id, changes, version=version)
    done(state.by(f"Updated contact {contact.id}: {contact.name}"), contact, as_json=as_json or state.json)


contacts.add_command(export_contact)
contacts.add_command(erase_contact)
