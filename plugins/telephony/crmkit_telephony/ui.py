"""The plugin in the web UI: calls on the card (with the recording link), a click-to-call button,
and calls in timelines (``crm_register_ui_*`` hooks; only public crmkit imports)."""

from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import select

from crmkit import Crm, hookimpl
from crmkit.ui import N_, CardAction, CardPanel, Markup, PageContext, TimelineRenderer

from .calls import CALL, click_to_call
from .schema import calls

SHOWN_VALUES = (N_("inbound"), N_("outbound"), N_("answered"), N_("missed"), N_("busy"),
                N_("failed"), N_("voicemail"))
"""Call directions and results the timeline shows through ``ctx._`` (marked for the catalogs)."""

COLUMNS = {"deal": calls.c.deal_id, "contact": calls.c.contact_id, "lead": calls.c.lead_id}


def _duration(seconds: Any) -> str:
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}" if isinstance(seconds, int) else ""


def _recording(ctx: PageContext, url: Any) -> Markup:
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        return Markup(' <a href="{}" rel="noopener noreferrer" target="_blank">{}</a>').format(url, ctx._("Recording"))
    return Markup("")


def calls_panel(ctx: PageContext, entity: str, card: Any) -> Any:
    """The card's calls, newest first (the card itself was just read under the user's rules)."""
    with ctx.crm.engine.connect() as conn:
        rows = conn.execute(select(calls).where(COLUMNS[entity] == card.id)
                            .order_by(calls.c.started_at.desc()).limit(20)).all()
    if not rows:
        return Markup("<p class=\"muted\">{}</p>").format(ctx._("No calls yet."))
    items = Markup("").join(
        Markup("<li>{} · {} {} {}{}</li>").format(ctx.fmt.datetime(r.started_at), ctx._(r.direction),
                                                  ctx._(r.result or r.status), _duration(r.duration),
                                                  _recording(ctx, r.recording_url))
        for r in rows)
    return Markup('<ul class="plain calls">{}</ul>').format(items)


def _contact_id(entity: str, card: Any) -> int | None:
    return card.id if entity == "contact" else getattr(card, "contact_id", None)


def call(ctx: PageContext, entity: str, card: Any, values: Mapping[str, str]) -> str:
    assert ctx.services is not None
    if entity == "lead" and card.phone:
        click_to_call(ctx.services, to=card.phone)
    else:
        click_to_call(ctx.services, contact_id=_contact_id(entity, card))
    return ctx._("Calling: your phone rings first.")


def _callable(ctx: PageContext, entity: str, card: Any) -> bool:
    if entity == "contact":
        return bool(card.phones)
    if entity == "lead":
        return bool(card.phone)
    return card.contact_id is not None


def call_event(ctx: PageContext, event: Any) -> Any:
    data = event.data or {}
    kind = {"telephony.call_started": ctx._("Call started"), "telephony.call_finished": ctx._("Call"),
            "telephony.recording_added": ctx._("Call recording")}.get(event.type, event.type)
    return Markup("{}: {} {} {} {}{}").format(kind, ctx._(data.get("direction") or ""), data.get("phone") or "",
                                              ctx._(data.get("result") or ""), _duration(data.get("duration")),
                                              _recording(ctx, data.get("recording_url")))


@hookimpl
def crm_register_ui_panels(crm: Crm) -> list[CardPanel]:
    return [CardPanel("telephony.calls", N_("Calls"), calls_panel, entities=("deal", "contact", "lead"))]


@hookimpl
def crm_register_ui_actions(crm: Crm) -> list[CardAction]:
    return [CardAction("telephony.call", N_("Call"), call, entities=("contact", "deal", "lead"), permission=CALL,
                       available=_callable)]


@hookimpl
def crm_register_ui_timeline(crm: Crm) -> list[TimelineRenderer]:
    return [TimelineRenderer("telephony.*", call_event)]


__all__ = ["crm_register_ui_actions", "crm_register_ui_panels", "crm_register_ui_timeline"]
