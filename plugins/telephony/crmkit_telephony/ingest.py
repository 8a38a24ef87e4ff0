"""Ingestion: one call event -> the call log, the caller's cards, call-back tasks. Idempotent.

The same event twice changes nothing; a step never goes back (a ``ringing`` after
``ended`` does not reopen the call); facts only fill gaps (a late recording).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from crmkit import Tx, schema

from . import config
from .events import MAX_DURATION, RANK, CallEvent, CallRecord
from .routing import extension_user, find_links, phone_or_none
from .schema import calls

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm

CALLBACK_RULE = "telephony.callback:"


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
        row, created = _claim(tx, cfg, event)
        changes = {} if created else _merge(row, event)
        if changes.get("extension") and row.user_id is None:
            changes["user_id"] = extension_user(tx.conn, cfg, changes["extension"])
        if changes:
            changes["updated_at"] = tx.now
            tx.conn.execute(update(calls).where(calls.c.id == row.id).values(**changes))
            row = _load(tx.conn, event)
        call = CallRecord.from_row(row)
        if created:
            _emit(tx, call, "telephony.call_started")
        if "recording_url" in changes:
            _emit(tx, call, "telephony.recording_added")
        answered_now = "answered_at" in changes or (created and row.answered_at is not None)
        if answered_now and call.phone:
            _close_callbacks(tx, call)
        if changes.get("status") == "ended" or (created and row.status == "ended"):
            call = _finish(tx, cfg, call)
        return Ingested(call, bool(changes) or created, created)


def _load(conn: Connection, event: CallEvent, *, lock: bool = False) -> Any:
    query = select(calls).where(calls.c.provider == event.provider, calls.c.call_id == event.call_id)
    return conn.execute(query.with_for_update() if lock else query).first()


def _claim(tx: Tx, cfg: config.TelephonySettings, event: CallEvent) -> tuple[Any, bool]:
    """The call's row, locked; inserted (with its links) if this is the call's first event."""
    row = _load(tx.conn, event, lock=True)
    if row is not None:
        return row, False
    values = _first_values(tx, cfg, event)
    dialect = postgresql if tx.conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(calls).values(**values).on_conflict_do_nothing(index_elements=["provider", "call_id"])
    inserted = tx.conn.execute(stmt.returning(calls.c.id)).first() is not None
    row = _load(tx.conn, event, lock=True)
    if inserted and values.get("lead_id") is None and values["direction"] == "inbound" and row.contact_id is None:
        lead = tx.crm.system.leads.create(
            title=f"Call from {values['phone'] or 'a hidden number'}", phone=values["phone"], source="call",
            responsible_id=values["responsible_id"])
        tx.conn.execute(update(calls).where(calls.c.id == row.id).values(lead_id=lead.id))
        row = _load(tx.conn, event)
    return row, inserted


def _first_values(tx: Tx, cfg: config.TelephonySettings, event: CallEvent) -> dict[str, Any]:
    direction = event.direction or "inbound"
    outside = event.to_number if direction == "outbound" else event.from_number
    phone = phone_or_none(outside, cfg.region)
    user_id = extension_user(tx.conn, cfg, event.extension)
    links = find_links(tx.conn, cfg, phone, user_id)
    status = "ringing" if event.status == "info" else event.status
    values: dict[str, Any] = {
        "provider": event.provider, "call_id": event.call_id, "direction": direction, "status": status,
        "phone": phone, "from_number": event.from_number, "to_number": event.to_number,
        "extension": event.extension, "user_id": user_id, "responsible_id": links.responsible_id,
        "routed_by": links.routed_by, "contact_id": links.contact_id, "deal_id": links.deal_id,
        "lead_id": links.lead_id, "started_at": event.occurred_at, "recording_url": event.recording_url,
        "hangup_cause": event.hangup_cause, "created_at": tx.now, "updated_at": tx.now,
    }
    if event.status == "answered":
        values["answered_at"] = event.occurred_at
    if event.status == "ended":
        values.update(_end_values(event, None, event.occurred_at))
    return values


def _end_values(event: CallEvent, answered_at: datetime | None, started_at: datetime) -> dict[str, Any]:
    result = event.result or ("answered" if answered_at is not None else "missed")
    duration = event.duration
    if duration is None and answered_at is not None:
        duration = _seconds(answered_at, event.occurred_at)
    out: dict[str, Any] = {"status": "ended", "ended_at": event.occurred_at, "result": result,
                           "duration": duration if result == "answered" else (duration or 0)}
    if result == "answered" and answered_at is None:
        try:
            out["answered_at"] = event.occurred_at - timedelta(seconds=duration or 0)
        except OverflowError:  # a long call "ending" in year 1
            out["answered_at"] = event.occurred_at
    return out


def _merge(row: Any, event: CallEvent) -> dict[str, Any]:
    """The columns ``event`` changes on ``row`` (empty: nothing new)."""
    out: dict[str, Any] = {}
    if event.occurred_at < row.started_at and event.status != "info":
        out["started_at"] = event.occurred_at
    answered_at = row.answered_at
    if event.status == "answered" and (answered_at is None or event.occurred_at < answered_at) and row.status != "ended":
        out["answered_at"] = answered_at = event.occurred_at
    if RANK[event.status] > RANK[row.status]:
        out["status"] = event.status
        if event.status == "ended":
            out.update(_end_values(event, answered_at, out.get("started_at", row.started_at)))
    for name in ("extension", "hangup_cause"):
        value = getattr(event, name)
        if value and getattr(row, name) is None:
            out[name] = value
    if event.recording_url and event.recording_url != row.recording_url:
        out["recording_url"] = event.recording_url
    if event.status == "ended" and row.status == "ended" and event.duration is not None and row.duration is None:
        out["duration"] = event.duration
    return out


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


def _finish(tx: Tx, cfg: config.TelephonySettings, call: CallRecord) -> CallRecord:
    """The call just ended: timelines, a call-back task if it was a missed incoming call, the hook."""
    if call.direction == "inbound" and call.result != "answered" and call.phone:
        _callback_task(tx, cfg, call)
    row = tx.conn.execute(select(calls).where(calls.c.id == call.id)).first()
    call = CallRecord.from_row(row)
    _emit(tx, call, "telephony.call_finished")
    tx.crm.pm.hook.telephony_call_finished(tx=tx, call=call)
    return call


def _answered_later(conn: Connection, call: CallRecord) -> Any:
    """An answered call with this number that started after ``call`` (the call back came first)."""
    c = calls.c
    return conn.execute(select(c.id, c.started_at).where(
        c.phone == call.phone, c.answered_at.is_not(None), c.started_at >= call.started_at, c.id != call.id,
    ).order_by(c.started_at).limit(1)).first()


def _callback_task(tx: Tx, cfg: config.TelephonySettings, call: CallRecord) -> None:
    later = _answered_later(tx.conn, call)
    if later is not None:  # events out of order: the customer was already called back
        tx.conn.execute(update(calls).where(calls.c.id == call.id).values(
            callback_call_id=later.id, response_seconds=_seconds(call.started_at, later.started_at)))
        return
    rule = CALLBACK_RULE + str(call.phone)
    t = schema.tasks.c
    task_id = tx.conn.scalar(select(t.id).where(t.rule == rule, t.status == "open").order_by(t.id).limit(1))
    if task_id is None:
        entity = next(((k, v) for k, v in (("deal", call.deal_id), ("contact", call.contact_id),
                                           ("lead", call.lead_id)) if v is not None), (None, None))
        due = (call.ended_at or tx.now) + timedelta(minutes=cfg.callback_minutes)
        task = tx.crm.system.tasks.add(
            title=f"Call back {call.phone}", assignee_id=call.responsible_id, due_at=due, rule=rule,
            description=f"Missed incoming call ({call.result}) at {call.started_at.isoformat()}",
            entity_type=entity[0], entity_id=entity[1])
        task_id = task.id
    tx.conn.execute(update(calls).where(calls.c.id == call.id).values(callback_task_id=task_id))


def _close_callbacks(tx: Tx, call: CallRecord) -> None:
    """An answered call with a number closes that number's call-back tasks from earlier missed calls."""
    c = calls.c
    missed = tx.conn.execute(select(c.id, c.started_at, c.callback_task_id).where(
        c.phone == call.phone, c.callback_task_id.is_not(None), c.callback_call_id.is_(None),
        c.started_at <= call.started_at, c.id != call.id)).all()
    t = schema.tasks.c
    for m in missed:
        tx.conn.execute(update(calls).where(c.id == m.id).values(
            callback_call_id=call.id, response_seconds=_seconds(m.started_at, call.started_at)))
        if tx.conn.scalar(select(t.status).where(t.id == m.callback_task_id)) == "open":
            tx.crm.system.tasks.complete(m.callback_task_id)


def _seconds(start: datetime, end: datetime) -> int:
    """Whole seconds from ``start`` to ``end``, within what the 32-bit columns hold."""
    return min(MAX_DURATION, max(0, int((end - start).total_seconds())))
