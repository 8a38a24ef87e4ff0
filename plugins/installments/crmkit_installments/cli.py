"""``crmkit installments ...``: plans, payments, reversals, aging and cash-in from the shell.

Commands act as the ``--as`` user (record rules apply) and print JSON with ``--json``.
"""

from __future__ import annotations

import json
from typing import Any

import click

from .records import Payment, Plan
from .reports import BUCKETS, aging, cash_in
from .service import Installments


def _state() -> Any:
    from crmkit.cli import invocation  # the CLI's --as / --json / --config of this invocation

    return invocation()


def _service(*, person: bool = False) -> Installments:
    """The service acting as ``--as``; ``person``: a change a person makes (``--as`` required)."""
    state = _state()
    return Installments(state.crm, (state.acting() if person else state.services).actor_id)


def _json(data: Any) -> bool:
    if _state().json:
        click.echo(json.dumps(data, indent=2))
        return True
    return False


def _show_plan(plan: Plan) -> None:
    if _json(plan.to_json()):
        return
    control = f", control deal {plan.control_deal_id}" if plan.control_deal_id else ""
    click.echo(f"Plan {plan.id} on deal {plan.deal_id}{control}: {plan.status}")
    click.echo(f"  total {plan.total}, down payment {plan.down_payment}, financed {plan.financed}")
    click.echo(f"  paid {plan.paid}, outstanding {plan.outstanding}, credit {plan.credit}")
    for item in plan.items:
        click.echo(f"  #{item.seq:<3} {item.due_date}  {item.amount.amount:>12}  {_item_state(item)}")


def _item_state(item: Any) -> str:
    """``paid``, ``unpaid``, or ``200.00 paid, 300.00 due`` for a partly paid item."""
    if not item.outstanding.amount > 0:
        return "paid"
    if not item.paid.amount:
        return "unpaid"
    return f"{item.paid.amount} paid, {item.outstanding.amount} due"


def _show_payment(p: Payment) -> None:
    if _json(p.to_json()):
        return
    state = f"reversed {p.reversed_at:%Y-%m-%d}: {p.reversal_reason}" if p.reversed_at else "ok"
    parts = ", ".join(f"#{a.seq} {a.amount.amount}" for a in p.allocations) or "credit"
    click.echo(f"payment {p.id}  {p.paid_on}  {p.amount}  {p.method} {p.reference}  [{state}]  -> {parts}")


@click.group(name="installments")
def group() -> None:
    """Installment plans, payments and the Installment control pipeline."""


@group.command("plan")
@click.argument("deal_id", type=int)
@click.option("--payments", "count", type=int, help="Number of monthly payments.")
@click.option("--start", help="First due date (YYYY-MM-DD) [default: a month from today].")
@click.option("--date", "dates", multiple=True, help="An explicit due date (repeat; instead of --payments).")
@click.option("--total", help="Total price [default: the deal's amount].")
@click.option("--down", "down", default="0", show_default=True, help="Down payment.")
@click.option("--currency", help="ISO currency [default: the deal's].")
@click.option("--replace", is_flag=True, help="Replace the deal's plan (only before the deal is won).")
def plan_cmd(deal_id: int, count: int | None, start: str | None, dates: tuple[str, ...], total: str | None,
             down: str, currency: str | None, replace: bool) -> None:
    """Put an installment plan on a deal."""
    _show_plan(_service(person=True).create_plan(deal_id, payments=count, start=start, dates=list(dates) or None,
                                      total=total, down_payment=down, currency=currency, replace=replace))


@group.command("schedule")
@click.argument("deal_id", type=int)
def schedule_cmd(deal_id: int) -> None:
    """Show a deal's plan and schedule (the original deal or its control copy)."""
    _show_plan(_service().plan(deal_id))


@group.command("pay")
@click.argument("deal_id", type=int)
@click.argument("amount")
@click.option("--date", "paid_on", help="When it was paid (YYYY-MM-DD) [default: today].")
@click.option("--method", default="cash", show_default=True)
@click.option("--reference", default="", help="Receipt, transfer or card reference.")
def pay_cmd(deal_id: int, amount: str, paid_on: str | None, method: str, reference: str) -> None:
    """Record a received payment."""
    _show_payment(_service(person=True).record_payment(deal_id, amount, paid_on=paid_on, method=method,
                                                       reference=reference))


@group.command("payments")
@click.argument("deal_id", type=int)
def payments_cmd(deal_id: int) -> None:
    """List a plan's payments with their allocations."""
    found = _service().payments(deal_id)
    if not _json([p.to_json() for p in found]):
        for p in found:
            _show_payment(p)


@group.command("reverse")
@click.argument("payment_id", type=int)
@click.option("--reason", required=True, help="Why (e.g. 'card charge-back').")
def reverse_cmd(payment_id: int, reason: str) -> None:
    """Reverse a recorded payment."""
    _show_payment(_service(person=True).reverse_payment(payment_id, reason=reason))


@group.command("aging")
def aging_cmd() -> None:
    """Unpaid installments by days past due, per manager and in total."""
    svc = _service()
    managers, totals = aging(svc.crm, svc.actor_id)
    if _json({"managers": [r.to_json() for r in managers], "totals": [r.to_json() for r in totals]}):
        return
    heads = ["manager", "cur", "current", "1-30", "31-60", "61-90", "90+", "total"]
    rows = [[r.responsible_name or ("(none)" if r.responsible_id is None else f"#{r.responsible_id}"), r.currency,
             *(str(getattr(r, b).amount) for b in BUCKETS), str(r.total.amount)] for r in managers]
    rows += [["TOTAL", r.currency, *(str(getattr(r, b).amount) for b in BUCKETS), str(r.total.amount)] for r in totals]
    if not rows:
        click.echo("(nothing outstanding)")
        return
    widths = [max(len(h), *(len(row[n]) for row in rows)) for n, h in enumerate(heads)]
    for row in [heads, *rows]:
        click.echo("  ".join(c.ljust(w) if n < 2 else c.rjust(w) for n, (c, w) in enumerate(zip(row, widths))))


@group.command("cash-in")
@click.option("--months", default=12, show_default=True, help="How many months ahead.")
def cash_in_cmd(months: int) -> None:
    """Expected cash-in by month."""
    svc = _service()
    rows = cash_in(svc.crm, svc.actor_id, months=months)
    if _json([r.to_json() for r in rows]):
        return
    for r in rows:
        click.echo(f"{r.month}  {r.expected}  ({r.items} payments)")
    if not rows:
        click.echo("(nothing expected)")


@group.command("check")
def check_cmd() -> None:
    """Review every active plan now (what the worker's installments.check job does)."""
    from .control import check_plans

    crm = _state().crm
    reviewed = check_plans(crm, crm.clock.now())
    if not _json({"reviewed": reviewed}):
        click.echo(f"reviewed {reviewed} plans")
