"""``crmkit companies``: legal entities and their contact persons."""

from __future__ import annotations

from typing import Any

import click

from ..output import Column, as_data, card, done, emit_json, emit_page, table
from ..params import custom_option, filter_option, json_option, page_options, pairs
from ..params import filters as make_filters
from ..state import CliState, pass_state
from . import contacts as contact_views


def columns(state: CliState) -> list[Column]:
    return [
        ("id", lambda r: r.id), ("name", lambda r: r.name), ("address", lambda r: r.address),
        ("responsible", lambda r: state.user_name(r.responsible_id)),
    ]


@click.group("companies")
def companies() -> None:
    """Companies: legal entities with their contact persons."""


@companies.command("list")
@click.option("--name", help="Exactly this name.")
@click.option("--responsible", metavar="USER", help="E-mail or id of the responsible user (me: --as).")
@filter_option
@page_options
@json_option
def list_companies(name: str | None, responsible: str | None, filters: tuple[str, ...], limit: int,
                   cursor: str | None, as_json: bool) -> None:
    """List companies."""
    state = pass_state()
    query = make_filters(filters, name=name, responsible_id=state.user_id(responsible) if responsible else None)
    page = state.services.companies.list(query, limit=limit, cursor=cursor)
    emit_page(page, columns(state), as_json=as_json or state.json)


@companies.command("show")
@click.argument("company_id", type=int)
@json_option
def show(company_id: int, as_json: bool) -> None:
    """Show a company and its contact persons."""
    state = pass_state()
    services = state.services
    company = services.companies.get(company_id)
    people = services.contacts.list(company_id=company.id, limit=100).items
    if as_json or state.json:
        emit_json({**as_data(company), "contacts": list(people)})
        return
    card(f"Company {company.id}: {company.name}", [
        ("address", company.address), ("responsible", state.user_name(company.responsible_id)),
        ("custom", company.custom), ("created", company.created_at), ("version", company.version),
    ])
    click.echo("Contact persons:")
    table(people, contact_views.columns(state))


@companies.command("create")
@click.option("--name", required=True, help="The legal name.")
@click.option("--address")
@click.option("--responsible", metavar="USER", help="E-mail or id of the responsible user.")
@custom_option
@json_option
def create(name: str, address: str | None, responsible: str | None, custom: tuple[str, ...], as_json: bool) -> None:
    """Create a company (add its people with `crmkit contacts create --company ID`)."""
    state = pass_state()
    company = state.acting().companies.create(
        name=name, address=address, responsible_id=state.user_id(responsible) if responsible else None,
        custom=state.custom("company", pairs(custom, "--custom")),
    )
    done(state.by(f"Created company {company.id}: {company.name}"), company, as_json=as_json or state.json)


@companies.command("update")
@click.argument("company_id", type=int)
@click.option("--name", help="The legal name.")
@click.option("--address", help="The address (an empty string clears it).")
@click.option("--responsible", metavar="USER", help="E-mail or id of the responsible user.")
@custom_option
@click.option("--version", type=int, help="Refuse if the company changed since this version.")
@json_option
def update(company_id: int, name: str | None, address: str | None, responsible: str | None, custom: tuple[str, ...],
           version: int | None, as_json: bool) -> None:
    """Change a company's fields."""
    state = pass_state()
    services = state.acting()
    changes: dict[str, Any] = {k: v for k, v in {"name": name, "address": address}.items() if v is not None}
    if responsible is not None:
        changes["responsible_id"] = state.user_id(responsible)
    if custom:
        changes["custom"] = state.custom("company", pairs(custom, "--custom"))
    if not changes:
        raise click.UsageError("nothing to change: give at least one option")
    company = services.companies.update(company_id, changes, version=version)
    done(state.by(f"Updated company {company.id}: {company.name}"), company, as_json=as_json or state.json)

