"""Passwords, API tokens, and the security stamp that keeps caches of them honest.

Passwords are hashed with scrypt (stdlib, memory-hard, N=2**17 r=8 p=1 as OWASP
recommends); API tokens are random secrets shown once, stored as their sha256 and
revocable::

    token, secret = create_token(crm, user.id, name="zapier")   # print ``secret`` once
    authenticate(crm, secret)                                   # -> user id, or None
    revoke_token(crm, token.id)

The CLI (``crmkit users add --password``, ``crmkit users token``) and the HTTP API
call these functions; nothing else touches ``crm_users.password_hash`` or
``crm_api_tokens``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
import secrets
import threading
import time
import weakref
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

import attrs
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from . import schema
from .errors import NotFoundError, PermissionDeniedError, ValidationError
from .services.base import inserted_id

if TYPE_CHECKING:  # pragma: no cover
    from .app import Crm
    from .records import User

TOKEN_PREFIX = "crmk_"
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
LAST_USED_EVERY = timedelta(minutes=1)  # write last_used_at at most this often per token


# -- passwords --------------------------------------------------------------------


@attrs.frozen
class ScryptCost:
    """scrypt's parameters: ``n`` (CPU and memory cost, a power of 2), ``r`` (block size), ``p``."""

    n: int
    r: int = 8
    p: int = 1

    @property
    def maxmem(self) -> int:
        """The memory scrypt needs with these parameters (128*r*(n+p+2) bytes) plus 1 MiB."""
        return 128 * self.r * (self.n + self.p + 2) + 2**20

    def weaker_than(self, other: "ScryptCost") -> bool:
        return self.n < other.n or self.r < other.r or self.p < other.p


DEFAULT_COST = ScryptCost(2**17, 8, 1)
"""OWASP's recommendation for scrypt: 128 MiB and ~0.1-1 s a hash, depending on the machine."""

password_cost: ScryptCost = DEFAULT_COST
"""The parameters of new hashes (and of the equal work done for unknown users). Only a test
suite should lower it, to :data:`TEST_COST` (``monkeypatch.setattr(auth, "password_cost",
auth.TEST_COST)``: a hash at N=2**17 takes 0.1-1 s); stored hashes keep their own parameters,
and one weaker than this is replaced at the next successful password check."""

TEST_COST = ScryptCost(2**10, 8, 1)
_MAX_MEM = 2**30  # a stored hash asking for more memory than this is malformed
_SLOTS = threading.BoundedSemaphore(max(1, min(4, os.cpu_count() or 1)))  # bounds the memory of parallel hashes


def _scrypt(password: str, salt: bytes, cost: ScryptCost, dklen: int) -> bytes:
    with _SLOTS:
        return hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, n=cost.n, r=cost.r, p=cost.p,
                              maxmem=cost.maxmem, dklen=dklen)


