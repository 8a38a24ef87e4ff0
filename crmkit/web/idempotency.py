"""``Idempotency-Key`` on POST: a retried request returns the first response and creates nothing new.

A key belongs to one user. The first request claims the key (a row with no
response yet), runs, and stores its 2xx response; a retry with the same key and
the same request replays it. A request that failed stores nothing, so the client
can fix it and retry with the same key. The same key with a different request is
refused (422); a retry while the first is still running gets 409.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column, ForeignKey, Integer, MetaData, String, Table, Text, UniqueConstraint, delete, insert, select, update,
)
from sqlalchemy.exc import IntegrityError

from ..core import schema as core_schema
from ..core.errors import ConflictError, ValidationError
from ..core.types import UTCDateTime
from .errors import BadRequest

if TYPE_CHECKING:  # pragma: no cover
    from ..core.app import Crm

metadata = MetaData()

idempotency_keys = Table(
    "crm_idempotency_keys", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", ForeignKey(core_schema.users.c.id), nullable=False),
    Column("key", String(200), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("status", Integer),  # NULL while the first request runs
    Column("response", Text),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("user_id", "key"),
)

KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
KEY_SCHEMA = {"type": "string", "pattern": r"^[\x21-\x7e]{1,200}$"}
ABANDONED_AFTER = timedelta(minutes=5)  # a claim older than this without a response is taken over
KEEP_FOR = timedelta(hours=24)  # after this a key may be reused


def create_table(crm: "Crm") -> None:
    """Nothing left to do: ``crm_idempotency_keys`` belongs to the core's schema, made (and later
    altered) by the core's migrations when the ``Crm`` started (crmkit.core.migrations)."""


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def check_key(key: str) -> str:
    if not KEY.match(key):
        raise BadRequest("Idempotency-Key: 1 to 200 printable ASCII characters", field="Idempotency-Key")
    return key


def claim(crm: "Crm", user_id: int, key: str, fp: str) -> tuple[int, Any] | None:
    """Claim ``key``; or return the stored (status, data) of the first request with it."""
    t = idempotency_keys
    for _ in range(2):
        try:
            with crm.transaction(user_id) as tx:
                row = tx.conn.execute(select(t).where(t.c.user_id == user_id, t.c.key == key)).first()
                if row is None:
                    tx.conn.execute(insert(t).values(user_id=user_id, key=key, fingerprint=fp, created_at=tx.now))
                    return None
                age = tx.now - row.created_at
                if age > KEEP_FOR or (row.status is None and age > ABANDONED_AFTER):
                    tx.conn.execute(update(t).where(t.c.id == row.id).values(
                        fingerprint=fp, status=None, response=None, created_at=tx.now))
                    return None
                if row.fingerprint != fp:
                    raise ValidationError(
                        "Idempotency-Key: this key was used with a different request", field="Idempotency-Key")
                if row.status is None:
                    raise ConflictError("Idempotency-Key: a request with this key is still running; retry later",
                                        field="Idempotency-Key")
                return row.status, json.loads(row.response)
        except IntegrityError:  # a concurrent first request claimed it (PostgreSQL): read it again
            continue
    raise ConflictError("Idempotency-Key: a request with this key is still running; retry later",
                        field="Idempotency-Key")


def finish(crm: "Crm", user_id: int, key: str, status: int, body: bytes | None) -> None:
    """Store the response of a successful request, or release the key of a failed one."""
    t = idempotency_keys
    where = (t.c.user_id == user_id) & (t.c.key == key)
    with crm.transaction(user_id) as tx:
        if body is not None and 200 <= status < 300:
            tx.conn.execute(update(t).where(where).values(status=status, response=body.decode("utf-8")))
        else:
            tx.conn.execute(delete(t).where(where))
