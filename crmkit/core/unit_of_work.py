"""One command = one transaction: rows, validation hooks, event log, reaction hooks.

Services write inside ``with crm.transaction(actor_id) as tx:``. On leaving the
block without an error the transaction runs, in order:

1. ``crm_validate(tx, events)`` -- a plugin may veto (raise) the command;
2. the events are appended to the event log (one ``executemany``);
3. ``crm_on_events(tx, events)`` -- plugins add their own rows atomically;
   events they cause (an automatic task, a copied deal) go through 1-3 in turn;
4. the ``before_commit`` callbacks (:meth:`Tx.before_commit`): the last statements, e.g. the
   API's stored response of an ``Idempotency-Key``;
5. COMMIT, then after-commit delivery of the new events (when: :mod:`crmkit.core.delivery`).

A service called while a transaction is open in the same thread joins it, so a
command made of commands (lead conversion, a pipeline rule copying a deal) is
still one transaction. Any exception in the block or in a hook rolls
everything back.
"""

from __future__ import annotations

import threading
import weakref
from contextlib import contextmanager, nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Iterator, Mapping

from sqlalchemy import Connection, Engine, event, insert, select

from . import schema
from .db import WRITE_OPTION
from .errors import CrmError
from .events import Event
from .log_horizon import mark_writer
from .prepared import Insert
from .request_context import current_request_id

if TYPE_CHECKING:  # pragma: no cover
    from .app import Crm


MAX_ROUNDS = 10
"""How many rounds of reactions (events causing events) one command may have."""

_INSERT_EVENT = Insert(schema.events)
_WRITE_ENGINES: "weakref.WeakKeyDictionary[Engine, Engine]" = weakref.WeakKeyDictionary()
"""Per engine, its copy whose connections carry the write option (SQLite: BEGIN IMMEDIATE)."""


