"""The plugin in the web UI: a deal's installment schedule, a N_("Record payment") action, and its
events in timelines (``crm_register_ui_*`` hooks; only public crmkit imports)."""

from __future__ import annotations

from typing import Any, Mapping

from crmkit import Crm, NotFoundError, hookimpl
from crmkit.ui import N_, ActionField, CardAction, CardPanel, Markup, PageContext, TimelineRenderer

from .records import Plan
from .service import MANAGE, Installments

METHODS = ("cash", "card", "transfer")

PLAN_STATUSES = (N_("pending"), N_("active"), N_("paid off"), N_("written off"))
"""A plan's statuses as the panel shows them through ``ctx._`` (marked for the catalogs)."""


def _plan(ctx: PageContext, deal_id: int) -> Plan | None:
    try:
        return Installments(ctx.crm, ctx.user.id if ctx.user else None).plan(deal_id)
    except NotFoundError:
        return None


def schedule(ctx: PageContext, entity: str, card: Any) -> Any:
    plan = _plan(ctx, card.id)
    if plan is None:
        return None
    head = Markup("<p>{}</p>").format(ctx._("%(paid)s paid of %(financed)s; %(left)s outstanding (%(status)s).",
                                            paid=ctx.fmt.money(plan.paid), financed=ctx.fmt.money(plan.financed),
                                            left=ctx.fmt.money(plan.outstanding), status=ctx._(plan.status.replace("_", " "))))
    rows = Markup("").join(
        Markup("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>").format(
            item.seq, ctx.fmt.date(item.due_date), ctx.fmt.money(item.amount), ctx.fmt.money(item.paid))
        for item in plan.items)
    table = Markup('<table class="compact schedule"><thead><tr><th scope="col">#</th><th scope="col">{}</th>'
                   '<th scope="col">{}</th><th scope="col">{}</th></tr></thead><tbody>{}</tbody></table>').format(
        ctx._("Due"), ctx._(N_("Amount")), ctx._("Paid"), rows)
    return head + table


def record_payment(ctx: PageContext, entity: str, card: Any, values: Mapping[str, str]) -> str:
    payment = Installments(ctx.crm, ctx.user.id if ctx.user else None).record_payment(
        card.id, values.get("amount", ""), paid_on=values.get("paid_on") or None,
        method=values.get("method") or "cash")
    return ctx._("Payment of %(amount)s recorded.", amount=ctx.fmt.money(payment.amount))


def _payable(ctx: PageContext, entity: str, card: Any) -> bool:
    plan = _plan(ctx, card.id)
    return plan is not None and plan.status not in ("pending", "written_off", "paid_off")


def event(ctx: PageContext, event: Any) -> Any:
    data = event.data or {}
    what = event.type.split(".", 1)[1].replace("_", " ")
    amount = data.get("amount") or data.get("total")
    if isinstance(amount, dict) and "amount" in amount:
        return Markup("{}: {} {}").format(ctx._("Installments"), what, f"{amount['amount']} {amount.get('currency', '')}")
    return Markup("{}: {}").format(ctx._("Installments"), what)


@hookimpl
def crm_register_ui_panels(crm: Crm) -> list[CardPanel]:
    return [CardPanel("installments.schedule", N_("Installment plan"), schedule, entities=("deal",))]


@hookimpl
def crm_register_ui_actions(crm: Crm) -> list[CardAction]:
    return [CardAction("installments.record_payment", N_("Record payment"), record_payment, entities=("deal",),
                       fields=(ActionField("amount", N_("Amount"), "number", required=True),
                               ActionField("paid_on", N_("Paid on"), "date"),
                               ActionField("method", N_("Method"), "select", choices=tuple((m, m) for m in METHODS))),
                       permission=MANAGE, available=_payable)]


@hookimpl
def crm_register_ui_timeline(crm: Crm) -> list[TimelineRenderer]:
    return [TimelineRenderer("installments.*", event)]
