"""``crmkit <cards> archive|restore|delete ID`` for leads, contacts, companies, deals and tasks.

Archived cards leave the lists (``--filter archived=true`` or ``archived=any`` shows them); delete
is for admins (``cards.delete``), asks for confirmation unless ``--yes``, and keeps the card's events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ..output import done, emit_json
from ..params import json_option
from ..state import CliState, pass_state

if TYPE_CHECKING:  # pragma: no cover
    from ...core.services import Services

CARDS = {"leads": "lead", "contacts": "contact", "companies": "company", "deals": "deal", "tasks": "task"}


def acting(state: CliState) -> "Services":
    """The ``--as`` user's services for a change a person makes (``CliState.acting`` where it exists)."""
    chosen = getattr(state, "acting", None)
    return chosen() if callable(chosen) else state.services  # type: ignore[no-any-return]


def _archive_command(plural: str, entity: str) -> click.Command:
    @click.command("archive")
    @click.argument("card_id", type=int, metavar="ID")
    @json_option
    def archive(card_id: int, as_json: bool) -> None:
        state = pass_state()
        record = getattr(acting(state), plural).archive(card_id)
        done(f"Archived {entity} {card_id} (hidden from lists; `--filter archived=true` shows it)", record,
             as_json=as_json or state.json)

    archive.help = f"Archive {entity} ID: hidden from lists, still in reports and timelines."
    return archive


def _restore_command(plural: str, entity: str) -> click.Command:
    @click.command("restore")
    @click.argument("card_id", type=int, metavar="ID")
    @json_option
    def restore(card_id: int, as_json: bool) -> None:
        state = pass_state()
        record = getattr(acting(state), plural).restore(card_id)
        done(f"Restored {entity} {card_id}", record, as_json=as_json or state.json)

    restore.help = f"Restore archived {entity} ID (back in the lists)."
    return restore


def _delete_command(plural: str, entity: str) -> click.Command:
    @click.command("delete")
    @click.argument("card_id", type=int, metavar="ID")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    @json_option
    def delete(card_id: int, yes: bool, as_json: bool) -> None:
        state = pass_state()
        service: Any = getattr(state.services, plural)
        if not yes:
            click.confirm(f"Delete {entity} {card_id} for good (its notes and files too)? This cannot be undone",
                          abort=True)
        result = service.delete(card_id)
        if as_json or state.json:
            emit_json(result)
            return
        removed = result["removed"]
        gone = ", ".join(f"{k} {v}" for k, v in removed.items() if k != "detached_tasks" and v)
        detached = removed.get("detached_tasks") or []
        extra = (f"; removed: {gone}" if gone else "") + (
            f"; tasks kept, detached: {', '.join(map(str, detached))}" if detached else "")
        click.echo(f"Deleted {entity} {card_id} (its events stay in the log{extra})")

    delete.help = f"Delete {entity} ID for good (admins). Its events stay in the log."
    return delete


def attach(groups: dict[str, click.Group]) -> None:
    """Add archive, restore and delete to each card group (``{"deals": deals, ...}``)."""
    for plural, group in groups.items():
        entity = CARDS[plural]
        for make in (_archive_command, _restore_command, _delete_command):
            group.add_command(make(plural, entity))
