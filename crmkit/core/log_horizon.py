"""PostgreSQL: how far the event log may be read without skipping an event that is still to commit.

Event ids come from a sequence when a command inserts its events, but commands commit in their own
order: while command A (id 22) is still open, command B (id 23) may commit, and a deliverer reading
"every event after my cursor" would deliver 23, move its cursor past 22, and never deliver 22.

So a command takes a shared advisory lock before its events get ids, held until it commits or rolls
back (:func:`mark_writer`; shared: commands never wait for each other, nor for deliverers). A
deliverer asks for the :func:`horizon`: it reads the newest committed id ``H``, then which
transactions hold that lock. Any still-open command with an id below ``H`` took its id before ``H``
committed, so it is among them: ``H`` is safe as soon as every one of them has finished (at once
when there are none). Until then the deliverer reads no further than the newest candidate that is
already safe -- one round later, usually. On SQLite (one writer at a time, ids in commit order)
both do nothing.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text

from . import schema

LOCK_KEY = 0x63726D65  # "crme": the event log's writers
MAX_CANDIDATES = 256
_HOLDERS = text("SELECT virtualtransaction FROM pg_locks WHERE locktype = 'advisory' AND classid = :hi "
                "AND objid = :lo AND objsubid = 1 AND granted")


def mark_writer(conn: Connection) -> None:
    """In a command's transaction, before its events get ids (PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": LOCK_KEY})


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.safe: int | None = None
        self.candidates: list[tuple[int, frozenset[str]]] = []
        """(id, the transactions holding the writers' lock when it was read), oldest first."""


_STATES: "weakref.WeakKeyDictionary[Engine, _State]" = weakref.WeakKeyDictionary()
_STATES_LOCK = threading.Lock()


def horizon(engine: Engine) -> int | None:
    """The newest event id below which nothing is still to commit, as far as is known now
    (PostgreSQL; ``None`` when nothing is known yet: deliver nothing new this round)."""
    with engine.connect() as conn:
        newest = int(conn.scalar(select(func.coalesce(func.max(schema.events.c.id), 0))) or 0)
        holders = frozenset(conn.scalars(_HOLDERS, {"hi": LOCK_KEY >> 32, "lo": LOCK_KEY & 0xFFFFFFFF}))
        conn.rollback()
    with _STATES_LOCK:
        state = _STATES.get(engine)
        if state is None:
            state = _STATES[engine] = _State()
    with state.lock:
        waiting = []
        for candidate, held in state.candidates:
            if held.isdisjoint(holders):  # every command open when it was read has finished
                state.safe = max(state.safe or 0, candidate)
            else:
                waiting.append((candidate, held))
        if not holders:
            state.safe = max(state.safe or 0, newest)
        elif newest > (state.safe or 0):
            waiting.append((newest, holders))
        state.candidates = waiting[-MAX_CANDIDATES:]
        return state.safe
