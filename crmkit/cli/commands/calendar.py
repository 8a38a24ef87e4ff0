"""``crmkit users calendar-url EMAIL``: a user's task calendar feed (a secret URL), made, replaced or revoked."""

from __future__ import annotations

import click

from ...core.calendar import feed_path
from ..state import pass_state


@click.command("calendar-url")
@click.argument("user")
@click.option("--base-url", metavar="URL", help="The server's public address, e.g. https://crm.example.com, "
              "to print the whole URL (else the path to append to it).")
@click.option("--revoke", is_flag=True, help="End the feed instead: its URL stops working.")
def calendar_url(user: str, base_url: str | None, revoke: bool) -> None:
    """Make (or replace) USER's task calendar URL and print it, once: an iCalendar feed of their tasks
    for the calendar they use. Anyone with the URL reads it; run again to replace it."""
    state = pass_state()
    user_id = state.user_id(user)
    calendar = state.services.calendar
    if revoke:
        gone = calendar.revoke(user_id)
        click.echo(f"Revoked the calendar URL of {state.user_name(user_id)}" if gone
                   else f"{state.user_name(user_id)} had no calendar URL")
        return
    path = feed_path(calendar.rotate(user_id))
    click.echo(f"Calendar URL of {state.user_name(user_id)} (shown once; the previous one no longer works):")
    click.echo((base_url.rstrip("/") + path) if base_url else path)


def attach(users: click.Group) -> None:
    users.add_command(calendar_url)
