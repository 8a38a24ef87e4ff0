"""After-commit delivery of the event log to plugins' ``crm_event_committed``.

Each subscriber (a plugin implementing the hook) has a cursor over the event log.
Delivery is at least once, in log order, each plugin on its own: one plugin's
exception is written to ``crm_event_failures`` and retried with exponential
backoff; it never stops the others and never touches the committed write.

On PostgreSQL several processes may deliver at once: a cursor row is locked
with ``FOR UPDATE SKIP LOCKED`` while its batch is delivered. On SQLite a
subscriber's batch is delivered under a lease (``deliver:<subscriber>``,
:mod:`crmkit.core.leases`) taken before and given back after it, so the server's
inline delivery and a worker never hand the same event over twice; a holder that
died is taken over at once. Threads of one process are serialized by a lock.

Delivery is still at least once (a process can die after a plugin acted and before
the cursor moved): a plugin whose effect must happen once records the events it
acted on in its own transaction with :meth:`Tx.once <crmkit.core.unit_of_work.Tx.once>`.
"""

from __future__ import annotations

import threading
import traceback
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Sequence

import attrs
from sqlalchemy import Connection, func, insert, select, update

from . import leases, schema
from .events import Event
from .log_horizon import horizon
from .unit_of_work import write_connection

if TYPE_CHECKING:  # pragma: no cover
    from .app import Crm

HOOK = "crm_event_committed"
LEASE = "deliver:"


@attrs.frozen
class Failure:
    """A delivery that failed: which event, to which plugin, how often, the last error."""

    id: int
    event_id: int
    event_type: str
    entity_type: str
    entity_id: int | None
    subscriber: str
    attempts: int
    status: str
    last_error: str
    next_attempt_at: datetime


@attrs.define
class DeliveryReport:
    delivered: int = 0
    failed: int = 0