def hash_password(password: str, *, cost: ScryptCost | None = None) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64) of ``password``, at :data:`password_cost` unless given."""
    cost = cost or password_cost
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, cost, 32)
    return "$".join(["scrypt", str(cost.n), str(cost.r), str(cost.p), _b64(salt), _b64(digest)])


def _parse(stored: str | None) -> tuple[ScryptCost, bytes, bytes] | None:
    if not stored:
        return None
    try:
        algo, n, r, p, salt, digest = stored.split("$")
        cost = ScryptCost(int(n), int(r), int(p))
        want = base64.b64decode(digest, validate=True)
        parsed = cost, base64.b64decode(salt, validate=True), want
    except (ValueError, TypeError, binascii.Error):
        return None
    if (algo != "scrypt" or cost.n < 2 or cost.n & (cost.n - 1) or not 1 <= cost.r <= 64 or not 1 <= cost.p <= 16
            or cost.maxmem > _MAX_MEM or not 16 <= len(want) <= 64):
        return None
    return parsed


@functools.lru_cache(maxsize=8)
def _dummy(cost: ScryptCost) -> tuple[ScryptCost, bytes, bytes]:
    """A hash of a random password at ``cost``: what an unknown or password-less user is checked against."""
    parsed = _parse(hash_password(secrets.token_urlsafe(16), cost=cost))
    assert parsed is not None
    return parsed


def _verify(password: str, stored: str | None) -> tuple[bool, ScryptCost | None]:
    """(match, the stored hash's cost). No hash or a malformed one costs a check of the dummy hash."""
    parsed = _parse(stored)
    cost, salt, want = parsed or _dummy(password_cost)
    got = _scrypt(password if isinstance(password, str) else "", salt, cost, len(want))
    return parsed is not None and hmac.compare_digest(got, want), parsed[0] if parsed else None


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches the ``stored`` hash (False for no hash or a malformed one)."""
    return _verify(password, stored)[0]


def _check(crm: "Crm", row: Any, password: str) -> int | None:
    """The id of the active user of ``row`` if ``password`` is theirs. Every case does the same work:
    one scrypt at :data:`password_cost` (unknown user, no password, deactivated, wrong password)."""
    stored = row.password_hash if row is not None else None
    ok, cost = _verify(password, stored)
    if not ok or not row.active:
        return None
    if cost is not None and cost.weaker_than(password_cost):  # upgrade: the stored hash is older than the policy
        from .unit_of_work import write_connection

        u = schema.users
        upgraded = hash_password(password)
        with write_connection(crm) as conn:  # only if unchanged meanwhile; not a change of the password
            conn.execute(update(u).where(u.c.id == row.id, u.c.password_hash == stored).values(password_hash=upgraded))
    return int(row.id)


def check_password(crm: "Crm", email: str, password: str) -> "User | None":
    """The active user with ``email`` and ``password``, or None (for a login form).

    Unknown, password-less, deactivated users and wrong passwords cost the same (one scrypt
    at the current parameters). A hash made with weaker parameters is replaced after a success.
    """
    u = schema.users
    key = email.strip().lower() if isinstance(email, str) else ""
    with crm.engine.connect() as conn:
        row = conn.execute(select(u.c.id, u.c.password_hash, u.c.active).where(u.c.email == key)).first()
    user_id = _check(crm, row, password)
    return crm.users.get(user_id) if user_id is not None else None


def confirm_password(crm: "Crm", user_id: int, password: str) -> bool:
    """Whether ``password`` is the current password of active user ``user_id`` (same work in every case)."""
    u = schema.users
    with crm.engine.connect() as conn:
        row = conn.execute(select(u.c.id, u.c.password_hash, u.c.active).where(u.c.id == user_id)).first()
    return _check(crm, row, password) is not None


def has_password(crm: "Crm", user_id: int) -> bool:
    u = schema.users
    with crm.engine.connect() as conn:
        return bool(conn.scalar(select(u.c.password_hash).where(u.c.id == user_id)))


def set_password(crm: "Crm", user_id: int, password: str, *, actor_id: int | None = None) -> None:
    """Set (or replace) a user's password: one's own, or any user one may manage.
    Logged as ``user.password_changed`` (without the hash)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValidationError(f"password: at least {MIN_PASSWORD} characters", field="password")
    if len(password) > MAX_PASSWORD:
        raise ValidationError(f"password: longer than {MAX_PASSWORD} characters", field="password")
    hashed = hash_password(password)
    u = schema.users
    with crm.transaction(actor_id) as tx:
        role = tx.conn.scalar(select(u.c.role).where(u.c.id == user_id))
        if role is None:
            raise NotFoundError(f"user {user_id} does not exist")
        if actor_id is not None and actor_id != user_id:
            _require_manager(crm, actor_id, role, "set another user's password")
        tx.conn.execute(update(u).where(u.c.id == user_id).values(password_hash=hashed, updated_at=tx.now))
        tx.emit("user.password_changed", "user", user_id)
        stamp = crm.security.bump(tx.conn)
    crm.security.changed(stamp)


def _require_manager(crm: "Crm", actor_id: int, role: str | None, what: str) -> None:
    """Refuse unless ``actor_id`` manages users holding ``role`` (see ``require_manage``)."""
    from .services.users import require_manage

    require_manage(crm.access_for(actor_id), role, what=what)


# -- API tokens ---------------------------------------------------------------------


@attrs.frozen
class ApiToken:
    """An API token as it is listed (never the secret)."""

    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _record(row: Any) -> ApiToken:
    return ApiToken(id=row.id, user_id=row.user_id, name=row.name, prefix=row.prefix, created_at=row.created_at,
                    last_used_at=row.last_used_at, revoked_at=row.revoked_at)


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(crm: "Crm", user_id: int, name: str = "", *, actor_id: int | None = None) -> tuple[ApiToken, str]:
    """Create a token for ``user_id``. Returns the record and the secret; show the secret once.

    The HTTP API also asks for the user's password first (``POST /tokens``): a token alone
    cannot make tokens that would outlive its revocation."""
    if not isinstance(name, str) or len(name) > 200 or "\x00" in name:
        raise ValidationError("name: text of at most 200 characters", field="name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    t, u = schema.api_tokens, schema.users
    with crm.transaction(actor_id) as tx:
        user = tx.conn.execute(select(u.c.active, u.c.role).where(u.c.id == user_id)).first()
        if actor_id is not None and actor_id != user_id:
            _require_manager(crm, actor_id, user.role if user else None, "create tokens for another user")
        if user is None:
            raise NotFoundError(f"user {user_id} does not exist")
        if not user.active:
            raise ValidationError(f"user_id: user {user_id} is deactivated", field="user_id")
        new_id = inserted_id(tx.conn.execute(insert(t).values(
            user_id=user_id, name=name.strip(), token_hash=token_hash(secret), prefix=secret[:12], created_at=tx.now,
        )))
        tx.emit("user.token_created", "user", user_id, data={"token_id": new_id, "name": name.strip()})
        row = tx.conn.execute(select(t).where(t.c.id == new_id)).one()
    return _record(row), secret


def list_tokens(crm: "Crm", user_id: int | None = None, *, include_revoked: bool = False) -> list[ApiToken]:
    """Tokens of ``user_id`` (all users' with None), newest last."""
    t = schema.api_tokens
    query = select(t).order_by(t.c.id)
    if user_id is not None:
        query = query.where(t.c.user_id == user_id)
    if not include_revoked:
        query = query.where(t.c.revoked_at.is_(None))
    with crm.engine.connect() as conn:
        return [_record(r) for r in conn.execute(query.limit(1000))]


def get_token(crm: "Crm", token_id: int) -> ApiToken:
    t = schema.api_tokens
    with crm.engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.id == token_id)).first()
    if row is None:
        raise NotFoundError(f"token {token_id} does not exist")
    return _record(row)


