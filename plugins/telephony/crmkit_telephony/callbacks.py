"""Call-back tasks: one per missed call (one open per number), closed by the answered call back.

A missed incoming call needs someone to call back. The task for it is, in this order of choice,
the number's open call-back task (rule ``telephony.callback:<number>``), else the open task the
lead pipeline's call-back rule put on the caller's lead (``settings.telephony.callback_task_rule``;
by default the first task rule of the stage new leads land in: the template's "Call back: ..."),
else a new telephony task. So a missed call from a new caller, whose lead already got "Call back"
from its stage, gets no second task.

An answered call with the number (either direction) completes the call-back tasks of the earlier
missed calls with it and the call-back task on its own lead. Events arrive out of order: a call
first taken for missed may turn out answered; it then lets its task go (a task telephony made for it
alone is cancelled) and counts as the call back.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Sequence

from sqlalchemy import Connection, func, select, update

from crmkit import Event, Tx, schema

from . import config
from .events import CallRecord
from .merge import seconds
from .schema import calls

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm

CALLBACK_RULE = "telephony.callback:"


def _intake(crm: "Crm") -> tuple[str, int] | None:
    """``stage:<lead pipeline>.<stage>#`` of the stage new leads land in (its first open stage), and how
    many task rules that stage has (``None``: the deployment has no lead pipeline)."""
    spec = crm.pipeline_spec(crm.settings.lead_pipeline)
    stage = next((s for s in spec.stages if s.kind == "open"), None) if spec is not None else None
    return None if spec is None or stage is None else (f"stage:{spec.key}.{stage.key}#", len(stage.tasks))


def lead_rule(crm: "Crm", cfg: config.TelephonySettings) -> str | None:
    """The rule key of the lead pipeline's call-back task (``None``: telephony makes its own tasks)."""
    if cfg.callback_task_rule != config.AUTO:
        return cfg.callback_task_rule or None
    intake = _intake(crm)
    return intake[0] + "0" if intake is not None and intake[1] else None


def _coming(tx: Tx, rule: str | None, lead_id: int) -> bool:
    """Whether the lead was made in this transaction and its stage is still to give it the call-back
    task: the stage's rules run when the transaction ends (then :func:`on_events` adopts the task)."""
    intake = _intake(tx.crm)
    if rule is None or intake is None or not rule.startswith(intake[0]) or int(rule[len(intake[0]):]) >= intake[1]:
        return False
    return any(e.type == "lead.created" and e.entity_id == lead_id for e in tx.events)


def needs_callback(call: "CallRecord") -> bool:
    """A finished incoming call with a number that nobody answered."""
    return (call.status == "ended" and call.direction == "inbound" and call.result != "answered"
            and call.phone is not None)


def _lead_task(tx: Tx, cfg: config.TelephonySettings, lead_id: int | None) -> Any:
    """The open call-back task the lead pipeline's rule put on lead ``lead_id`` (its id) or None."""
    rule = lead_rule(tx.crm, cfg)
    if rule is None or lead_id is None:
        return None
    t = schema.tasks.c
    return tx.conn.execute(select(t.id).where(
        t.rule == rule, t.entity_type == "lead", t.entity_id == lead_id, t.status == "open",
    ).order_by(t.id).limit(1)).first()


def _answered_later(conn: Connection, call: "CallRecord") -> Any:
    """An answered call with this number that started after ``call`` (the call back came first)."""
    c = calls.c
    return conn.execute(select(c.id, c.started_at).where(
        c.phone == call.phone, c.answered_at.is_not(None), c.started_at >= call.started_at, c.id != call.id,
    ).order_by(c.started_at, c.id).limit(1)).first()


def _set(tx: Tx, call_id: int, **values: Any) -> None:
    tx.conn.execute(update(calls).where(calls.c.id == call_id).values(**values))


def _complete(tx: Tx, task_id: int) -> None:
    if tx.conn.scalar(select(schema.tasks.c.status).where(schema.tasks.c.id == task_id)) == "open":
        tx.crm.system.tasks.complete(task_id)


