"""The plugin in the web UI (``crm_register_ui_*`` hooks; only public crmkit imports):

* a member panel on the contact card: phase, visits, memberships with what is left, recent
  check-ins, the touch points of the current cycle;
* the front desk's check-in page ``/p/fitness/desk``: a card number or member id in, allowed or
  refused with the reason out (the same decision as a turnstile's);
* the trainer's page ``/p/fitness/trainer``: their members by churn risk, with phase and last visit,
  and their classes to come;
* the plugin's events in timelines.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select

from crmkit import Crm, CrmError, NotFoundError, hookimpl, schema
from crmkit.ui import N_, CardPanel, Markup, PageContext, TimelineRenderer, UiPage

from .checkins import Request
from .club import Club
from .config import MANAGE, NAME
from .tables import classes, members, touches

SHOWN_VALUES = (N_("prospect"), N_("trial"), N_("adaptation"), N_("active"), N_("at risk"), N_("expiring"),
                N_("renewed"), N_("lapsed"))
"""Lifecycle phases and membership outcomes the member panel shows through ``ctx._`` (marked for the catalogs)."""

REASONS = {
    "ok": N_("Welcome in"), "unknown_member": N_("Unknown card or member"), "no_membership": N_("No membership"),
    "expired": N_("Membership expired"), "not_booked": N_("Not booked on this class"), "frozen": N_("Membership frozen"),
    "not_included": N_("Activity not included"), "outside_hours": N_("Outside access hours"),
    "no_sessions_left": N_("No sessions left"), "installment_overdue": N_("Installment overdue"),
}


def _club(ctx: PageContext) -> Club:
    return Club(ctx.crm, ctx.user.id if ctx.user else None)


def member_panel(ctx: PageContext, entity: str, card: Any) -> Any:
    try:
        state = _club(ctx).member(card.id)
    except NotFoundError:
        return None
    head = Markup('<p><strong class="phase phase-{}">{}</strong> {}</p>').format(
        state["phase"], ctx._(state["phase"].replace("_", " ")),
        ctx._("since %(day)s; cycle %(cycle)s; visits on %(visits)s days, the last %(last)s; risk %(risk)s",
              day=state["phase_since"], cycle=state["cycle"], visits=state["visits"],
              last=state["last_visit_on"] or ctx._("never"), risk=state["risk"]))
    rows = Markup("").join(Markup("<tr><td>{}</td><td>{} – {}</td><td>{}</td></tr>").format(
        m["name"] or m["product"], _day(ctx, m["starts_on"]), _day(ctx, m["ends_on"]), ctx._(m["outcome"]) if m["outcome"] else _left(ctx, m))
        for m in reversed(state["memberships"]))
    table = Markup('<div class="scroll"><table class="compact"><thead><tr><th scope="col">{}</th>'
                   '<th scope="col">{}</th><th scope="col">{}</th></tr></thead><tbody>{}</tbody></table></div>').format(
        ctx._("Product"), ctx._("Term"), ctx._("Left"), rows)
    visits = Markup("").join(Markup("<li>{} {}</li>").format(c["at"][:16].replace("T", " "),
                                                             ctx._(REASONS.get(c["reason"], c["reason"])))
                             for c in state["checkins"][:5])
    fired = _fired(ctx, card.id, state["cycle"])
    points = Markup("<p>{} {}</p>").format(ctx._("Touch points this cycle:"), ", ".join(fired) or ctx._("none yet"))
    return head + table + Markup("<ul class=\"checkins\">{}</ul>").format(visits) + points


def _day(ctx: PageContext, iso: str) -> str:
    """A term's day, short and in the user's language (ISO dates break in a narrow column)."""
    return ctx.fmt.date(date.fromisoformat(iso), "short")


def _left(ctx: PageContext, m: dict[str, Any]) -> str:
    if m["kind"] == "pack":
        return ctx._("%(n)s sessions", n=(m["sessions"] or 0) - m["sessions_used"])
    if m["visit_limit"] is not None:
        return ctx._("%(n)s visits", n=m["visit_limit"] - m["visits_used"])
    return ctx._("unlimited")


def _fired(ctx: PageContext, contact_id: int, cycle: int) -> list[str]:
    t = touches.c
    with ctx.crm.engine.connect() as conn:
        return list(conn.scalars(select(t.rule).where(t.contact_id == contact_id, t.cycle == cycle)
                                 .order_by(t.fired_on, t.id)))


def desk_page(ctx: PageContext) -> Any:
    """GET: the form; POST: the decision for a card number or a member id, big and clear."""
    answer = Markup("")
    if ctx.request.method == "POST":
        who = ctx.form.get("who", "").strip()
        try:
            ident = int(who) if who.isdigit() and len(who) < 10 else None
            req = Request(f"desk-{uuid.uuid4().hex}", ctx.crm.clock.now(), member_id=ident,
                          card=None if ident is not None else (who or None))
            if not who:
                raise NotFoundError("who: give a card number or a member id", field="who")
            [d] = _club(ctx).check_in([req])
            answer = Markup('<p class="decision {} status {}" role="status"><strong>{} {}</strong>{}</p>').format(
                "allowed" if d.allowed else "refused", "ok" if d.allowed else "error", "✔" if d.allowed else "✖",
                ctx._(REASONS.get(d.reason, d.reason)),
                Markup(' — <a href="/contacts/{}">{}</a>').format(d.contact_id, ctx._("member card"))
                if d.contact_id else "")
        except CrmError as exc:
            answer = Markup('<p class="error" role="alert">{}</p>').format(exc.message)
    form = Markup('<form method="post" class="desk"><input type="hidden" name="csrf" value="{}">'
                  '<label>{} <input name="who" autofocus autocomplete="off" inputmode="text" required></label> '
                  '<button type="submit">{}</button></form>').format(ctx.csrf, ctx._("Card or member id"),
                                                                      ctx._("Check in"))
    return form + answer


def trainer_page(ctx: PageContext) -> Any:
    """The logged-in trainer's members (an admin or head: ?trainer=ID), riskiest first, and classes to come."""
    me = ctx.user.id if ctx.user else 0
    raw = ctx.request.query_params.get("trainer", "")
    trainer = int(raw) if raw.isdigit() and len(raw) < 10 and ctx.allows(MANAGE) else me
    mc, c, k = members.c, schema.contacts.c, classes.c
    with ctx.crm.engine.connect() as conn:
        rows = conn.execute(select(mc.contact_id, c.first_name, c.last_name, mc.phase, mc.last_visit_on, mc.risk)
                            .join(schema.contacts, c.id == mc.contact_id).where(mc.trainer_id == trainer)
                            .order_by(mc.risk.desc(), mc.contact_id).limit(200)).all()
        upcoming = conn.execute(select(k.id, k.title, k.starts_at, k.capacity).where(
            k.trainer_id == trainer, k.starts_at >= ctx.crm.clock.now()).order_by(k.starts_at).limit(20)).all()
    body = Markup("").join(Markup('<tr><td><a href="/contacts/{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>')
                           .format(r.contact_id, f"{r.first_name} {r.last_name}".strip(), ctx._(r.phase.replace("_", " ")),
                                   r.last_visit_on or ctx._("never"), r.risk) for r in rows)
    table = Markup('<div class="scroll"><table class="compact"><thead><tr><th scope="col">{}</th><th scope="col">{}</th>'
                   '<th scope="col">{}</th><th scope="col">{}</th></tr></thead><tbody>{}</tbody></table></div>').format(
        ctx._("Member"), ctx._("Phase"), ctx._("Last visit"), ctx._("Risk"),
        body or Markup('<tr><td colspan="4">{}</td></tr>').format(ctx._("No members yet.")))
    lessons = Markup("").join(Markup("<li>{} — {}</li>").format(ctx.fmt.datetime(r.starts_at), r.title)
                              for r in upcoming)
    return table + Markup("<h2>{}</h2><ul>{}</ul>").format(ctx._("My classes"),
                                                          lessons or Markup("<li>{}</li>").format(ctx._("none")))


