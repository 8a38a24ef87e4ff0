"""Ingestion: one call event -> the call log, the caller's cards, call-back tasks. Idempotent.

Providers deliver events late, twice and out of order; whatever the order, a call ends in the same
state (status, result, times, duration, extension, recording, links, call-back task):

* the call's columns merge commutatively (:mod:`.merge`): a step never goes back, facts fill gaps, a
  late ``answered`` still counts;
* the call is routed (contact, open deal or lead, responsible user; a lead made for an unknown caller)
  by the first event that says who is calling (:func:`~.merge.is_party`); until then it has no cards;
* it is finished (``telephony.call_finished``, the hook, the call-back task) once it has ended *and*
  is routed, once per call; a later event that changes the result still moves the call-back task
  (:mod:`.callbacks`).

The same event twice changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from crmkit import Tx

from . import callbacks, config
from .callbacks import CALLBACK_RULE
from .events import CallEvent, CallRecord
from .merge import is_party, merged
from .routing import NOBODY, extension_user, find_links, phone_or_none
from .schema import calls

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm

__all__ = ["CALLBACK_RULE", "Ingested", "ingest"]

_LINKS = ("contact_id", "deal_id", "lead_id")


@attrs.frozen
class Ingested:
    """The call after an event, and whether the event changed anything."""

    call: CallRecord
    changed: bool
    created: bool = False


def ingest(crm: "Crm", event: CallEvent) -> Ingested:
    """Record ``event`` in one transaction (as the system user)."""
    cfg = config.load(crm)
    with crm.transaction(None) as tx:
        row, created = _claim(tx, event)
        before = None if created else row._mapping
        changes = {k: v for k, v in merged(before, event).items() if v != row._mapping[k]}
        routed_now = row.routed_by is None and is_party(event)
        if routed_now:
            changes.update(_route(tx, cfg, row, event))
        elif is_party(event):
            changes.update(_fill_parties(tx, cfg, row, event))
        extension = changes.get("extension", row.extension)
        if extension and (created or "extension" in changes or row.user_id is None):
            user_id = extension_user(tx.conn, cfg, extension)
            if user_id != row.user_id:
                changes["user_id"] = user_id
        if not changes and not created:
            return Ingested(CallRecord.from_row(row), False)
        if changes:
            changes["updated_at"] = tx.now
            tx.conn.execute(update(calls).where(calls.c.id == row.id).values(**changes))
        _effects(tx, cfg, before, _load(tx.conn, event))
        return Ingested(CallRecord.from_row(_load(tx.conn, event)), True, created)


def _load(conn: Connection, event: CallEvent, *, lock: bool = False) -> Any:
    query = select(calls).where(calls.c.provider == event.provider, calls.c.call_id == event.call_id)
    return conn.execute(query.with_for_update() if lock else query).first()


def _claim(tx: Tx, event: CallEvent) -> tuple[Any, bool]:
    """The call's row, locked; inserted (unrouted, facts of ``event``) if this is its first event."""
    row = _load(tx.conn, event, lock=True)
    if row is not None:
        return row, False
    values = {"provider": event.provider, "call_id": event.call_id, "direction": "inbound",
              **merged(None, event), "created_at": tx.now, "updated_at": tx.now}
    dialect = postgresql if tx.conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(calls).values(**values).on_conflict_do_nothing(index_elements=["provider", "call_id"])
    inserted = tx.conn.execute(stmt.returning(calls.c.id)).first() is not None
    return _load(tx.conn, event, lock=True), inserted


def _parties(cfg: config.TelephonySettings, event: CallEvent) -> dict[str, Any]:
    direction = event.direction or "inbound"
    outside = event.to_number if direction == "outbound" else event.from_number
    return {"direction": direction, "from_number": event.from_number, "to_number": event.to_number,
            "phone": phone_or_none(outside, cfg.region)}


