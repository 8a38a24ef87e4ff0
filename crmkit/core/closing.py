"""Closing a card closes its open tasks, so nothing goes overdue on a closed card.

When a deal is won or lost, a lead converted or rejected, or any card archived, its open tasks
are cancelled in the same transaction, each as a ``task.cancelled`` event whose data names why:
``reason`` (words), ``because`` (``deal_won``, ``deal_lost``, ``lead_converted``,
``lead_rejected``, ``<card>_archived``) and ``cause_event_id`` (the closing event). This runs
first of all reactions to the event (the core's ``crm_on_events`` registered ``tryfirst`` in
:mod:`crmkit.core.automation`), so the tasks the closing itself calls for (a won stage's rule:
"deliver the windows", a plugin's) are made after it and stay open. The tasks are cancelled in
the name of the user who closed the card, without record rules: it is part of a command they
were allowed to make.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from . import schema
from .events import Event

if TYPE_CHECKING:  # pragma: no cover
    from .unit_of_work import Tx

ARCHIVED = frozenset({"deal.archived", "lead.archived", "contact.archived", "company.archived"})
"""The archive events (named by the archive feature); a card archived closes its tasks too."""

_CLOSED_WORDS = {"won": "was won", "lost": "was lost", "converted": "was converted", "rejected": "was rejected",
                 "archived": "was archived"}


def closed_as(event: Event) -> str | None:
    """How ``event`` closed its card (``won``, ``lost``, ``converted``, ``rejected``,
    ``archived``), or None when it did not."""
    if event.type == "deal.stage_changed":
        kind = event.data.get("to_kind")
        return str(kind) if kind in ("won", "lost") and event.data.get("from_kind") != kind else None
    if event.type in ("lead.converted", "lead.rejected"):
        return event.action
    if event.type in ARCHIVED:
        return "archived"
    return None


def close_tasks(tx: "Tx", event: Event) -> None:
    """Cancel the open tasks on the card ``event`` closed (nothing when it closed none)."""
    how = closed_as(event)
    if how is None or event.entity_id is None:
        return
    t = schema.tasks.c
    open_ids = list(tx.conn.scalars(select(t.id).where(
        t.entity_type == event.entity_type, t.entity_id == event.entity_id, t.status == "open").order_by(t.id)))
    if not open_ids:
        return
    from .services import Services

    tasks = Services(tx.crm, tx.actor_id, enforce=False).tasks
    card = f"{event.entity_type} {event.entity_id}"
    cause = {"because": f"{event.entity_type}_{how}", "cause_event_id": event.id}
    for task_id in open_ids:
        tasks.cancel(task_id, reason=f"{card} {_CLOSED_WORDS[how]}", cause=cause)
