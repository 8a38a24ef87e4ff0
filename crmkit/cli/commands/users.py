"""``crmkit users``: who acts, who is responsible, who gets tasks."""

from __future__ import annotations

import click

from ...core import auth
from ..output import done, emit_json, emit_page, table
from ..params import filter_option, json_option, page_options
from ..params import filters as make_filters
from ..state import pass_state


@click.group("users")
def users() -> None:
    """Users of the deployment (roles: admin, head, manager; teams are free text)."""


@users.command("list")
@click.option("--role", help="admin, head, manager, or a role an enabled plugin adds.")
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
@click.option("--role", default="manager", show_default=True,
              help="admin, head, manager, or a role an enabled plugin adds.")
@click.option("--team", help="e.g. sales, measurers.")
@click.option("--password", help="A password for logging in (8+ characters); prefer API tokens for scripts.")
@json_option
def add(email: str, name: str, role: str, team: str | None, password: str | None, as_json: bool) -> None:
    """Add a user."""
    state = pass_state()
    user = state.services.users.create(email=email, name=name, role=role, team=team)
    if password is not None:
        auth.set_password(state.crm, user.id, password, actor_id=state.services.actor_id)
    done(f"Added user {user.id}: {user.name} <{user.email}> ({user.role})", user, as_json=as_json or state.json)


@users.command("set-role")
@click.argument("user", metavar="USER")
@click.argument("role")
@json_option
def set_role(user: str, role: str, as_json: bool) -> None:
    """Give USER (e-mail or id) another ROLE."""
    state = pass_state()
    changed = state.services.users.update(state.user_id(user), {"role": role})
    done(f"User {changed.id} ({changed.email}) is now {changed.role}", changed, as_json=as_json or state.json)


def _set_active(user: str, active: bool, as_json: bool) -> None:
    state = pass_state()
    changed = state.services.users.update(state.user_id(user), {"active": active})
    what = "active again" if active else "deactivated: their tokens are refused from the next request on"
    done(f"User {changed.id} ({changed.name}) is {what}", changed, as_json=as_json or state.json)


@users.command("deactivate")
@click.argument("user", metavar="USER")
@json_option
def deactivate(user: str, as_json: bool) -> None:
    """Deactivate USER (e-mail or id): no login, no API; their cards keep them as history."""
    _set_active(user, False, as_json)


@users.command("activate")
@click.argument("user", metavar="USER")
@json_option
def activate(user: str, as_json: bool) -> None:
    """Activate USER (e-mail or id) again."""
    _set_active(user, True, as_json)


@users.command("set-password")
@click.argument("user", metavar="USER")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="The new password (8+ characters); asked for, hidden, when not given.")
def set_password(user: str, password: str) -> None:
    """Set USER's (e-mail or id) password, e.g. their first one (the API asks for the current one)."""
    state = pass_state()
    user_id = state.user_id(user)
    auth.set_password(state.crm, user_id, password, actor_id=state.services.actor_id)
    click.echo(f"Set the password of user {user_id}.")


@users.command("token")
@click.argument("user", metavar="USER")
@click.option("--name", default="", help="What the token is for (e.g. website-form, zapier).")
@json_option
def token(user: str, name: str, as_json: bool) -> None:
    """Create an API token for USER; the secret is shown once, only its hash is stored."""
    state = pass_state()
    made, secret = auth.create_token(state.crm, state.user_id(user), name, actor_id=state.services.actor_id)
    if as_json or state.json:
        emit_json({"token": made, "secret": secret})
        return
    click.echo(f"Token {made.id} for user {made.user_id} ({made.name or 'no name'}). Copy it now, it is not shown again:")
    click.echo(secret)


@users.command("tokens")
@click.argument("user", metavar="USER", required=False)
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked tokens.")
@json_option
def tokens(user: str | None, include_revoked: bool, as_json: bool) -> None:
    """List API tokens (of USER, or everyone's)."""
    state = pass_state()
    found = auth.list_tokens(state.crm, state.user_id(user) if user else None, include_revoked=include_revoked)
    if as_json or state.json:
        emit_json(found)
        return
    table(found, [("id", lambda t: t.id), ("user", lambda t: state.user_name(t.user_id)), ("name", lambda t: t.name),
                  ("prefix", lambda t: t.prefix), ("created", lambda t: t.created_at),
                  ("last used", lambda t: t.last_used_at), ("revoked", lambda t: t.revoked_at)])


@users.command("revoke-token")
@click.argument("token_id", type=int)
@json_option
def revoke_token(token_id: int, as_json: bool) -> None:
    """Revoke an API token (requests with it get 401 from now on)."""
    state = pass_state()
    revoked = auth.revoke_token(state.crm, token_id, actor_id=state.services.actor_id)
    done(f"Revoked token {revoked.id}", revoked, as_json=as_json or state.json)
