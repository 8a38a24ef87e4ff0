"""Leases: who holds a named piece of work on SQLite, and until when.

On SQLite one process at a time runs the worker (lease ``worker``) and delivers a
subscriber's events (lease ``deliver:<subscriber>``): the server's inline delivery and
``crmkit worker`` (or ``crmkit events deliver``) would otherwise deliver the same event
twice. (PostgreSQL needs no lease: rows are claimed with ``FOR UPDATE SKIP LOCKED``,
and a dead holder's lock goes with its connection.)

A lease names its holder ``host:pid``. A holder found dead -- same host, no such
process -- is taken over at once, not when the lease expires; a live holder keeps
the lease until it expires (a hung process loses it then).
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select, update

from . import schema

HOST = socket.gethostname()


def owner_name() -> str:
    """This process as a lease holder: ``host:pid``."""
    return f"{HOST}:{os.getpid()}"


def holder_alive(owner: str) -> bool:
    """Whether the holder may still be working: False only for a process of this host that is gone."""
    host, _, pid = owner.rpartition(":")
    if host != HOST or not (pid.isascii() and pid.isdigit()):
        return True  # another host (or a custom name): only the expiry tells
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def take(conn: Connection, name: str, owner: str, now: datetime, ttl: timedelta) -> str | None:
    """Take (or renew) lease ``name`` for ``owner``, in the caller's write transaction.

    Returns None when ``owner`` holds it now, else the holder that keeps it.
    """
    lease = schema.leases.c
    row = conn.execute(select(lease.owner, lease.expires_at).where(lease.name == name)).first()
    if row is not None and row.owner != owner and row.expires_at > now and holder_alive(row.owner):
        return str(row.owner)
    if row is None:
        conn.execute(insert(schema.leases).values(name=name, owner=owner, taken_at=now, expires_at=now + ttl))
    else:
        taken = now if row.owner != owner else None
        values = {"owner": owner, "expires_at": now + ttl, **({"taken_at": taken} if taken else {})}
        conn.execute(update(schema.leases).where(lease.name == name).values(**values))
    return None


def release(conn: Connection, name: str, owner: str) -> None:
    """Give lease ``name`` back (if ``owner`` still holds it)."""
    lease = schema.leases.c
    conn.execute(delete(schema.leases).where(lease.name == name, lease.owner == owner))


def holder(conn: Connection, name: str) -> tuple[str, datetime, datetime] | None:
    """(owner, taken_at, expires_at) of lease ``name``, if anyone holds it."""
    lease = schema.leases.c
    row = conn.execute(select(lease.owner, lease.taken_at, lease.expires_at).where(lease.name == name)).first()
    return None if row is None else (row.owner, row.taken_at, row.expires_at)
