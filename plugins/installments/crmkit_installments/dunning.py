"""Dunning: the customer's reminders of a payment due soon or overdue, through ``crm.messages``.

``installments.payment_due_soon`` and ``installments.payment_overdue`` (after commit) queue one
message to the control deal's contact, from the stored template ``installments.due_soon`` /
``installments.overdue`` when the deployment has one (it sees ``contact``, ``deal`` and the
event's ``amount_due``/``amount_overdue``, ``due_date``, ``days_left``/``days_overdue``), else from
a plain built-in text. The message's idempotency key is the event's id (delivery is at least once;
the reminder goes once) and its group is the plan: a payment or the plan being paid off cancels the
plan's reminders still queued. A contact without an address, or a deployment without a channel,
gets none.
"""

from __future__ import annotations

from typing import Any

from crmkit import Crm, Event, NotFoundError, ValidationError, hookimpl

from .config import NAME

DUE_SOON = f"{NAME}.payment_due_soon"
OVERDUE = f"{NAME}.payment_overdue"
STOPS = (f"{NAME}.paid_off", f"{NAME}.payment_recorded")
_TEXTS = {
    DUE_SOON: ("due_soon", "Payment due on {due_date}",
               "Dear {name},\n\nyour installment of {amount} for \"{deal}\" is due on {due_date}.\n"),
    OVERDUE: ("overdue", "Payment overdue",
              "Dear {name},\n\nyour installment of {amount} for \"{deal}\" is {days} days overdue. "
              "Please pay it as soon as you can.\n"),
}


def group(plan_id: Any) -> str:
    return f"{NAME}.plan:{plan_id}"


def _money(value: Any) -> str:
    return f"{value['amount']} {value['currency']}" if isinstance(value, dict) else str(value)


@hookimpl
def crm_event_committed(crm: Crm, event: Event) -> None:
    if event.type in STOPS:  # money came in: reminders still queued are stale
        if event.data.get("plan_id") is not None:
            crm.messages.cancel(group=group(event.data["plan_id"]))
        return
    if event.type not in _TEXTS or event.entity_id is None or not crm.messages.channels:
        return
    try:
        deal = crm.deals.get(event.entity_id)
    except NotFoundError:
        return
    if deal.contact_id is None:
        return
    key, subject, body = _TEXTS[event.type]
    amount = _money(event.data.get("amount_due") or event.data.get("amount_overdue"))
    context = {**event.data, "amount": amount}
    contact = crm.contacts.get(deal.contact_id)
    common: dict[str, Any] = {"contact_id": deal.contact_id, "idempotency_key": f"{NAME}.dunning:{event.id}",
                              "group": group(event.data.get("plan_id"))}
    try:
        try:
            crm.messages.templates.get(f"{NAME}.{key}")
        except NotFoundError:
            text = {"name": contact.first_name or contact.last_name or "customer", "amount": amount,
                    "deal": deal.title, "due_date": event.data.get("due_date", ""),
                    "days": event.data.get("days_overdue", "")}
            crm.messages.send(subject=subject.format(**text), body=body.format(**text), **common)
        else:
            crm.messages.send(template=f"{NAME}.{key}", context={**context, "deal": {"id": deal.id, "title": deal.title}},
                              **common)
    except ValidationError as exc:
        if exc.field not in ("to", "channel"):
            raise  # no address or no channel for this contact: no reminder; anything else is a bug
