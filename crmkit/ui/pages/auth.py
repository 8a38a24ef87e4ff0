"""Log in, log out, switch the language.

Logins are rate-limited per client address and per account (:data:`PER_CLIENT`,
:data:`PER_ACCOUNT` tries a minute); a wrong e-mail and a wrong password get the same answer.
"""

from __future__ import annotations

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

PER_CLIENT = 10
PER_ACCOUNT = 5


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
    wait = max(limiter.hit(("login-client", client), PER_CLIENT), limiter.hit(("login-account", account), PER_ACCOUNT))
    if wait:
        message = ctx._("Too many attempts. Try again in %(seconds)s seconds.", seconds=int(wait) + 1)
        return ctx.page("login.html", status=429, headers={"Retry-After": str(int(wait) + 1)}, next=target,
                        email=email, error=message)
    user = auth.check_password(ctx.crm, account, ctx.form.get("password", "")[:auth.MAX_PASSWORD])
    if user is None:
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