def event(ctx: PageContext, event: Any) -> Any:
    data = event.data or {}
    what = event.type.split(".", 1)[1].replace("_", " ")
    if event.type == f"{NAME}.checkin":
        return Markup("{}: {}").format(ctx._("Check-in"), ctx._(REASONS.get(data.get("reason", ""), data.get("reason"))))
    if event.type == f"{NAME}.phase_changed":
        return Markup("{}: {}").format(ctx._("Phase"), ctx._(str(data.get("phase", "")).replace("_", " ")))
    if event.type == f"{NAME}.touch_point":
        return Markup("{}: {}").format(ctx._("Touch point"), data.get("title", ""))
    return Markup("{}: {}").format(ctx._("Fitness"), what)


@hookimpl
def crm_register_ui_panels(crm: Crm) -> list[CardPanel]:
    return [CardPanel("fitness.member", N_("Membership"), member_panel, entities=("contact",))]


@hookimpl
def crm_register_ui_pages(crm: Crm) -> list[UiPage]:
    return [UiPage(NAME, "desk", N_("Front desk"), desk_page, methods=("GET", "POST"), permission=MANAGE),
            UiPage(NAME, "trainer", N_("My members"), trainer_page)]


@hookimpl
def crm_register_ui_timeline(crm: Crm) -> list[TimelineRenderer]:
    return [TimelineRenderer("fitness.*", event)]
