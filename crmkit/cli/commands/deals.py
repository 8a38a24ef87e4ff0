"""``crmkit deals``: sales cards moving through pipeline stages."""

from __future__ import annotations

from typing import Any

import click

from ...core.records import Deal
from ...core.services.deals import DealService
from ..output import Column, card, done, emit_json, emit_page
from ..params import custom_option, filter_option, json_option, order_option, page_options, pairs
from ..params import filters as make_filters
from ..state import CliState, pass_state


def columns(state: CliState) -> list[Column]:
    return [
        ("id", lambda r: r.id), ("title", lambda r: r.title), ("pipeline", lambda r: r.pipeline),
        ("stage", lambda r: r.stage), ("amount", lambda r: r.amount),
        ("responsible", lambda r: state.user_name(r.responsible_id)), ("in stage since", lambda r: r.stage_entered_at),
    ]


def show_deal(state: CliState, d: Deal) -> None:
    card(f"Deal {d.id}: {d.title}", [
        ("pipeline", d.pipeline), ("stage", d.stage), ("status", d.status), ("amount", d.amount),
        ("responsible", state.user_name(d.responsible_id)), ("contact", d.contact_id), ("company", d.company_id),
        ("lead", d.lead_id), ("source", d.source), ("lost reason", d.lost_reason), ("custom", d.custom),
        ("in stage since", d.stage_entered_at), ("closed", d.closed_at), ("created", d.created_at),
        ("version", d.version),
    ])


def _result(verb: str, deal: Deal, as_json: bool) -> None:
    state = pass_state()
    done(state.by(f"{verb} deal {deal.id}: now {deal.pipeline}/{deal.stage} ({deal.status})"), deal,
         as_json=as_json or state.json)


@click.group("deals")
def deals() -> None:
    """Deals: one sale each, moving through a pipeline's stages."""


@deals.command("list")
@click.option("--pipeline", help="Pipeline key (see `crmkit pipelines`).")
@click.option("--stage", help="Stage key.")
@click.option("--status", type=click.Choice(["open", "won", "lost"]))
@click.option("--responsible", metavar="USER", help="E-mail or id of the responsible user (me: --as).")
@click.option("--contact", "contact_id", type=int, help="Deals of this contact id.")
@click.option("--company", "company_id", type=int, help="Deals of this company id.")
@click.option("--currency", help="Only deals in this currency (and the one --min-amount, --max-amount compare in).")
@click.option("--min-amount", help="At least this amount (of --currency, default: the deployment's currency).")
@click.option("--max-amount", help="At most this amount (of --currency, default: the deployment's currency).")
@order_option(DealService.sortable)
@filter_option
@page_options
@json_option
def list_deals(pipeline: str | None, stage: str | None, status: str | None, responsible: str | None,
               contact_id: int | None, company_id: int | None, currency: str | None, min_amount: str | None,
               max_amount: str | None, order: str, filters: tuple[str, ...], limit: int, cursor: str | None,
               as_json: bool) -> None:
    """List deals, oldest first (--order amount: by amount within each currency, those without one last)."""
    state = pass_state()
    query = make_filters(filters, pipeline=pipeline, stage=stage, status=status, contact_id=contact_id,
                         company_id=company_id, responsible_id=state.user_id(responsible) if responsible else None,
                         currency=currency, amount__gte=min_amount, amount__lte=max_amount)
    page = state.services.deals.list(query, limit=limit, cursor=cursor, order=order)
    emit_page(page, columns(state), as_json=as_json or state.json)


@deals.command("show")
@click.argument("deal_id", type=int)
@json_option
def show(deal_id: int, as_json: bool) -> None:
    """Show one deal."""
    state = pass_state()
    deal = state.services.deals.get(deal_id)
    if as_json or state.json:
        emit_json(deal)
    else:
        show_deal(state, deal)


@deals.command("create")
@click.option("--title", required=True)
@click.option("--pipeline", help="Pipeline key (default: the deployment's sales pipeline).")
@click.option("--stage", help="Stage key (default: the pipeline's first stage).")
@click.option("--amount", help="Decimal amount, e.g. 1200.00.")
@click.option("--currency", help="ISO 4217 code (default: the deployment's currency).")
@click.option("--responsible", metavar="USER", help="E-mail or id of the responsible user.")
@click.option("--contact", "contact_id", type=int, help="Contact id.")
@click.option("--company", "company_id", type=int, help="Company id.")
@click.option("--lead", "lead_id", type=int, help="The lead id this deal came from.")
@click.option("--source", default="manual", show_default=True)
@custom_option
@json_option
def create(title: str, pipeline: str | None, stage: str | None, amount: str | None, currency: str | None,
           responsible: str | None, contact_id: int | None, company_id: int | None, lead_id: int | None,
           source: str, custom: tuple[str, ...], as_json: bool) -> None:
    """Create a deal."""
    state = pass_state()
    deal = state.acting().deals.create(
        title=title, pipeline=pipeline, stage=stage, amount=amount, currency=currency,
        responsible_id=state.user_id(responsible) if responsible else None, contact_id=contact_id,
        company_id=company_id, lead_id=lead_id, source=source,
        custom=state.custom("deal", pairs(custom, "--custom")),
    )
    _result("Created", deal, as_json)


