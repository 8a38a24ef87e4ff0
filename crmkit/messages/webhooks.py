"""Outbound webhooks, signed as the Standard Webhooks specification says.

A subscription names a URL, the event types it wants (``deal.stage_changed``, a prefix ``deal.*``,
or ``*``) and gets a secret (``whsec_<base64>``). The worker's job ``core.webhooks`` reads the event
log past its cursor, writes one delivery per (subscription, event) -- in one transaction with the
cursor, so an event is never queued twice or skipped -- then POSTs the due ones::

    webhook-id: <delivery's stable id>   webhook-timestamp: <unix seconds>
    webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>" with the secret's bytes>
    {"type": "deal.stage_changed", "timestamp": "...", "data": {"event_id": 7, "entity_type": "deal", ...}}

A 2xx answer delivers it; anything else is retried with backoff until ``max_attempts`` (then
``failed``); ``DISABLE_AFTER`` failed attempts in a row disable the subscription (``webhook.disabled``).
Every attempt is in the delivery log (``deliveries``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import attrs
import httpx
from sqlalchemy import and_, delete, func, insert, or_, select, update

from crmkit import Event, NotFoundError, ValidationError, check_id, check_text, events, schema

from .config import load
from .delivery import backoff
from .tables import state, webhook_deliveries, webhook_subscriptions
from .triggers import safe_end

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm

CURSOR = "webhook_cursor"
DISABLE_AFTER = 10
CLAIM = timedelta(minutes=5)
BATCH = 500


@attrs.frozen
class Subscription:
    id: int
    url: str
    event_types: Sequence[str]
    active: bool
    description: str
    consecutive_failures: int
    disabled_reason: str | None
    secret: str | None = None
    """Shown when the subscription is created, never again."""


@attrs.frozen
class Delivery:
    id: int
    subscription_id: int
    event_id: int
    event_type: str
    webhook_id: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for ``body`` (Standard Webhooks, ``v1``)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def matches(patterns: Iterable[str], event_type: str) -> bool:
    return any(p == "*" or p == event_type or (p.endswith(".*") and event_type.startswith(p[:-1]))
               for p in patterns)


def payload(event: Event) -> dict[str, Any]:
    return {"type": event.type, "timestamp": event.occurred_at.isoformat().replace("+00:00", "Z"), "data": {
        "event_id": event.id, "entity_type": event.entity_type, "entity_id": event.entity_id,
        "actor_id": event.actor_id, "changes": dict(event.changes), "data": dict(event.data)}}


def _check_url(url: Any) -> str:
    url = check_text(url, "url", required=True, max_length=2000)
    if not (url.startswith("https://") or url.startswith("http://")) or len(url.split("://", 1)[1]) < 1:
        raise ValidationError(f"url: {url!r} is not an http:// or https:// URL", field="url")
    return url


def _check_types(types: Any) -> list[str]:
    if not isinstance(types, (list, tuple)) or not types or len(types) > 100:
        raise ValidationError("event_types: a list of 1 to 100 event types (\"deal.*\" for a prefix, \"*\" for all)",
                              field="event_types")
    out = []
    for t in types:
        t = check_text(t, "event_types", required=True, max_length=80)
        if not all(ch.isalnum() or ch in "._*" for ch in t) or ("*" in t and not (t == "*" or t.endswith(".*"))):
            raise ValidationError(f"event_types: {t!r} is not an event type (such as deal.stage_changed or deal.*)",
                                  field="event_types")
        out.append(t)
    return out


def _sub(row: Any, secret: str | None = None) -> Subscription:
    return Subscription(row.id, row.url, list(row.event_types), row.active, row.description,
                        row.consecutive_failures, row.disabled_reason, secret)


class WebhookService:
    def __init__(self, crm: "Crm") -> None:
        self.crm = crm

    # -- subscriptions ---------------------------------------------------------------------

    def create(self, url: str, event_types: Sequence[str], *, description: str = "") -> Subscription:
        """Subscribe ``url`` to events from now on; the answer carries the secret (shown once)."""
        url, types = _check_url(url), _check_types(event_types)
        description = check_text(description, "description", max_length=300) or ""
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        with self.crm.transaction(None) as tx:
            last = tx.conn.scalar(select(func.coalesce(func.max(schema.events.c.id), 0)))
            ident = tx.conn.execute(insert(webhook_subscriptions).values(
                url=url, event_types=types, secret=secret, active=True, description=description,
                consecutive_failures=0, after_event_id=last, created_at=tx.now, updated_at=tx.now)).inserted_primary_key[0]
            tx.emit(events.WEBHOOK_CREATED, "webhook", ident, data={"url": url, "event_types": types})
        return self.get(ident, secret=secret)

    def get(self, subscription_id: int, *, secret: str | None = None) -> Subscription:
        with self.crm.engine.connect() as conn:
            row = conn.execute(select(webhook_subscriptions).where(
                webhook_subscriptions.c.id == check_id(subscription_id, "id"))).first()
        if row is None:
            raise NotFoundError(f"webhook {subscription_id} does not exist")
        return _sub(row, secret)

    def list(self) -> list[Subscription]:
        with self.crm.engine.connect() as conn:
            return [_sub(r) for r in conn.execute(select(webhook_subscriptions).order_by(webhook_subscriptions.c.id))]

    def update(self, subscription_id: int, *, url: str | None = None, event_types: Sequence[str] | None = None,
               active: bool | None = None) -> Subscription:
        """Change a subscription; ``active=True`` re-enables a disabled one (its failures forgotten)."""
        values: dict[str, Any] = {}
        if url is not None:
            values["url"] = _check_url(url)
        if event_types is not None:
            values["event_types"] = _check_types(event_types)
        if active is not None:
            if not isinstance(active, bool):
                raise ValidationError("active: true or false", field="active")
            values["active"] = active
            if active:
                values.update(consecutive_failures=0, disabled_reason=None)
        self.get(subscription_id)
        with self.crm.transaction(None) as tx:
            tx.conn.execute(update(webhook_subscriptions).where(webhook_subscriptions.c.id == subscription_id)
                            .values(updated_at=tx.now, **values))
            tx.emit(events.WEBHOOK_UPDATED, "webhook", subscription_id,
                    data={k: v for k, v in values.items() if k in ("url", "event_types", "active")})
        return self.get(subscription_id)

    def delete(self, subscription_id: int) -> None:
        self.get(subscription_id)
        with self.crm.transaction(None) as tx:
            tx.conn.execute(delete(webhook_deliveries).where(webhook_deliveries.c.subscription_id == subscription_id))
            tx.conn.execute(delete(webhook_subscriptions).where(webhook_subscriptions.c.id == subscription_id))

    def deliveries(self, subscription_id: int, *, limit: int = 50) -> list[Delivery]:
        """The delivery log of a subscription, newest first."""
        self.get(subscription_id)
        d = webhook_deliveries.c
        with self.crm.engine.connect() as conn:
            rows = conn.execute(select(webhook_deliveries).where(d.subscription_id == subscription_id)
                                .order_by(d.id.desc()).limit(min(max(int(limit), 1), 500)))
            return [Delivery(r.id, r.subscription_id, r.event_id, r.event_type, r.webhook_id, r.status, r.attempts,
                             r.last_status_code, r.last_error) for r in rows]

    # -- the worker ------------------------------------------------------------------------

    def run(self) -> int:
        """Queue deliveries for new events, then send the due ones; returns how many were delivered."""
        self.enqueue()
        return self.send_due()

    def enqueue(self) -> int:
        """One delivery per matching (subscription, new event); the cursor moves in the same transaction."""
        e, s = schema.events.c, webhook_subscriptions.c
        queued = 0
        while True:
            end = safe_end(self.crm)  # PostgreSQL: never past an event whose command is still to commit
            if end is None:
                return queued
            with self.crm.transaction(None) as tx:
                cursor = int(tx.conn.scalar(select(state.c.value).where(state.c.name == CURSOR)) or 0)
                subs = tx.conn.execute(select(s.id, s.event_types, s.after_event_id).where(s.active.is_(True))).all()
                if not subs:
                    _set_cursor(tx.conn, cursor, max(cursor, end))
                    return queued
                rows = tx.conn.execute(select(schema.events).where(e.id > cursor, e.id <= end)
                                       .order_by(e.id).limit(BATCH)).all()
                if not rows:
                    return queued
                batch = []
                for row in rows:
                    event = Event.from_row(row)
                    for sub in subs:
                        if event.id is not None and event.id > sub.after_event_id and matches(sub.event_types, event.type):
                            batch.append({"subscription_id": sub.id, "event_id": event.id, "event_type": event.type,
                                          "webhook_id": f"msg_{uuid.uuid4().hex}", "status": "pending", "attempts": 0,
                                          "next_attempt_at": tx.now, "created_at": tx.now, "updated_at": tx.now})
                if batch:
                    tx.conn.execute(insert(webhook_deliveries), batch)
                queued += len(batch)
                _set_cursor(tx.conn, cursor, rows[-1].id)
            if len(rows) < BATCH:
                return queued

    def send_due(self, limit: int = 200) -> int:
        d, s = webhook_deliveries.c, webhook_subscriptions.c
        with self.crm.transaction(None) as tx:
            due = or_(and_(d.status == "pending", d.next_attempt_at <= tx.now),
                      and_(d.status == "sending", d.claimed_until < tx.now))
            query = (select(webhook_deliveries, s.url, s.secret).join(webhook_subscriptions, s.id == d.subscription_id)
                     .where(due, s.active.is_(True)).order_by(d.next_attempt_at, d.id).limit(limit))
            if tx.conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=webhook_deliveries)
            rows = tx.conn.execute(query).all()
            if rows:
                tx.conn.execute(update(webhook_deliveries).where(d.id.in_([r.id for r in rows])).values(
                    status="sending", claimed_until=tx.now + CLAIM, attempts=d.attempts + 1, updated_at=tx.now))
            bodies = {}
            for r in rows:
                ev = tx.conn.execute(select(schema.events).where(schema.events.c.id == r.event_id)).first()
                bodies[r.id] = json.dumps(payload(Event.from_row(ev)) if ev is not None else
                                          {"type": r.event_type, "data": {"event_id": r.event_id}}).encode()
        delivered = 0
        for r in rows:
            code, error = self._post(r, bodies[r.id])
            delivered += self._record(r, code, error)
        return delivered

    def _post(self, row: Any, body: bytes) -> tuple[int | None, str | None]:
        ts = int(time.time())
        headers = {"Content-Type": "application/json", "webhook-id": row.webhook_id, "webhook-timestamp": str(ts),
                   "webhook-signature": sign(row.secret, row.webhook_id, ts, body)}
        try:
            response = httpx.post(row.url, content=body, headers=headers, timeout=15.0)
        except httpx.HTTPError as exc:
            return None, f"{exc.__class__.__name__}: {exc}"[:2000]
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"answered {response.status_code}: {response.text[:300]}"

    def _record(self, row: Any, code: int | None, error: str | None) -> int:
        d, s = webhook_deliveries.c, webhook_subscriptions.c
        attempts = row.attempts + 1
        with self.crm.transaction(None) as tx:
            if error is None:
                tx.conn.execute(update(webhook_deliveries).where(d.id == row.id).values(
                    status="delivered", last_status_code=code, last_error=None, claimed_until=None, updated_at=tx.now))
                tx.conn.execute(update(webhook_subscriptions).where(s.id == row.subscription_id)
                                .values(consecutive_failures=0))
                return 1
            final = attempts >= load(self.crm).max_attempts
            tx.conn.execute(update(webhook_deliveries).where(d.id == row.id).values(
                status="failed" if final else "pending", last_status_code=code, last_error=error, claimed_until=None,
                next_attempt_at=tx.now + backoff(self.crm, attempts), updated_at=tx.now))
            failures = int(tx.conn.scalar(select(s.consecutive_failures).where(s.id == row.subscription_id)) or 0) + 1
            values: dict[str, Any] = {"consecutive_failures": failures}
            if failures >= DISABLE_AFTER:
                values.update(active=False, disabled_reason=f"{failures} failed deliveries in a row; last: {error}"[:2000],
                              updated_at=tx.now)
                tx.emit(events.WEBHOOK_DISABLED, "webhook", row.subscription_id,
                        data={"failures": failures, "last_error": error})
            tx.conn.execute(update(webhook_subscriptions).where(s.id == row.subscription_id, s.active.is_(True))
                            .values(**values))
        return 0


def _set_cursor(conn: Any, old: int, new: int) -> None:
    if new == old:
        return
    found = conn.execute(update(state).where(state.c.name == CURSOR).values(value=str(new))).rowcount
    if not found:
        conn.execute(insert(state).values(name=CURSOR, value=str(new)))
