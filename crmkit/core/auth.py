"""Passwords and API tokens.

Passwords are hashed with scrypt (stdlib, memory-hard); API tokens are random
secrets shown once, stored as their sha256 and revocable::

    token, secret = create_token(crm, user.id, name="zapier")   # print ``secret`` once
    authenticate(crm, secret)                                   # -> user id, or None
    revoke_token(crm, token.id)

The CLI (``crmkit users add --password``, ``crmkit users token``) and the HTTP API
call these functions; nothing else touches ``crm_users.password_hash`` or
``crm_api_tokens``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
import weakref
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

import attrs
from sqlalchemy import insert, select, update

from . import schema
from .errors import NotFoundError, PermissionDeniedError, ValidationError
from .services.base import inserted_id

if TYPE_CHECKING:  # pragma: no cover
    from .app import Crm
    from .records import User

TOKEN_PREFIX = "crmk_"
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1  # 16 MiB per hash
MIN_PASSWORD = 8
LAST_USED_EVERY = timedelta(minutes=1)  # write last_used_at at most this often per token
_CACHES: "weakref.WeakKeyDictionary[Crm, weakref.WeakSet[TokenCache]]" = weakref.WeakKeyDictionary()


# -- passwords --------------------------------------------------------------------


def hash_password(password: str, *, n: int = _SCRYPT_N, r: int = _SCRYPT_R, p: int = _SCRYPT_P) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64) of ``password``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=2**26, dklen=32)
    return "$".join(["scrypt", str(n), str(r), str(p), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches the ``stored`` hash (False for no hash or a malformed one)."""
    if not stored:
        return False
    try:
        algo, n, r, p, salt, digest = stored.split("$")
        if algo != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             maxmem=2**26, dklen=len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def set_password(crm: "Crm", user_id: int, password: str, *, actor_id: int | None = None) -> None:
    """Set (or replace) a user's password. Logged as ``user.password_changed`` (without the hash)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValidationError(f"password: at least {MIN_PASSWORD} characters", field="password")
    if len(password) > 1024:
        raise ValidationError("password: longer than 1024 characters", field="password")
    hashed = hash_password(password)
    u = schema.users
    with crm.transaction(actor_id) as tx:
        if tx.conn.scalar(select(u.c.id).where(u.c.id == user_id)) is None:
            raise NotFoundError(f"user {user_id} does not exist")
        tx.conn.execute(update(u).where(u.c.id == user_id).values(password_hash=hashed, updated_at=tx.now))
        tx.emit("user.password_changed", "user", user_id)


def check_password(crm: "Crm", email: str, password: str) -> "User | None":
    """The active user with ``email`` and ``password``, or None (for a login form)."""
    u = schema.users
    with crm.engine.connect() as conn:
        row = conn.execute(select(u.c.id, u.c.password_hash, u.c.active).where(u.c.email == email.strip().lower())).first()
    if row is None or not row.active:
        verify_password(password, hash_password("timing-equalizer", n=2**10))
        return None
    return crm.users.get(row.id) if verify_password(password, row.password_hash) else None


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
    """Create a token for ``user_id``. Returns the record and the secret; show the secret once."""
    if not isinstance(name, str) or len(name) > 200 or "\x00" in name:
        raise ValidationError("name: text of at most 200 characters", field="name")
    if actor_id is not None and actor_id != user_id and not _is_admin(crm, actor_id):
        raise PermissionDeniedError("only an admin may create tokens for another user")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    t, u = schema.api_tokens, schema.users
    with crm.transaction(actor_id) as tx:
        active = tx.conn.scalar(select(u.c.active).where(u.c.id == user_id))
        if active is None:
            raise NotFoundError(f"user {user_id} does not exist")
        if not active:
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
    """Revoke a token (idempotent). Users revoke their own tokens; admins anyone's."""
    t = schema.api_tokens
    with crm.transaction(actor_id) as tx:
        row = tx.conn.execute(select(t).where(t.c.id == token_id)).first()
        if row is None or (actor_id is not None and row.user_id != actor_id and not _is_admin(crm, actor_id, tx.conn)):
            raise NotFoundError(f"token {token_id} does not exist")
        if row.revoked_at is None:
            tx.conn.execute(update(t).where(t.c.id == token_id).values(revoked_at=tx.now))
            tx.emit("user.token_revoked", "user", row.user_id, data={"token_id": token_id})
        row = tx.conn.execute(select(t).where(t.c.id == token_id)).one()
    for cache in _CACHES.get(crm, ()):
        cache.forget_user(row.user_id)
    return _record(row)


def _is_admin(crm: "Crm", user_id: int, conn: Any = None) -> bool:
    u = schema.users
    query = select(u.c.role).where(u.c.id == user_id, u.c.active.is_(True))
    if conn is not None:
        return conn.scalar(query) == "admin"
    with crm.engine.connect() as c:
        return c.scalar(query) == "admin"


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


class TokenCache:
    """A small per-process cache of ``authenticate`` results (``ttl`` seconds, 0 = off).

    A revocation through :func:`revoke_token` in this process takes effect at
    once; in other processes within ``ttl`` seconds.
    """

    def __init__(self, crm: "Crm", ttl: float = 10.0, *, monotonic: Callable[[], float] = time.monotonic,
                 max_size: int = 10_000) -> None:
        self.crm = crm
        self.ttl = ttl
        self._monotonic = monotonic
        self._max = max_size
        self._entries: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()
        _CACHES.setdefault(crm, weakref.WeakSet()).add(self)  # so revoke_token can invalidate

    def get(self, secret: str) -> int | None:
        """The cached user id for ``secret`` (None when not cached or expired)."""
        if self.ttl <= 0:
            return None
        entry = self._entries.get(token_hash(secret))
        if entry is None or entry[0] < self._monotonic():
            return None
        return entry[1]

    def authenticate(self, secret: str) -> int | None:
        cached = self.get(secret)
        if cached is not None:
            return cached
        user_id = authenticate(self.crm, secret)
        if user_id is not None and self.ttl > 0:
            with self._lock:
                if len(self._entries) >= self._max:
                    self._entries.clear()
                self._entries[token_hash(secret)] = (self._monotonic() + self.ttl, user_id)
        return user_id

    def forget_user(self, user_id: int) -> None:
        with self._lock:
            self._entries = {k: v for k, v in self._entries.items() if v[1] != user_id}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
