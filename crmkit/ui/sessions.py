"""Signed session cookies and CSRF tokens.

A session is a small JSON payload signed with HMAC-SHA256 under the deployment's secret
key (:mod:`crmkit.ui.config`), in the cookie ``crmkit_session`` (HttpOnly, SameSite=Lax,
Secure over https). It holds the user's id, when the login started, a fingerprint of the
user's password hash and a CSRF token. Nothing is stored on the server, so any number of
web processes serve the same sessions.

A session ends when it expires (``[ui] session_hours``), at logout, and when the user's
password changes or the user is deactivated (checked on every request, cached while the
deployment's security stamp stays the same).

Every POST must carry the session's CSRF token (the form field ``csrf`` or the header
``X-CSRF-Token``); a visitor without a session gets an anonymous one with a token when the
login page is shown.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import select

from ..core import schema

if TYPE_CHECKING:  # pragma: no cover
    from starlette.requests import Request
    from starlette.responses import Response

    from ..core.app import Crm
    from .config import UiSettings

COOKIE = "crmkit_session"
LANG_COOKIE = "crmkit_lang"
MAX_COOKIE = 4000


@attrs.frozen
class Session:
    """What a session cookie says. ``user_id`` None: not logged in (only a CSRF token)."""

    csrf: str
    user_id: int | None = None
    started: float = 0.0
    fingerprint: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"c": self.csrf, "u": self.user_id, "t": self.started, "f": self.fingerprint}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def fingerprint(password_hash: str | None) -> str:
    """A short digest of the user's password hash: a new password ends the old sessions."""
    return hashlib.sha256((password_hash or "").encode("utf-8")).hexdigest()[:16]


class Sessions:
    """Reads, checks and writes the session cookies of one deployment."""

    def __init__(self, crm: "Crm", config: "UiSettings") -> None:
        self.crm = crm
        self.config = config
        self._key = hmac.new(config.secret_key, b"crmkit.ui.session", hashlib.sha256).digest()
        self._users: dict[int, tuple[str, bool, int]] = {}  # id -> (fingerprint, active, stamp generation)

    # -- the cookie -------------------------------------------------------------------

    def sign(self, session: Session) -> str:
        payload = _b64(json.dumps(session.to_json(), separators=(",", ":")).encode("utf-8"))
        mac = hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest()
        return f"{payload}.{_b64(mac)}"

    def unsign(self, value: str | None) -> Session | None:
        """The session in a cookie value, or None if it is missing, forged, malformed or expired."""
        if not value or len(value) > MAX_COOKIE or value.count(".") != 1:
            return None
        payload, mac = value.split(".")
        try:
            want = hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest()
            if not hmac.compare_digest(want, _unb64(mac)):
                return None
            data = json.loads(_unb64(payload))
            session = Session(csrf=str(data["c"]), user_id=data["u"], started=float(data["t"]),
                              fingerprint=str(data["f"]))
        except (ValueError, KeyError, TypeError, UnicodeError):
            return None
        if session.user_id is not None:
            if not isinstance(session.user_id, int) or time.time() - session.started > self.config.session_hours * 3600:
                return Session(csrf=session.csrf)  # expired: logged out, the CSRF token stays
        return session

    def load(self, request: "Request") -> Session:
        """The request's session, its user still valid; else an anonymous one (a new CSRF token)."""
        session = self.unsign(request.cookies.get(COOKIE))
        if session is None:
            return Session(csrf=secrets.token_urlsafe(24))
        if session.user_id is not None and not self._valid(session.user_id, session.fingerprint):
            return Session(csrf=session.csrf)
        return session

    def login(self, user_id: int, password_hash_fp: str) -> Session:
        """A new session for ``user_id`` (a new CSRF token: no fixation)."""
        return Session(csrf=secrets.token_urlsafe(24), user_id=user_id, started=time.time(),
                       fingerprint=password_hash_fp)

    def write(self, response: "Response", request: "Request", session: Session | None) -> None:
        """Set (or with None, clear) the session cookie on ``response``."""
        secure = self.config.secure_cookies
        if secure is None:
            secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
        if session is None:
            response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=secure)
            return
        response.set_cookie(COOKIE, self.sign(session), path="/", httponly=True, samesite="lax", secure=secure,
                            max_age=int(self.config.session_hours * 3600))

    # -- is the user still who logged in? ---------------------------------------------

    def user_fingerprint(self, user_id: int) -> tuple[str, bool] | None:
        u = schema.users.c
        with self.crm.engine.connect() as conn:
            row = conn.execute(select(u.password_hash, u.active).where(u.id == user_id)).first()
        return (fingerprint(row.password_hash), bool(row.active)) if row is not None else None

    def _valid(self, user_id: int, fp: str) -> bool:
        generation = self.crm.security.current()
        cached = self._users.get(user_id)
        if cached is None or cached[2] != generation:
            found = self.user_fingerprint(user_id)
            if found is None:
                return False
            if len(self._users) > 10_000:
                self._users.clear()
            cached = self._users[user_id] = (found[0], found[1], generation or 0)
        return cached[1] and hmac.compare_digest(cached[0], fp)


def csrf_ok(session: Session, sent: str | None) -> bool:
    """Whether ``sent`` is the session's CSRF token."""
    return bool(sent) and hmac.compare_digest(session.csrf.encode(), (sent or "").encode("utf-8", "replace"))
