"""PostgreSQL: how far the event log may be read without skipping an event that is still to commit.

Event ids come from a sequence when a command inserts its events, but commands commit in their own
order: while command A (id 22) is still open, command B (id 23) may commit, and a deliverer reading
"every event after my cursor" would deliver 23, move its cursor past 22, and never deliver 22.

So a command takes a shared advisory lock before it inserts its events (held until it commits or
rolls back: :func:`mark_writer`), and a deliverer asks for the :func:`horizon` first: it takes the
same lock exclusively for a moment -- waiting for the commands that already have ids -- and reads
the newest id. Every id up to the horizon is then committed or gone for good; the deliverer reads no
further. Commands never wait for each other (shared locks), only for that moment. On SQLite (one
writer at a time, ids in commit order) both do nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.exc import OperationalError

from . import schema

LOCK_KEY = 0x63726D65  # "crme": the event log's writers
WAIT = "200ms"
"""How long a deliverer waits for the open commands; longer (a long import batch): it delivers next round."""


def mark_writer(conn: Connection) -> None:
    """In a command's transaction, before its events get ids (PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": LOCK_KEY})


def horizon(engine: Engine) -> int | None:
    """The newest event id below which nothing is still to commit (PostgreSQL; ``None`` when open
    commands kept it waiting beyond :data:`WAIT`: deliver nothing new this round)."""
    with engine.connect() as conn:
        try:
            conn.execute(text(f"SET LOCAL lock_timeout = '{WAIT}'"))
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            last: Any = conn.scalar(select(func.coalesce(func.max(schema.events.c.id), 0)))
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
                raise
            return None
        finally:
            conn.rollback()  # releases the lock
    return int(last)
