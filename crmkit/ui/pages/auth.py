"""Log in, log out, switch the language.

Logins are rate-limited: :data:`PER_CLIENT` attempts a minute per client address, and
:data:`PER_ACCOUNT` failed attempts a minute per account (then even the right password waits);
a wrong e-mail and a wrong password get the same answer.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.responses import RedirectResponse, Response

from ...core import auth
from ...core.contacts_info import normalize_email
from ...core.errors import ValidationError
from ..config import LOCALES
from ..sessions import LANG_COOKIE, Session, fingerprint

if TYPE_CHECKING:  # pragma: no cover
    from ..context import PageContext, UiState

PER_CLIENT = 30
PER_ACCOUNT = 5
WINDOW = 60.0


class Failures:
    """Failed logins per account in the last :data:`WINDOW` seconds (in this process)."""

    def __init__(self) -> None:
        self._seen: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def wait(self, account: str, now: float) -> float:
        """Seconds until ``account`` may try again (0: now)."""
        with self._lock:
            recent = [t for t in self._seen.get(account, ()) if now - t < WINDOW]
            self._seen[account] = recent
            return WINDOW - (now - recent[0]) if len(recent) >= PER_ACCOUNT else 0.0

    def add(self, account: str, now: float) -> None:
        with self._lock:
            if len(self._seen) > 100_000:
                self._seen.clear()
            self._seen.setdefault(account, []).append(now)


def safe_next(value: Any) -> str:
    """A local path to go to after logging in (never another site)."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else "/"


def login_form(ctx: "PageContext") -> Response:
    if ctx.session.user_id is not None:
        return RedirectResponse(safe_next(ctx.request.query_params.get("next")), status_code=303)
    return ctx.page("login.html", next=safe_next(ctx.request.query_params.get("next")), email="", error=None)


def login(ctx: "PageContext") -> Response:
    email = ctx.form.get("email", "")[:254]
    target = safe_next(ctx.form.get("next"))
    limiter = ctx.ui.limiter
    client = ctx.request.client.host if ctx.request.client else "?"
    try:
        account = normalize_email(email)
    except ValidationError:
        account = email.strip().lower()
    failures = ctx.ui.extras.setdefault("login_failures", Failures())
    now = ctx.crm.clock.now().timestamp()
    wait = max(limiter.hit(("login-client", client), PER_CLIENT), failures.wait(account, now))
    if wait:
        message = ctx._("Too many attempts. Try again in %(seconds)s seconds.", seconds=int(wait) + 1)
        return ctx.page("login.html", status=429, headers={"Retry-After": str(int(wait) + 1)}, next=target,
                        email=email, error=message)
    user = auth.check_password(ctx.crm, account, ctx.form.get("password", "")[:auth.MAX_PASSWORD])
    if user is None:
        failures.add(account, now)
        return ctx.page("login.html", status=401, next=target, email=email,
                        error=ctx._("The e-mail or the password is wrong."))
    found = ctx.ui.sessions.user_fingerprint(user.id)
    ctx.new_session = ctx.ui.sessions.login(user.id, found[0] if found else fingerprint(None))
    return RedirectResponse(target, status_code=303)


def logout(ctx: "PageContext") -> Response:
    ctx.new_session = Session(csrf=ctx.ui.sessions.login(0, "").csrf)  # anonymous, a fresh token
    return RedirectResponse("/login", status_code=303)


def language(ctx: "PageContext") -> Response:
    lang = ctx.form.get("lang")
    response = RedirectResponse(safe_next(ctx.form.get("next")), status_code=303)
    if lang in LOCALES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, path="/", samesite="lax", httponly=True)
    return response


def routes(ui: "UiState") -> list[tuple[str, Any, tuple[str, ...], bool]]:
    return [("/login", login_form, ("GET",), False), ("/login", login, ("POST",), False),
            ("/logout", logout, ("POST",), False), ("/lang", language, ("POST",), False)]