class Dispatcher:
    def __init__(
        self,
        crm: "Crm",
        *,
        inline: bool = True,
        batch_size: int = 500,
        max_attempts: int = 8,
        base_delay: timedelta = timedelta(seconds=30),
        max_delay: timedelta = timedelta(hours=1),
        lease: timedelta = timedelta(minutes=2),
    ) -> None:
        self.crm = crm
        self.inline = inline
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.lease = lease
        """SQLite: how long a live deliverer may hold a subscriber before others take over."""
        self._lock = threading.Lock()
        self._delivering = threading.local()
        self._subscribers: dict[str, Callable[..., Any]] = {}
        for impl in crm.pm.hook.crm_event_committed.get_hookimpls():
            self._subscribers[impl.plugin_name] = _caller(crm.pm, impl)

    @property
    def subscribers(self) -> Sequence[str]:
        return list(self._subscribers)

    @property
    def postgres(self) -> bool:
        return self.crm.engine.dialect.name == "postgresql"

    # -- set-up ---------------------------------------------------------------

    def init_cursors(self) -> None:
        """A new subscriber starts at the end of the log: it gets events from now on."""
        if not self._subscribers:
            return
        with self._write() as conn:
            have = set(conn.scalars(select(schema.event_cursors.c.subscriber)))
            missing = [s for s in self._subscribers if s not in have]
            if missing:
                last = conn.scalar(select(func.coalesce(func.max(schema.events.c.id), 0)))
                conn.execute(insert(schema.event_cursors), [{"subscriber": s, "last_event_id": last} for s in missing])

    # -- delivery -------------------------------------------------------------

    def after_commit(self, fresh: Sequence[Event] = ()) -> None:
        """Deliver right after a commit (inline mode); ``fresh`` are the events just committed."""
        if self.inline and self._subscribers and not getattr(self._delivering, "active", False):
            # a plugin's crm_event_committed that commits a command of its own (e.g. crm.messages.send) leaves
            # that command's events to the delivery running in this thread (a later round) or the worker
            self.deliver_pending(fresh=fresh)

    def deliver_pending(self, limit: int | None = None, *, fresh: Sequence[Event] = ()) -> DeliveryReport:
        """Deliver every not-yet-delivered event to every subscriber (at most ``limit`` events).

        Each round reads one batch of the log once for all subscribers (or uses the
        ``fresh`` events just committed when nobody lags behind them).
        """
        report = DeliveryReport()
        done = 0
        outer = getattr(self._delivering, "active", False)
        self._delivering.active = True
        try:
            while limit is None or done < limit:
                size = self.batch_size if limit is None else min(self.batch_size, limit - done)
                n = self._deliver_round(size, fresh, report)
                fresh = ()
                done += n
                if n < size:
                    break
        finally:
            self._delivering.active = outer
        return report

    def _deliver_round(self, size: int, fresh: Sequence[Event], report: DeliveryReport) -> int:
        c = schema.event_cursors.c
        query = select(c.subscriber, c.last_event_id).where(c.subscriber.in_(list(self._subscribers)))
        if self.postgres:
            # Cursor rows stay locked while their batch is delivered: other processes skip them.
            with self.crm.engine.begin() as conn:
                cursors = dict(conn.execute(query.with_for_update(skip_locked=True)).all())
                events = self._batch(conn, cursors, size, fresh)
                failures = self._deliver(cursors, events, report)
                self._record(conn, cursors, events, failures)
                return len(events)
        with self._lock:
            with self.crm.engine.connect() as conn:  # the common "nothing new" answer takes no write lock
                cursors = dict(conn.execute(query).all())
                if not self._batch(conn, cursors, size, fresh):
                    return 0
            owner, now = leases.owner_name(), self.crm.clock.now()
            with self._write() as conn:  # claim, then read the cursors again: they may have moved meanwhile
                mine = [s for s in cursors if leases.take(conn, LEASE + s, owner, now, self.lease) is None]
                cursors = {s: last for s, last in conn.execute(query).all() if s in mine}
                events = self._batch(conn, cursors, size, fresh)
            try:
                failures = self._deliver(cursors, events, report)
                with self._write() as conn:
                    self._record(conn, cursors, events, failures)
                    for s in mine:
                        leases.release(conn, LEASE + s, owner)
            except BaseException:
                with self._write() as conn:
                    for s in mine:
                        leases.release(conn, LEASE + s, owner)
                raise
            return len(events)

    def _batch(self, conn: Connection, cursors: dict[str, int], size: int, fresh: Sequence[Event]) -> list[Event]:
        if not cursors:
            return []
        low = min(cursors.values())
        if (fresh and fresh[0].id == low + 1 and len(fresh) <= size and all(e.id is not None for e in fresh)
                and fresh[-1].id == low + len(fresh)):
            return list(fresh)  # nobody lags behind, and the ids after the cursor are all these: committed
        upto = horizon(self.crm.engine) if self.postgres else None  # never past an event still to commit
        if self.postgres and upto is None:
            return []
        return self._events_after(conn, low, size, upto)

    def _deliver(self, cursors: dict[str, int], events: list[Event], report: DeliveryReport) -> list[tuple[str, Event, str]]:
        failures = []
        for name, last in cursors.items():
            fn = self._subscribers[name]
            for event in events:
                if event.id is None or event.id <= last:
                    continue
                error = self._call(fn, event)
                if error is None:
                    report.delivered += 1
                else:
                    report.failed += 1
                    failures.append((name, event, error))
        return failures

    def _events_after(self, conn: Connection, last: int, size: int, upto: int | None = None) -> list[Event]:
        e = schema.events.c
        query = select(schema.events).where(e.id > last)
        if upto is not None:
            query = query.where(e.id <= upto)
        rows = conn.execute(query.order_by(e.id).limit(size))
        return [Event.from_row(r) for r in rows]

    def _call(self, fn: Callable[..., Any], event: Event) -> str | None:
        try:
            fn(crm=self.crm, event=event)
        except Exception as exc:  # a plugin's side effect failed: record, retry later
            tb = traceback.format_exception_only(type(exc), exc)
            return "".join(tb).strip()[:2000]
        return None

    def _record(self, conn: Connection, cursors: dict[str, int], events: list[Event],
                failures: list[tuple[str, Event, str]]) -> None:
        if not events:
            return
        now = self.crm.clock.now()
        if failures:
            conn.execute(insert(schema.event_failures), [
                {"event_id": ev.id, "subscriber": name, "attempts": 1, "status": "retrying", "last_error": err,
                 "next_attempt_at": now + self.delay(1), "updated_at": now}
                for name, ev, err in failures
            ])
        c = schema.event_cursors.c
        last_id = events[-1].id
        for name, last in cursors.items():
            if last_id is not None and last < last_id:
                conn.execute(update(schema.event_cursors)
                             .where(c.subscriber == name, c.last_event_id == last).values(last_event_id=last_id))

    def delay(self, attempts: int) -> timedelta:
        return min(self.base_delay * (2 ** (attempts - 1)), self.max_delay)

    # -- retries --------------------------------------------------------------

    def retry_due(self, limit: int = 500) -> DeliveryReport:
        """Retry failed deliveries whose backoff has passed."""
        outer = getattr(self._delivering, "active", False)
        self._delivering.active = True
        try:
            return self._retry_due(limit)
        finally:
            self._delivering.active = outer

    def _retry_due(self, limit: int) -> DeliveryReport:
        report = DeliveryReport()
        f = schema.event_failures.c
        now = self.crm.clock.now()
        query = (
            select(schema.event_failures, schema.events)
            .join(schema.events, schema.events.c.id == f.event_id)
            .where(f.status == "retrying", f.next_attempt_at <= now)
            .order_by(f.id)
            .limit(limit)
        )
        if self.postgres:
            with self.crm.engine.begin() as conn:
                rows = conn.execute(query.with_for_update(skip_locked=True, of=schema.event_failures)).all()
                self._retry_rows(conn, rows, report, now)
            return report
        with self._lock:
            with self.crm.engine.connect() as conn:
                rows = conn.execute(query).all()
            outcomes = [(r, self._call_named(r.subscriber, _event_of(r))) for r in rows]
            with self._write() as conn:
                self._store_outcomes(conn, outcomes, report, now)
        return report

    def _retry_rows(self, conn: Connection, rows: Sequence[Any], report: DeliveryReport, now: datetime) -> None:
        outcomes = [(r, self._call_named(r.subscriber, _event_of(r))) for r in rows]
        self._store_outcomes(conn, outcomes, report, now)

    def _call_named(self, subscriber: str, event: Event) -> str | None:
        fn = self._subscribers.get(subscriber)
        if fn is None:
            return f"plugin {subscriber} is not enabled in this deployment"
        return self._call(fn, event)

    def _store_outcomes(
        self, conn: Connection, outcomes: list[tuple[Any, str | None]], report: DeliveryReport, now: datetime
    ) -> None:
        f = schema.event_failures.c
        for row, error in outcomes:
            if error is None:
                report.delivered += 1
                values: dict[str, Any] = {"status": "delivered", "attempts": row.attempts + 1, "updated_at": now}
            else:
                report.failed += 1
                attempts = row.attempts + 1
                values = {
                    "attempts": attempts, "last_error": error, "updated_at": now,
                    "status": "dead" if attempts >= self.max_attempts else "retrying",
                    "next_attempt_at": now + self.delay(attempts),
                }
            conn.execute(update(schema.event_failures).where(f.id == row._mapping[f.id]).values(**values))

    def failures(self, *, status: str | None = None, limit: int = 100) -> list[Failure]:
        f = schema.event_failures.c
        e = schema.events.c
        query = (select(schema.event_failures, e.type, e.entity_type, e.entity_id)
                 .join(schema.events, e.id == f.event_id).order_by(f.id.desc()).limit(limit))
        if status:
            query = query.where(f.status == status)
        with self.crm.engine.connect() as conn:
            return [
                Failure(
                    id=r.id, event_id=r.event_id, event_type=r.type, entity_type=r.entity_type,
                    entity_id=r.entity_id, subscriber=r.subscriber, attempts=r.attempts, status=r.status,
                    last_error=r.last_error, next_attempt_at=r.next_attempt_at,
                )
                for r in conn.execute(query)
            ]

    def requeue(self, ids: Sequence[int] | None = None) -> int:
        """Put failed deliveries (``dead`` or backing off) up for retry now."""
        f = schema.event_failures.c
        stmt = update(schema.event_failures).where(f.status.in_(("dead", "retrying")))
        if ids:
            stmt = stmt.where(f.id.in_(list(ids)))
        with self._write() as conn:
            return conn.execute(stmt.values(status="retrying", next_attempt_at=self.crm.clock.now())).rowcount

    def _write(self) -> ContextManager[Connection]:
        return write_connection(self.crm)


def _event_of(row: Any) -> Event:
    m = row._mapping
    payload = m[schema.events.c.payload] or {}
    return Event(
        id=m[schema.events.c.id], type=m[schema.events.c.type], entity_type=m[schema.events.c.entity_type],
        entity_id=m[schema.events.c.entity_id], actor_id=m[schema.events.c.actor_id],
        occurred_at=m[schema.events.c.occurred_at], changes=payload.get("changes", {}), data=payload.get("data", {}),
        request_id=payload.get("request_id"),
    )


def _caller(pm: Any, impl: Any) -> Callable[..., Any]:
    """``call(crm=..., event=...)``: one plugin's ``crm_event_committed``, called through pluggy
    (:mod:`crmkit.core.hookcall`: it gets the arguments it names; hook tracing sees it)."""
    from .hookcall import impl_caller

    return impl_caller(getattr(pm.hook, HOOK), impl)
