"""``crmkit notes add``, ``crmkit timeline``, ``crmkit pipelines``: what every card shares."""

from __future__ import annotations

from typing import Any

import click

from ...core.events import Event
from ...events import NOTE_ADDED
from ..output import done, emit_json, emit_page, fmt, table
from ..params import json_option, page_options
from ..state import pass_state

ENTITIES = ["lead", "contact", "company", "deal", "task", "user"]


@click.group("notes")
def notes() -> None:
    """Notes: comments on any card (they appear in its timeline)."""


@notes.command("add")
@click.argument("entity", type=click.Choice(ENTITIES[:-1]))
@click.argument("entity_id", type=int)
@click.argument("body")
@json_option
def add_note(entity: str, entity_id: int, body: str, as_json: bool) -> None:
    """Add a note BODY to the card ENTITY ENTITY_ID (e.g. deal 12 "Called, will decide Friday")."""
    state = pass_state()
    note = state.services.notes.add(entity, entity_id, body)
    done(f"Added note {note.id} to {note.entity_type} {note.entity_id}", note, as_json=as_json or state.json)


def describe(event: Event) -> str:
    """An event's changes (or note body) as one short line."""
    if event.type == NOTE_ADDED:
        return str(event.data.get("body", ""))
    parts = [f"{field}: {fmt(_plain(c.get('before')))} -> {fmt(_plain(c.get('after')))}"
             if c.get("before") is not None else f"{field}={fmt(_plain(c.get('after')))}"
             for field, c in event.changes.items()]
    reason = event.data.get("reason_label")
    if reason:
        parts.append(f"reason: {reason}")
    return "; ".join(parts)


def _plain(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"amount", "currency"}:
        return f"{value['amount']} {value['currency']}"
    return value


@click.command("timeline")
@click.argument("entity", type=click.Choice(ENTITIES))
@click.argument("entity_id", type=int)
@page_options
@json_option
def timeline(entity: str, entity_id: int, limit: int, cursor: str | None, as_json: bool) -> None:
    """The history of one card (its events, oldest first): e.g. `crmkit timeline deal 12`."""
    state = pass_state()
    page = state.services.timeline.of(entity, entity_id, limit=limit, cursor=cursor)
    if as_json or state.json:
        emit_json({"items": [e.to_dict() for e in page.items], "next_cursor": page.next_cursor})
        return
    emit_page(page, [
        ("when", lambda e: e.occurred_at), ("event", lambda e: e.type),
        ("by", lambda e: state.user_name(e.actor_id) or "system"), ("what", describe),
    ], as_json=False)


@click.command("pipelines")
@json_option
def pipelines(as_json: bool) -> None:
    """The pipelines (funnels) of the deployment and their stages, in order."""
    state = pass_state()
    crm = state.crm
    if as_json or state.json:
        emit_json({"pipelines": crm.pipelines, "lost_reasons": crm.lost_reasons})
        return
    for pipeline in crm.pipelines:
        default = " (default for new deals)" if pipeline.key == crm.settings.sales_pipeline else ""
        click.echo(f"{pipeline.key}: {pipeline.name}{default}")
        table(pipeline.stages, [("#", lambda s: s.position), ("stage", lambda s: s.key),
                                ("name", lambda s: s.name), ("kind", lambda s: s.kind)])
        click.echo("")
    click.echo("Lost reasons: " + (", ".join(r.key for r in crm.lost_reasons) or "none (free text only)"))