def assign(tx: Tx, cfg: config.TelephonySettings, call: "CallRecord") -> None:
    """Give the missed call ``call`` its call-back task (or record that it was called back already)."""
    lead_task = _lead_task(tx, cfg, call.lead_id)
    if lead_task is None and call.lead_id is not None and _coming(tx, lead_rule(tx.crm, cfg), call.lead_id):
        return
    later = _answered_later(tx.conn, call)
    if later is not None:  # events out of order: the customer was already called back
        if lead_task is not None:
            _complete(tx, lead_task.id)
        _set(tx, call.id, callback_task_id=lead_task.id if lead_task is not None else None,
             callback_call_id=later.id, response_seconds=seconds(call.started_at, later.started_at))
        return
    t = schema.tasks.c
    due = (call.ended_at or tx.now) + timedelta(minutes=cfg.callback_minutes)
    task_id = tx.conn.scalar(select(t.id).where(t.rule == CALLBACK_RULE + str(call.phone), t.status == "open")
                             .order_by(t.id).limit(1))
    if task_id is None and lead_task is not None:
        task_id = lead_task.id  # as the stage made it: its due time too (a later answer must find it unchanged)
    if task_id is None:
        entity = next(((k, v) for k, v in (("deal", call.deal_id), ("contact", call.contact_id),
                                           ("lead", call.lead_id)) if v is not None), (None, None))
        task_id = tx.crm.system.tasks.add(
            title=f"Call back {call.phone}", assignee_id=call.responsible_id, due_at=due,
            rule=CALLBACK_RULE + str(call.phone),
            description=f"Missed incoming call ({call.result}) at {call.started_at.isoformat()}",
            entity_type=entity[0], entity_id=entity[1]).id
    _set(tx, call.id, callback_task_id=task_id)


def release(tx: Tx, call_id: int) -> None:
    """The call turned out answered: it needs no call back. A task telephony made for it alone is
    cancelled; a lead's own call-back task stays (the answered call completes it, see :func:`answered`)."""
    c, t = calls.c, schema.tasks.c
    task_id = tx.conn.scalar(select(c.callback_task_id).where(c.id == call_id))
    _set(tx, call_id, callback_task_id=None, callback_call_id=None, response_seconds=None)
    if task_id is None:
        return
    task = tx.conn.execute(select(t.status, t.rule).where(t.id == task_id)).first()
    shared = tx.conn.scalar(select(func.count()).select_from(calls).where(c.callback_task_id == task_id))
    if task is not None and task.status == "open" and (task.rule or "").startswith(CALLBACK_RULE) and not shared:
        tx.crm.system.tasks.cancel(task_id)


def answered(tx: Tx, cfg: config.TelephonySettings, call: "CallRecord") -> None:
    """An answered call with a number completes the call-back tasks of earlier missed calls with that
    number (recording it as their call back) and the call-back task on its own lead."""
    c = calls.c
    missed = tx.conn.execute(select(c.id, c.started_at, c.callback_task_id).where(
        c.phone == call.phone, c.callback_task_id.is_not(None), c.callback_call_id.is_(None),
        c.started_at <= call.started_at, c.id != call.id)).all()
    for m in missed:
        _set(tx, m.id, callback_call_id=call.id, response_seconds=seconds(m.started_at, call.started_at))
        _complete(tx, m.callback_task_id)
    lead_task = _lead_task(tx, cfg, call.lead_id)
    if lead_task is not None:
        _complete(tx, lead_task.id)


def on_events(tx: Tx, events: Sequence[Event]) -> None:
    """A lead's call-back task was just made (by its stage, at the end of the transaction that made the
    lead for a call): the lead's calls apply to it -- an answered one completes it, a missed one takes it."""
    made = [e for e in events if e.type == "task.created" and e.data.get("entity_type") == "lead"]
    if not made:
        return
    cfg = config.load(tx.crm)
    rule = lead_rule(tx.crm, cfg)
    c = calls.c
    for event in made:
        if rule is None or event.data.get("rule") != rule:
            continue
        lead_id = event.data["entity_id"]  # its calls: those this transaction put on it (by primary key)
        ids = [e.data["call"] for e in tx.events
               if e.type == "telephony.call_started" and e.entity_type == "lead" and e.entity_id == lead_id]
        if not ids:
            continue
        rows = tx.conn.execute(select(calls).where(c.id.in_(ids), c.lead_id == lead_id, c.phone.is_not(None))
                               .order_by(c.id)).all()
        for row in rows:
            call = CallRecord.from_row(row)
            if call.answered_at is not None:
                answered(tx, cfg, call)
            elif needs_callback(call) and row.callback_task_id is None and row.callback_call_id is None:
                assign(tx, cfg, call)