@deals.command("update")
@click.argument("deal_id", type=int)
@click.option("--title")
@click.option("--amount", help="Decimal amount; an empty string clears it.")
@click.option("--currency")
@click.option("--responsible", metavar="USER", help="E-mail or id of the responsible user.")
@click.option("--contact", "contact_id", type=int)
@click.option("--company", "company_id", type=int)
@custom_option
@click.option("--version", type=int, help="Refuse if the deal changed since this version.")
@json_option
def update(deal_id: int, title: str | None, amount: str | None, currency: str | None, responsible: str | None,
           contact_id: int | None, company_id: int | None, custom: tuple[str, ...], version: int | None,
           as_json: bool) -> None:
    """Change a deal's fields (not its stage: use move, win, lose)."""
    state = pass_state()
    services = state.acting()
    changes: dict[str, Any] = {k: v for k, v in {"title": title, "amount": amount, "currency": currency,
                                 "contact_id": contact_id, "company_id": company_id}.items() if v is not None}
    if responsible is not None:
        changes["responsible_id"] = state.user_id(responsible)
    if custom:
        changes["custom"] = state.custom("deal", pairs(custom, "--custom"))
    if not changes:
        raise click.UsageError("nothing to change: give at least one option")
    _result("Updated", services.deals.update(deal_id, changes, version=version), as_json)


@deals.command("move")
@click.argument("deal_id", type=int)
@click.argument("stage")
@click.option("--pipeline", help="Move into another pipeline (e.g. deferred).")
@click.option("--reason", help="Lost-reason key, when STAGE is a lost stage.")
@click.option("--reason-text", help="Free-text reason, when STAGE is a lost stage.")
@click.option("--version", type=int, help="Refuse if the deal changed since this version.")
@json_option
def move(deal_id: int, stage: str, pipeline: str | None, reason: str | None, reason_text: str | None,
         version: int | None, as_json: bool) -> None:
    """Move a deal to STAGE."""
    deal = pass_state().acting().deals.move(deal_id, stage, pipeline=pipeline, reason=reason,
                                            reason_text=reason_text, version=version)
    _result("Moved", deal, as_json)


@deals.command("win")
@click.argument("deal_id", type=int)
@click.option("--stage", help="Which won stage (default: the pipeline's first).")
@click.option("--version", type=int, help="Refuse if the deal changed since this version.")
@json_option
def win(deal_id: int, stage: str | None, version: int | None, as_json: bool) -> None:
    """Close a deal as won."""
    _result("Won", pass_state().acting().deals.win(deal_id, stage=stage, version=version), as_json)


@deals.command("lose")
@click.argument("deal_id", type=int)
@click.option("--reason", help="Lost-reason key of the deployment (e.g. too_expensive).")
@click.option("--reason-text", help="Free-text reason (or a comment to --reason).")
@click.option("--stage", help="Which lost stage (default: the pipeline's first).")
@click.option("--version", type=int, help="Refuse if the deal changed since this version.")
@json_option
def lose(deal_id: int, reason: str | None, reason_text: str | None, stage: str | None, version: int | None,
         as_json: bool) -> None:
    """Close a deal as lost (a reason is required)."""
    deal = pass_state().acting().deals.lose(deal_id, reason=reason, reason_text=reason_text, stage=stage,
                                            version=version)
    _result("Lost", deal, as_json)


@deals.command("history")
@click.argument("deal_id", type=int)
@page_options
@json_option
def history(deal_id: int, limit: int, cursor: str | None, as_json: bool) -> None:
    """A deal's stage moves, oldest first."""
    state = pass_state()
    moves = state.services.deals.history(deal_id, limit=limit, cursor=cursor)
    emit_page(moves, [
        ("when", lambda m: m.moved_at), ("pipeline", lambda m: m.pipeline), ("from", lambda m: m.from_stage),
        ("to", lambda m: m.to_stage), ("by", lambda m: state.user_name(m.actor_id) or "system"),
    ], as_json=as_json or state.json)