def revoke_token(crm: "Crm", token_id: int, *, actor_id: int | None = None) -> ApiToken:
    """Revoke a token (idempotent). Users revoke their own tokens; admins anyone's.
    Requests with it are refused from the next one on (see :class:`SecurityStamp`)."""
    t, u = schema.api_tokens, schema.users
    stamp = None
    with crm.transaction(actor_id) as tx:
        row = tx.conn.execute(select(t, u.c.role).join(u, u.c.id == t.c.user_id).where(t.c.id == token_id)).first()
        if row is not None and actor_id is not None and row.user_id != actor_id:
            try:
                _require_manager(crm, actor_id, row.role, "revoke another user's token")
            except PermissionDeniedError:
                row = None
        if row is None:
            raise NotFoundError(f"token {token_id} does not exist")
        if row.revoked_at is None:
            tx.conn.execute(update(t).where(t.c.id == token_id).values(revoked_at=tx.now))
            tx.emit("user.token_revoked", "user", row.user_id, data={"token_id": token_id})
            stamp = crm.security.bump(tx.conn)
        row = tx.conn.execute(select(t).where(t.c.id == token_id)).one()
    if stamp is not None:
        crm.security.changed(stamp)
    return _record(row)


def authenticate(crm: "Crm", secret: str) -> int | None:
    """The id of the active user owning the un-revoked token ``secret``, else None.

    Updates the token's ``last_used_at`` at most once a minute (a write per
    request would serialize every read on SQLite).
    """
    if not isinstance(secret, str) or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    t, u = schema.api_tokens, schema.users
    query = (select(t.c.id, t.c.user_id, t.c.last_used_at)
             .join(u, u.c.id == t.c.user_id)
             .where(t.c.token_hash == token_hash(secret), t.c.revoked_at.is_(None), u.c.active.is_(True)))
    with crm.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    now = crm.clock.now()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        from .unit_of_work import write_connection

        with write_connection(crm) as conn:
            conn.execute(update(t).where(t.c.id == row.id).values(last_used_at=now))
    return int(row.user_id)


