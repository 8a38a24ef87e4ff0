"""Reminders for users: a task due soon, a task overdue, and an optional daily digest, by e-mail.

The worker's job ``core.reminders`` (every minute) finds open, assigned tasks due within
``remind_before_minutes`` or marked overdue, and e-mails each assignee once per task and kind
(``crm_task_reminders`` remembers; the message's idempotency key makes a repeat harmless). With
``digest = true`` each user with open tasks due today or overdue gets one e-mail a day at
``digest_hour`` in the deployment's time zone. Stored templates ``task.due``, ``task.overdue`` and
``task.digest`` replace the built-in texts (they see ``task`` / ``tasks`` and ``user``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, insert, or_, select

from crmkit import NotFoundError, schema

from ..i18n import mail as texts  # the built-in texts in the recipient's language
from ..i18n.mail import user_language
from .channels import channels
from .config import load
from .consent import zone_of
from .tables import task_reminders, templates

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm

BATCH = 200


def remind(crm: "Crm", now: datetime) -> int:
    """Queue due, overdue and digest reminders; returns how many messages were queued."""
    settings = load(crm)
    if not any(c.kind == "email" for c in channels(crm).values()):
        return 0
    queued = 0
    if settings.task_reminders:
        horizon = now + timedelta(minutes=settings.remind_before_minutes)
        queued += _tasks(crm, "due", horizon, now)
        queued += _tasks(crm, "overdue", horizon, now)
    if settings.digest:
        queued += _digests(crm, now)
    return queued


def _tasks(crm: "Crm", kind: str, horizon: datetime, now: datetime) -> int:
    t, r = schema.tasks.c, task_reminders.c
    sent = select(r.task_id).where(r.kind == kind)
    cond = (and_(t.due_at.is_not(None), t.due_at <= horizon, t.due_at >= now) if kind == "due"
            else t.overdue_at.is_not(None))
    total = 0
    while True:
        with crm.transaction(None) as tx:
            rows = tx.conn.execute(select(t.id, t.title, t.due_at, t.assignee_id, t.entity_type, t.entity_id).where(
                t.status == "open", t.assignee_id.is_not(None), t.archived_at.is_(None), cond,
                t.id.not_in(sent)).order_by(t.id).limit(BATCH)).all()
            for row in rows:
                message_id = _send(crm, kind, row)
                tx.conn.execute(insert(task_reminders).values(task_id=row.id, kind=kind, message_id=message_id,
                                                              created_at=tx.now))
        total += len(rows)
        if len(rows) < BATCH:
            return total


def _has_template(crm: "Crm", key: str) -> bool:
    with crm.engine.connect() as conn:
        return conn.scalar(select(templates.c.id).where(templates.c.key == key).limit(1)) is not None


def _send(crm: "Crm", kind: str, row: Any) -> int:
    task = {"id": row.id, "title": row.title, "due_at": row.due_at.isoformat() if row.due_at else None,
            "entity_type": row.entity_type, "entity_id": row.entity_id}
    key = f"task.{kind}:{row.id}"
    lang = user_language(crm, row.assignee_id)  # the recipient's language (crmkit.i18n.mail)
    if _has_template(crm, f"task.{kind}"):
        msg = crm.messages.send(user_id=row.assignee_id, template=f"task.{kind}", context={"task": task},
                                idempotency_key=key, channel="email", language=lang)
    else:
        subject, body = texts.reminder(kind, row.title, row.due_at, row.entity_type, row.entity_id, lang)
        msg = crm.messages.send(user_id=row.assignee_id, subject=subject, body=body, idempotency_key=key,
                                channel="email")
    return msg.id


def _digests(crm: "Crm", now: datetime) -> int:
    settings = load(crm)
    local = now.astimezone(zone_of(crm, None))
    if local.hour < settings.digest_hour:
        return 0
    end_of_day = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=local.tzinfo)
    t, u = schema.tasks.c, schema.users.c
    with crm.engine.connect() as conn:
        rows = conn.execute(select(t.id, t.title, t.due_at, t.assignee_id, t.overdue_at).join(
            schema.users, u.id == t.assignee_id).where(
            t.status == "open", t.archived_at.is_(None), u.active.is_(True),
            or_(t.overdue_at.is_not(None), t.due_at < end_of_day)).order_by(t.assignee_id, t.due_at)).all()
    by_user: dict[int, list[Any]] = {}
    for r in rows:
        by_user.setdefault(r.assignee_id, []).append(r)
    queued = 0
    for user_id, tasks in by_user.items():
        lang = user_language(crm, user_id)  # the recipient's language (crmkit.i18n.mail)
        key = f"task.digest:{user_id}:{local.date().isoformat()}"
        context = {"tasks": [{"id": r.id, "title": r.title, "due_at": r.due_at.isoformat() if r.due_at else None,
                              "overdue": r.overdue_at is not None} for r in tasks], "date": local.date().isoformat()}
        try:
            if _has_template(crm, "task.digest"):
                crm.messages.send(user_id=user_id, template="task.digest", context=context, idempotency_key=key,
                                  channel="email", language=lang)
            else:
                subject, body = texts.digest(tasks, local.date().isoformat(), lang)
                crm.messages.send(user_id=user_id, subject=subject, body=body, idempotency_key=key, channel="email")
        except NotFoundError:
            continue
        queued += 1
    return queued