class Tx:
    """An open write transaction: the connection, the actor, the time, the events so far."""

    __slots__ = ("crm", "conn", "actor_id", "now", "events", "defer_delivery", "_before_commit")

    def __init__(self, crm: "Crm", conn: Connection, actor_id: int | None, now: datetime) -> None:
        self.crm = crm
        self.conn = conn
        self.actor_id = actor_id
        self.now = now
        self.events: list[Event] = []
        self.defer_delivery = False
        """Set by bulk commands: their events go to plugins from the worker, not inline."""
        self._before_commit: list[Callable[[Tx], None]] = []

    def emit(
        self,
        type: str,
        entity_type: str,
        entity_id: int | None,
        changes: Mapping[str, Mapping[str, Any]] | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Event:
        """Append a domain event to this command (logged at commit)."""
        event = Event(
            type=type, entity_type=entity_type, entity_id=entity_id, actor_id=self.actor_id,
            occurred_at=self.now, changes=changes or {}, data=data or {}, request_id=current_request_id(),
        )
        self.events.append(event)
        return event

    def once(self, consumer: str, event_id: int | None) -> bool:
        """True the first time ``consumer`` asks about ``event_id`` in a committed transaction,
        False ever after: the row recording it commits (or rolls back) with this transaction.

        Delivery of events is at least once; a plugin whose effect must happen once writes it
        in its own transaction, guarded by ``once``::

            @hookimpl
            def crm_event_committed(crm, event):
                with crm.transaction() as tx:
                    if tx.once("myplugin.sms", event.id):
                        ... insert the outbox row ...
        """
        if not isinstance(consumer, str) or not consumer or len(consumer) > 100:
            raise ValueError("once: consumer is a name of 1 to 100 characters")
        if event_id is None:
            raise ValueError("once: the event has no id yet (it is not committed)")
        p = schema.processed_events.c
        seen = self.conn.scalar(select(p.event_id).where(p.consumer == consumer, p.event_id == event_id))
        if seen is not None:
            return False
        self.conn.execute(insert(schema.processed_events).values(consumer=consumer, event_id=event_id))
        return True

    def before_commit(self, callback: "Callable[[Tx], None]") -> None:
        """Run ``callback(tx)`` as the last statements of this transaction: after every round of
        hooks (the events are logged), right before COMMIT, in the order registered.

        What it writes commits with the command or not at all; raising rolls everything back. It
        may not emit events (they would not be logged: a :class:`CrmError`). The API stores the
        response of a request with an ``Idempotency-Key`` this way (:mod:`crmkit.web.idempotency`)::

            with crm.transaction(user_id) as tx:
                deal = crm.as_user(user_id).deals.create(title="...")   # joins tx
                tx.before_commit(lambda tx: tx.conn.execute(insert(receipts).values(deal_id=deal.id)))
        """
        self._before_commit.append(callback)

    def _commit_rows(self) -> None:
        logged = len(self.events)
        for callback in self._before_commit:
            callback(self)
        if len(self.events) != logged:
            raise CrmError("a before_commit callback emitted events; emit them in the command instead")

    def _finish(self) -> None:
        hook = self.crm.pm.hook
        done = 0
        for _round in range(MAX_ROUNDS):
            start, done = done, len(self.events)
            if start == done:
                return
            if self.crm.has_impls("crm_validate"):
                hook.crm_validate(tx=self, events=self.events[start:done])
            self._log(start, done)
            if self.crm.has_impls("crm_on_events"):
                hook.crm_on_events(tx=self, events=self.events[start:done])
        if len(self.events) == done:  # the last round caused nothing: MAX_ROUNDS rounds are allowed
            return
        raise CrmError(
            f"plugins kept reacting to each other's events for {MAX_ROUNDS} rounds; "
            f"last events: {', '.join(e.type for e in self.events[done:][:5])}"
        )

    def _log(self, start: int, end: int) -> None:
        """Append ``events[start:end]`` to the log and give each its id."""
        events = self.events[start:end]
        if not events or not self.crm.event_log:
            return
        rows = [
            {"type": e.type, "entity_type": e.entity_type, "entity_id": e.entity_id, "actor_id": e.actor_id,
             "occurred_at": e.occurred_at, "payload": e.payload()}
            for e in events
        ]
        mark_writer(self.conn)  # PostgreSQL: a deliverer waits for this commit before reading past these ids
        if len(rows) == 1:  # the common single command: compiled once, straight to the cursor
            ids = [_INSERT_EVENT(self.conn, rows[0])]
        else:
            from .services.base import insert_many

            ids = insert_many(self.conn, schema.events, rows)
        for i, (e, ident) in enumerate(zip(events, ids)):  # the constructor: ~4x faster than attrs.evolve
            self.events[start + i] = Event(e.type, e.entity_type, e.entity_id, e.actor_id, e.occurred_at,
                                           e.changes, e.data, ident, e.request_id)


class WriteGate:
    """Serializes writers where the database needs it (SQLite: one writer at a time).

    On SQLite the gate also keeps the writers' connection open between commands (only the gate's
    holder uses it): a pool checkout and return cost ~2x an empty write transaction. It is closed
    when the engine is disposed (``Crm.close``)."""

    def __init__(self, serialize: bool) -> None:
        self._lock = threading.Lock() if serialize else None
        self._conn: Connection | None = None

    def __call__(self) -> ContextManager[Any]:
        return self._lock if self._lock is not None else nullcontext()

    @property
    def serialized(self) -> bool:
        return self._lock is not None

    def connection(self, engine: Engine) -> Connection:
        """The writers' connection to ``engine``, with the write option (call it holding the gate)."""
        conn = self._conn
        if conn is None or conn.closed or conn.invalidated:
            if conn is None and not event.contains(engine, "engine_disposed", self._close):
                event.listen(engine, "engine_disposed", self._close)
            conn = self._conn = _write_engine(engine).connect()
        return conn

    def _close(self, _engine: Any = None) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # the pool is disposed already: close the DBAPI connection itself (an in-memory database's
            # one connection is closed with its pool), never hand it back to the old pool
            if not conn.invalidated:
                conn.invalidate()
            conn.close()


def _write_engine(engine: Engine) -> Engine:
    """``engine`` with the write option set once, not on every connection (~60 us a command)."""
    found = _WRITE_ENGINES.get(engine)
    if found is None:
        found = _WRITE_ENGINES[engine] = engine.execution_options(**{WRITE_OPTION: True})
    return found


@contextmanager
def write_connection(crm: "Crm") -> Iterator[Connection]:
    """A connection in a write transaction (SQLite: BEGIN IMMEDIATE behind the write gate)."""
    gate = crm.write_gate
    with gate():
        if gate.serialized:
            conn = gate.connection(crm.engine)
            with conn.begin():
                yield conn
            return
        with _write_engine(crm.engine).connect() as conn:
            with conn.begin():
                yield conn


@contextmanager
def transaction(crm: "Crm", actor_id: int | None) -> Iterator[Tx]:
    """Open a write transaction for one command, or join the one open in this thread."""
    local = crm._tx_local
    outer: Tx | None = getattr(local, "tx", None)
    if outer is not None:
        yield outer
        return
    with write_connection(crm) as conn:
        tx = Tx(crm, conn, actor_id, crm.clock.now())
        local.tx = tx
        try:
            yield tx
            tx._finish()
            tx._commit_rows()
        finally:
            local.tx = None
    if tx.events and not tx.defer_delivery:
        crm.delivery.committed(tx.events)