# -- caches and the security stamp ---------------------------------------------------------


_STAMP = schema.security_stamp
_READ_STAMP = select(_STAMP.c.stamp).where(_STAMP.c.id == 1)
_READ_STAMP_SQL = "SELECT stamp FROM crm_security_stamp WHERE id = 1"


class SecurityStamp:
    """When a process's caches of tokens, roles and services (``crm.security``) must forget.

    :attr:`generation` counts in this process; a cache entry is trusted only while the
    generation it was stored under is current. It moves:

    * at once, when this process commits a change to a user's role, team, active flag,
      password or tokens (the change calls :meth:`bump` in its transaction, then :meth:`changed`);
    * when another process committed one: :meth:`bump` increments the one row of
      ``crm_security_stamp``, and :meth:`current` reads it once ``check_seconds`` have passed
      since the last read. The read is one primary-key SELECT on a connection of its own
      (autocommit). By default (None) that is at every call on SQLite (every API request: a
      few microseconds, done on the event loop) and every 0.1 s on PostgreSQL (a network
      round trip, done in a worker thread: every request would cost a thread hop).
    """

    def __init__(self, crm: "Crm", *, check_seconds: float | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.crm = crm
        if check_seconds is None:
            check_seconds = 0.0 if crm.engine.dialect.name == "sqlite" else 0.1
        self.check_seconds = check_seconds
        self.generation = 0
        self._monotonic = monotonic
        self._seen: int | None = None
        self._next_check = float("-inf")
        self._lock = threading.Lock()
        self._reader: _StampReader | None = None

    def current(self, *, read: bool = True) -> int | None:
        """The generation, after reading the stamp if a check is due (``read=False``: None then)."""
        now = self._monotonic()
        if now < self._next_check:
            return self.generation
        if not read:
            return None
        stamp = self._read()
        with self._lock:
            if stamp != self._seen:
                self._seen = stamp if self._seen is None else max(stamp, self._seen)
                self.generation += 1
            self._next_check = now + self.check_seconds
            return self.generation

    def _read(self) -> int:
        if isinstance(self.crm.engine.pool, (StaticPool, SingletonThreadPool)):  # one connection: never detach it
            with self.crm.engine.connect() as conn:
                return int(conn.scalar(_READ_STAMP) or 0)
        reader = self._reader
        if reader is None or reader.pid != os.getpid():
            with self._lock:
                if self._reader is None or self._reader.pid != os.getpid():
                    self._reader = _StampReader(self.crm.engine)
                reader = self._reader
        found = reader.read()
        if found is not None:
            return found
        with self.crm.engine.connect() as conn:  # its connection broke (a restarted server): through the pool
            return int(conn.scalar(_READ_STAMP) or 0)

    def bump(self, conn: Connection) -> int:
        """Inside the transaction of a change to who may do what: increment the stamp; returns it."""
        if conn.execute(update(_STAMP).where(_STAMP.c.id == 1).values(stamp=_STAMP.c.stamp + 1)).rowcount == 0:
            dialect = conn.dialect.name
            if dialect in ("postgresql", "sqlite"):  # concurrent first bumps: one inserts, the other waits and updates
                from sqlalchemy.dialects import postgresql, sqlite

                upsert = (postgresql if dialect == "postgresql" else sqlite).insert(_STAMP)
                conn.execute(upsert.values(id=1, stamp=0).on_conflict_do_nothing())
            else:  # pragma: no cover - the two supported databases are above
                conn.execute(insert(_STAMP).values(id=1, stamp=0))
            conn.execute(update(_STAMP).where(_STAMP.c.id == 1).values(stamp=_STAMP.c.stamp + 1))
        return int(conn.scalar(_READ_STAMP) or 0)

    def changed(self, stamp: int | None = None) -> None:
        """After the commit of such a change (``stamp`` from :meth:`bump`): this process's caches
        forget everything now. Inside a transaction still open in this thread (a command joining
        another) it does nothing: the stamp check sees the change once the outer one commits."""
        if getattr(self.crm._tx_local, "tx", None) is not None:
            return
        with self._lock:
            self.generation += 1
            if stamp is not None:
                self._seen = stamp if self._seen is None else max(stamp, self._seen)

    def close(self) -> None:
        """Close the stamp's own connection (``Crm.close`` does)."""
        with self._lock:
            reader, self._reader = self._reader, None
        if reader is not None and reader.pid == os.getpid():
            reader.close()


class _StampReader:
    """A connection detached from the pool, in autocommit mode, for reading the stamp."""

    def __init__(self, engine: Any) -> None:
        self.pid = os.getpid()
        self._engine = engine
        self._lock = threading.Lock()
        self._conn: Any = None
        self._finalizer: Any = None

    def read(self) -> int | None:
        """The stamp, or None if the connection failed (it is reopened at the next read)."""
        with self._lock:
            try:
                if self._conn is None:
                    self._open()
                cursor = self._conn.cursor()
                try:
                    cursor.execute(_READ_STAMP_SQL)
                    row = cursor.fetchone()
                finally:
                    cursor.close()
            except self._engine.dialect.loaded_dbapi.Error:
                self._close()
                return None
        return int(row[0]) if row else 0

    def _open(self) -> None:
        fairy = self._engine.raw_connection()
        fairy.detach()  # ours until closed: never back in the pool, closed for real
        if self._engine.dialect.name == "postgresql":
            fairy.dbapi_connection.rollback()
            fairy.dbapi_connection.autocommit = True  # each read sees the latest commit, holds no snapshot
        self._conn = fairy
        self._finalizer = weakref.finalize(self, fairy.close)

    def _close(self) -> None:
        finalizer, self._conn, self._finalizer = self._finalizer, None, None
        if finalizer is not None:
            try:
                finalizer()
            except self._engine.dialect.loaded_dbapi.Error:  # pragma: no cover - already broken
                pass

    def close(self) -> None:
        with self._lock:
            self._close()


class TokenCache:
    """A small per-process cache of :func:`authenticate` results (``ttl`` seconds, 0 = off).

    An entry is trusted only under the security generation it was stored under (see
    :class:`SecurityStamp`): a revocation, deactivation, role or password change refuses the
    next request at once in this process, and in others after their next stamp check.
    """

    def __init__(self, crm: "Crm", ttl: float = 10.0, *, monotonic: Callable[[], float] = time.monotonic,
                 max_size: int = 10_000) -> None:
        self.crm = crm
        self.ttl = ttl
        self._monotonic = monotonic
        self._max = max_size
        self._entries: dict[str, tuple[float, int, int]] = {}
        self._lock = threading.Lock()
        self._read_in_get = crm.engine.dialect.name == "sqlite"  # get() runs on the event loop

    def get(self, secret: str) -> int | None:
        """The cached user id for ``secret`` (None when not cached, expired or possibly stale).

        Reads the stamp when a check is due only on SQLite (a local file); elsewhere it
        answers None then, and :meth:`authenticate` (in a worker thread) does the check."""
        if self.ttl <= 0:
            return None
        generation = self.crm.security.current(read=self._read_in_get)
        return None if generation is None else self._lookup(secret, generation)

    def _lookup(self, secret: str, generation: int) -> int | None:
        entry = self._entries.get(token_hash(secret))
        if entry is None or entry[0] < self._monotonic() or entry[2] != generation:
            return None
        return entry[1]

    def authenticate(self, secret: str) -> int | None:
        generation = self.crm.security.current()  # before the look-up: a change committed meanwhile outdates it
        assert generation is not None
        if self.ttl > 0:
            cached = self._lookup(secret, generation)
            if cached is not None:
                return cached
        user_id = authenticate(self.crm, secret)
        if user_id is not None and self.ttl > 0:
            with self._lock:
                if len(self._entries) >= self._max:
                    self._entries.clear()
                self._entries[token_hash(secret)] = (self._monotonic() + self.ttl, user_id, generation)
        return user_id


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
