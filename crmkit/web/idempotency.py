"""``Idempotency-Key`` on POST: a retried request returns the first response and creates nothing new.

A key belongs to one user. The first request *claims* the key (a row with no status yet, its
``response`` holding the claim's random token) in a short transaction of its own, then runs its
command in one transaction that also stores the response in the key's row
(:meth:`Tx.before_commit <crmkit.core.unit_of_work.Tx.before_commit>`): the command and the stored
response commit together or not at all. So a key's row is in one of two states:

* no status: the command has not committed (it is running, or its process died); a retry gets
  409 until :data:`ABANDONED_AFTER`, then takes the key over and runs the command (safe: nothing
  was written). The stored response is written only if the claim is still the one the command
  made, so a command outliving its claim rolls back (409) instead of writing a second time;
* a status: the command committed; a retry with the same request replays the response
  (``Idempotent-Replayed: true``) for :data:`KEEP_FOR`.

A request that failed (4xx) rolls back and releases its claim, so the client can fix it and retry
with the same key. The same key with a different request (method, path or body) is refused (422).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs
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
    from ..core.unit_of_work import Tx

metadata = MetaData()

idempotency_keys = Table(
    "crm_idempotency_keys", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", ForeignKey(core_schema.users.c.id), nullable=False),
    Column("key", String(200), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("status", Integer),  # NULL until the command commits
    Column("response", Text),  # the stored response; before that, the claim's token
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


_CLAIM = "claim:"  # the ``response`` of a row without a status: the claim's token


@attrs.frozen
class Stored:
    """The response stored for a key: replay it."""

    status: int
    data: Any


@attrs.frozen
class Claim:
    """A key claimed by this request: its command runs and stores the response with :meth:`store`."""

    user_id: int
    key: str
    token: str

    def _where(self) -> Any:
        t = idempotency_keys
        return ((t.c.user_id == self.user_id) & (t.c.key == self.key) & t.c.status.is_(None)
                & (t.c.response == _CLAIM + self.token))

    def store(self, tx: "Tx", status: int, body: bytes) -> None:
        """In the command's transaction: store a 2xx response (any other answer frees the key).

        A :class:`ConflictError` if the claim is no longer this request's (another request took
        the key over after :data:`ABANDONED_AFTER`): the command rolls back instead of running twice.
        """
        t = idempotency_keys
        if not 200 <= status < 300:
            tx.conn.execute(delete(t).where(self._where()))
            return
        done = tx.conn.execute(update(t).where(self._where()).values(status=status, response=body.decode("utf-8")))
        if done.rowcount != 1:
            raise ConflictError("Idempotency-Key: another request with this key took it over; nothing was changed",
                                field="Idempotency-Key")

    def release(self, crm: "Crm") -> None:
        """The command did not commit: free the key for a retry (if the claim is still this one)."""
        with crm.transaction(self.user_id) as tx:
            tx.conn.execute(delete(idempotency_keys).where(self._where()))


def claim(crm: "Crm", user_id: int, key: str, fp: str) -> Claim | Stored:
    """Claim ``key`` for a request with fingerprint ``fp``; or the response stored for it.

    422 if the key was used with a different request, 409 while a request with it runs.
    """
    t = idempotency_keys
    token = secrets.token_hex(16)
    for _ in range(2):
        try:
            with crm.transaction(user_id) as tx:
                row = tx.conn.execute(select(t).where(t.c.user_id == user_id, t.c.key == key)).first()
                if row is None:
                    tx.conn.execute(insert(t).values(user_id=user_id, key=key, fingerprint=fp,
                                                     response=_CLAIM + token, created_at=tx.now))
                    return Claim(user_id, key, token)
                age = tx.now - row.created_at
                if age > KEEP_FOR or (row.status is None and age > ABANDONED_AFTER):
                    tx.conn.execute(update(t).where(t.c.id == row.id).values(
                        fingerprint=fp, status=None, response=_CLAIM + token, created_at=tx.now))
                    return Claim(user_id, key, token)
                if row.fingerprint != fp:
                    raise ValidationError(
                        "Idempotency-Key: this key was used with a different request", field="Idempotency-Key")
                if row.status is None:
                    raise ConflictError("Idempotency-Key: a request with this key is still running; retry later",
                                        field="Idempotency-Key")
                return Stored(row.status, json.loads(row.response))
        except IntegrityError:  # a concurrent first request claimed it (PostgreSQL): read it again
            continue
    raise ConflictError("Idempotency-Key: a request with this key is still running; retry later",
                        field="Idempotency-Key")