def _route(tx: Tx, cfg: config.TelephonySettings, row: Any, event: CallEvent) -> dict[str, Any]:
    """Who is calling (the first event that says so): numbers, cards, responsible; a lead for an unknown
    caller of an incoming call."""
    values = _parties(cfg, event)
    if any(row._mapping[k] is not None for k in _LINKS):  # logged before routing was recorded: keep its cards
        return {**values, "routed_by": row.routed_by or NOBODY}
    links = find_links(tx.conn, cfg, values["phone"], extension_user(tx.conn, cfg, event.extension))
    values.update(responsible_id=links.responsible_id, routed_by=links.routed_by, contact_id=links.contact_id,
                  deal_id=links.deal_id, lead_id=links.lead_id)
    if links.lead_id is None and links.contact_id is None and values["direction"] == "inbound":
        values["lead_id"] = tx.crm.system.leads.create(
            title=f"Call from {values['phone'] or 'a hidden number'}", phone=values["phone"], source="call",
            responsible_id=links.responsible_id).id
    return values


def _fill_parties(tx: Tx, cfg: config.TelephonySettings, row: Any, event: CallEvent) -> dict[str, Any]:
    """A routed call learns numbers it lacked (an outgoing call first seen as ``client:101``); one that
    had no number and no cards is linked once it has one."""
    if (event.direction or "inbound") != row.direction:
        return {}
    parties = _parties(cfg, event)
    out = {k: parties[k] for k in ("from_number", "to_number", "phone") if row._mapping[k] is None and parties[k]}
    if "phone" in out and all(row._mapping[k] is None for k in _LINKS):
        links = find_links(tx.conn, cfg, out["phone"], row.user_id)
        out.update({k: getattr(links, k) for k in _LINKS})
        if links.responsible_id is not None and row.responsible_id is None:
            out.update(responsible_id=links.responsible_id, routed_by=links.routed_by)
    return out


def _effects(tx: Tx, cfg: config.TelephonySettings, before: Any, after: Any) -> None:
    """Timelines, call-back tasks and the hook for the change from ``before`` (None: new) to ``after``."""
    call = CallRecord.from_row(after)
    routed = after.routed_by is not None
    was_routed = before is not None and before["routed_by"] is not None
    linked_late = was_routed and any(after._mapping[k] for k in _LINKS) and not any(before[k] for k in _LINKS)
    if (routed and not was_routed) or linked_late:  # linked late: a number learned after routing (_fill_parties)
        _emit(tx, call, "telephony.call_started")
    if routed and call.recording_url and (not was_routed or call.recording_url != before["recording_url"]):
        _emit(tx, call, "telephony.recording_added")
    answered = call.answered_at is not None and call.phone is not None
    if answered and (before is None or before["answered_at"] is None or before["phone"] is None):
        callbacks.answered(tx, cfg, call)
    finished = routed and call.status == "ended"
    was_finished = was_routed and before["status"] == "ended"
    if finished:
        _reconcile(tx, cfg, call)
    if finished and not was_finished:
        call = CallRecord.from_row(tx.conn.execute(select(calls).where(calls.c.id == call.id)).first())
        _emit(tx, call, "telephony.call_finished")
        tx.crm.pm.hook.telephony_call_finished(tx=tx, call=call)


def _reconcile(tx: Tx, cfg: config.TelephonySettings, call: CallRecord) -> None:
    """The finished call's call-back task matches its result (missed: one; answered: none)."""
    row = tx.conn.execute(select(calls.c.callback_task_id, calls.c.callback_call_id)
                          .where(calls.c.id == call.id)).one()
    if callbacks.needs_callback(call):
        if row.callback_task_id is None and row.callback_call_id is None:
            callbacks.assign(tx, cfg, call)
    elif row.callback_task_id is not None or row.callback_call_id is not None:
        callbacks.release(tx, call.id)


def _card_data(call: CallRecord) -> dict[str, Any]:
    return {"call": call.id, "provider": call.provider, "call_id": call.call_id, "direction": call.direction,
            "phone": call.phone, "status": call.status, "result": call.result, "duration": call.duration,
            "recording_url": call.recording_url, "user_id": call.user_id}


def _emit(tx: Tx, call: CallRecord, kind: str) -> None:
    """Put the call on the timelines of its cards (deal, contact, lead)."""
    data = _card_data(call)
    for entity, ident in (("deal", call.deal_id), ("contact", call.contact_id), ("lead", call.lead_id)):
        if ident is not None:
            tx.emit(kind, entity, ident, data=data)
