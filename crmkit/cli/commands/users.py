"""``crmkit users``: who acts, who is responsible, who gets tasks."""

from __future__ import annotations

import click

from ..output import done, emit_page
from ..params import filter_option, json_option, page_options
from ..params import filters as make_filters
from ..state import pass_state


@click.group("users")
def users() -> None:
    """Users of the deployment (roles: admin, head, manager; teams are free text)."""


@users.command("list")
@click.option("--role", type=click.Choice(["admin", "head", "manager"]))
@click.option("--team")
@filter_option
@page_options
@json_option
def list_users(role: str | None, team: str | None, filters: tuple[str, ...], limit: int, cursor: str | None,
               as_json: bool) -> None:
    """List users."""
    state = pass_state()
    page = state.services.users.list(make_filters(filters, role=role, team=team), limit=limit, cursor=cursor)
    emit_page(page, [
        ("id", lambda u: u.id), ("e-mail", lambda u: u.email), ("name", lambda u: u.name),
        ("role", lambda u: u.role), ("team", lambda u: u.team), ("active", lambda u: u.active),
    ], as_json=as_json or state.json)


@users.command("add")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["admin", "head", "manager"]), default="manager", show_default=True)
@click.option("--team", help="e.g. sales, measurers.")
@json_option
def add(email: str, name: str, role: str, team: str | None, as_json: bool) -> None:
    """Add a user."""
    state = pass_state()
    user = state.services.users.create(email=email, name=name, role=role, team=team)
    done(f"Added user {user.id}: {user.name} <{user.email}> ({user.role})", user, as_json=as_json or state.json)
