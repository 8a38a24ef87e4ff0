"""``crmkit notes``, ``crmkit timeline``, ``crmkit pipelines``: what every card shares."""

from __future__ import annotations

from typing import Any

import click

from ...core.events import Event
from ...core.records import Pipeline
from ...events import NOTE_ADDED
from ..output import as_data, done, emit_json, emit_page, fmt, table
from ..params import card_ref, filter_option, json_option, page_options
from ..params import filters as make_filters
from ..state import CliState, pass_state

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
    note = state.acting().notes.add(entity, entity_id, body)
    done(state.by(f"Added note {note.id} to {note.entity_type} {note.entity_id}"), note, as_json=as_json or state.json)


@notes.command("list")
@click.option("--on", "on", metavar="TYPE:ID", help="The notes on one card, e.g. deal:12.")
@click.option("--author", metavar="USER", help="E-mail or id of the author (me: the --as user).")
@filter_option
@page_options
@json_option
def list_notes(on: str | None, author: str | None, filters: tuple[str, ...], limit: int, cursor: str | None,
               as_json: bool) -> None:
    """List notes, oldest first (those on cards you may read)."""
    state = pass_state()
    entity_type, entity_id = card_ref(on) if on else (None, None)
    query = make_filters(filters, entity_type=entity_type, entity_id=entity_id,
                         author_id=state.user_id(author) if author else None)
    page = state.services.notes.list(query, limit=limit, cursor=cursor)
    emit_page(page, [
        ("id", lambda n: n.id), ("on", lambda n: f"{n.entity_type}:{n.entity_id}"),
        ("by", lambda n: state.user_name(n.author_id) or "system"), ("when", lambda n: n.created_at),
        ("note", lambda n: n.body),
    ], as_json=as_json or state.json)


def describe(event: Event) -> str:
    """An event's changes (or note body) as one short line."""
    if event.type == NOTE_ADDED:
        return str(event.data.get("body", ""))
    parts = [f"{field}: {fmt(_plain(c.get('before')))} -> {fmt(_plain(c.get('after')))}"
             if c.get("before") is not None else f"{field}={fmt(_plain(c.get('after')))}"
             for field, c in event.changes.items()]
    reason = event.data.get("reason_label") or event.data.get("reason")
    if reason:
        parts.append(f"reason: {reason}")
    if event.entity_type == "task" and event.data.get("entity_type"):
        parts.insert(0, f"on {event.data['entity_type']} {event.data['entity_id']}")
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
        ("card", lambda e: f"{e.entity_type}:{e.entity_id}"),
        ("by", lambda e: state.user_name(e.actor_id) or "system"), ("what", describe),
    ], as_json=False)


Totals = dict[str, tuple[int, list[Any]]]


def stage_totals(state: CliState, pipeline: Pipeline) -> Totals:
    """Per stage: how many cards (leads in the lead pipeline, else deals) the acting user may read,
    and the deals' amounts summed per currency."""
    services = state.services
    if pipeline.key == state.crm.settings.lead_pipeline:
        return {key: (n, []) for key, n in services.leads.stage_counts().items()}
    return services.deals.stage_totals(pipeline.key)


@click.command("pipelines")
@json_option
def pipelines(as_json: bool) -> None:
    """The pipelines (funnels) of the deployment, their stages in order, and per stage how many cards
    it holds and the sum of their amounts per currency (the ones the --as user may read)."""
    state = pass_state()
    crm = state.crm
    totals = {p.key: stage_totals(state, p) for p in crm.pipelines}
    if as_json or state.json:
        emit_json({"pipelines": [{**{k: as_data(v) for k, v in vars_of(p).items()},
                                  "stages": [{**as_data(s), "cards": totals[p.key][s.key][0],
                                              "amounts": as_data(totals[p.key][s.key][1])} for s in p.stages]}
                                 for p in crm.pipelines],
                   "lost_reasons": crm.lost_reasons})
        return
    for pipeline in crm.pipelines:
        default = " (default for new deals)" if pipeline.key == crm.settings.sales_pipeline else ""
        counted = totals[pipeline.key]
        click.echo(f"{pipeline.key}: {pipeline.name}{default}")
        table(pipeline.stages, [("#", lambda s: s.position), ("stage", lambda s: s.key),
                                ("name", lambda s: s.name), ("kind", lambda s: s.kind),
                                ("leads" if pipeline.key == crm.settings.lead_pipeline else "deals",
                                 lambda s: counted[s.key][0]),
                                ("amount", lambda s: ", ".join(str(m) for m in counted[s.key][1]))])
        click.echo("")
    click.echo("Lost reasons: " + (", ".join(r.key for r in crm.lost_reasons) or "none (free text only)"))


def vars_of(pipeline: Pipeline) -> dict[str, Any]:
    """A pipeline's fields but its stages."""
    return {"id": pipeline.id, "key": pipeline.key, "name": pipeline.name}
