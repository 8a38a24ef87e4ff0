"""Sending the outbox: the worker claims due messages, applies the policy, sends, records.

1. **Claim** (one write transaction): due ``queued`` rows, and ``sending`` rows whose claim
   expired (a worker died mid-send), become ``sending`` until ``now + claim``; on PostgreSQL they
   are picked ``FOR UPDATE SKIP LOCKED``, so several workers never claim the same row. The policy
   runs here: an opted-out contact's marketing message is ``suppressed``, one over the frequency
   cap too, one in quiet hours goes back to ``queued`` until they end.
2. **Send** each claimed message through its channel, outside any transaction.
3. **Record** each outcome in its own transaction: ``sent``/``delivered``; a temporary failure
   goes back to ``queued`` with exponential backoff (``retry_seconds`` doubling, at most an hour)
   until ``max_attempts``, then ``failed``; a permanent one is ``failed`` or ``bounced`` at once.
   Each outcome is a ``message.<status>`` event on the contact's timeline.

A worker that dies between 2 and 3 leaves the row ``sending``: when the claim expires it is sent
again with the same idempotency key (providers that honour it drop the repeat; SMTP cannot).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import and_, or_, select, update

from crmkit import schema

from .channels import channels
from .config import load
from .consent import opted_out, over_cap, quiet_until, zone_of
from .outbox import emit_status
from .records import DeliveryError, OutgoingMessage, SendResult
from .tables import messages

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm

log = logging.getLogger("crmkit.messages")
CLAIM = timedelta(minutes=5)
MAX_DELAY = timedelta(hours=1)


@attrs.define
class DeliveryReport:
    """What one delivery run did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    suppressed: int = 0
    deferred: int = 0


def backoff(crm: "Crm", attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt."""
    return min(timedelta(seconds=load(crm).retry_seconds) * (2 ** max(attempts - 1, 0)), MAX_DELAY)


def deliver_due(crm: "Crm", *, limit: int = 200, claim: timedelta = CLAIM) -> DeliveryReport:
    """Send every due message (at most ``limit``); the worker's job ``core.messages``."""
    report = DeliveryReport()
    claimed = _claim(crm, limit, claim, report)
    for out in claimed:
        _send_one(crm, out, report)
    return report


def _claim(crm: "Crm", limit: int, claim: timedelta, report: DeliveryReport) -> list[OutgoingMessage]:
    m = messages.c
    settings = load(crm)
    out: list[OutgoingMessage] = []
    with crm.transaction(None) as tx:
        now = tx.now
        due = or_(and_(m.status == "queued", m.next_attempt_at <= now),
                  and_(m.status == "sending", m.claimed_until < now))
        query = select(messages).where(due).order_by(m.next_attempt_at, m.id).limit(limit)
        if tx.conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = tx.conn.execute(query).all()
        known = channels(crm)
        for row in rows:
            values: dict[str, Any] = {"updated_at": now}
            status = None
            if row.contact_id is not None:
                custom = tx.conn.scalar(select(schema.contacts.c.custom).where(schema.contacts.c.id == row.contact_id))
                if row.purpose == "marketing" and opted_out(tx.conn, row.contact_id, row.kind):
                    status, values["last_error"] = "suppressed", "opted out"
                elif row.purpose == "marketing" and over_cap(tx.conn, settings, row.contact_id, row.kind, now):
                    status, values["last_error"] = "suppressed", "frequency cap"
                else:
                    until = quiet_until(settings, now, zone_of(crm, custom))
                    if until is not None:
                        tx.conn.execute(update(messages).where(m.id == row.id).values(
                            status="queued", next_attempt_at=until, claimed_until=None, updated_at=now))
                        report.deferred += 1
                        continue
            if status is None and row.channel not in known:
                status, values["last_error"] = "failed", f"channel {row.channel} is not configured any more"
            if status is not None:
                tx.conn.execute(update(messages).where(m.id == row.id).values(status=status, **values))
                emit_status(tx, {**row._mapping, **values}, status)
                report.suppressed += status == "suppressed"
                report.failed += status == "failed"
                continue
            attempt = row.attempts + 1
            tx.conn.execute(update(messages).where(m.id == row.id).values(
                status="sending", attempts=attempt, claimed_until=now + claim, updated_at=now))
            out.append(OutgoingMessage(
                id=row.id, idempotency_key=row.idempotency_key, channel=row.channel, kind=row.kind,
                purpose=row.purpose, to=row.to_address, subject=row.subject, body=row.body, html=row.html,
                headers=dict(row.headers or {}), contact_id=row.contact_id, attempt=attempt))
    return out


def _send_one(crm: "Crm", message: OutgoingMessage, report: DeliveryReport) -> None:
    channel = channels(crm)[message.channel]
    error: DeliveryError | None = None
    result: SendResult | None = None
    try:
        result = channel.send(message)
        if not isinstance(result, SendResult):
            result = SendResult()
    except DeliveryError as exc:
        error = exc
    except Exception as exc:  # a channel's bug or an unexpected network error: retried like a temporary one
        log.exception("channel %s failed on message %s", message.channel, message.id)
        error = DeliveryError(f"{exc.__class__.__name__}: {exc}")
    _record(crm, message, result, error, report)


def _record(crm: "Crm", message: OutgoingMessage, result: SendResult | None, error: DeliveryError | None,
            report: DeliveryReport) -> None:
    m = messages.c
    settings = load(crm)
    with crm.transaction(None) as tx:
        now = tx.now
        row = tx.conn.execute(select(messages).where(m.id == message.id)).one()
        if row.status != "sending" or row.attempts != message.attempt:
            return  # another worker took it over after our claim expired: its outcome counts
        values: dict[str, Any] = {"updated_at": now, "claimed_until": None}
        if error is None and result is not None:
            status = "delivered" if result.status == "delivered" else "sent"
            values.update(status=status, sent_at=now, provider_id=result.provider_id, last_error=None)
            if status == "delivered":
                values["delivered_at"] = now
            report.sent += 1
            event = status
        elif error is not None and not error.permanent and message.attempt < settings.max_attempts:
            values.update(status="queued", last_error=error.message[:2000],
                          next_attempt_at=now + backoff(crm, message.attempt))
            report.retrying += 1
            event = None
        else:
            assert error is not None
            status = "bounced" if error.bounce else "failed"
            values.update(status=status, last_error=error.message[:2000])
            report.failed += 1
            event = status
        tx.conn.execute(update(messages).where(m.id == message.id).values(**values))
        if event is not None:
            emit_status(tx, {**row._mapping, **values}, event)


def retry_now(crm: "Crm", ids: list[int] | None = None, *, now: datetime | None = None) -> int:
    """Put failed (or backing-off) messages up for sending now; returns how many."""
    m = messages.c
    with crm.transaction(None) as tx:
        stmt = update(messages).where(m.status.in_(("failed", "queued")))
        if ids:
            stmt = stmt.where(m.id.in_(ids))
        return int(tx.conn.execute(stmt.values(status="queued", next_attempt_at=now or tx.now,
                                               updated_at=tx.now)).rowcount)
