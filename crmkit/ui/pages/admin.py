"""Settings: users and roles (admins), and one's own API tokens (making one takes the password)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import RedirectResponse, Response

from ...core import auth
from ...core.access import USERS
from ...core.errors import CrmError, PermissionDeniedError

if TYPE_CHECKING:  # pragma: no cover
    from ..context import PageContext, UiState

TOKEN_TRIES = 5


def users_page(ctx: "PageContext", *, error: str = "", status: int = 200) -> Response:
    assert ctx.services is not None
    if not ctx.services.access.allows(USERS):
        raise PermissionDeniedError(ctx._("Only an admin manages users."))
    users = ctx.services.users.list(limit=500, order="name").items
    return ctx.page("admin_users.html", status=status, users=users, roles=sorted(ctx.crm.roles), error=error)


def save_user(ctx: "PageContext") -> Response:
    assert ctx.services is not None
    f = ctx.form
    try:
        if ctx.request.path_params.get("id"):
            changes: dict[str, Any] = {"role": f.get("role"), "team": f.get("team", "").strip() or None,
                                       "active": f.get("active") == "1"}
            ctx.services.users.update(int(ctx.request.path_params["id"]), changes,
                                      version=int(f["version"]) if f.get("version", "").isdigit() else None)
        else:
            user = ctx.services.users.create(email=f.get("email", ""), name=f.get("name", ""),
                                             role=f.get("role", "manager"), team=f.get("team", "").strip() or None)
            if f.get("password"):
                auth.set_password(ctx.crm, user.id, f["password"], actor_id=ctx.services.actor_id)
    except CrmError as exc:
        return users_page(ctx, error=exc.message, status=exc.status)
    return RedirectResponse("/admin/users", status_code=303)


def tokens_page(ctx: "PageContext", *, secret: str = "", error: str = "", status: int = 200) -> Response:
    assert ctx.user is not None
    tokens = auth.list_tokens(ctx.crm, ctx.user.id)
    return ctx.page("admin_tokens.html", status=status, tokens=tokens, secret=secret, error=error,
                    is_admin=ctx.allows(USERS))


def create_token(ctx: "PageContext") -> Response:
    assert ctx.user is not None
    wait = ctx.ui.limiter.hit(("token-password", str(ctx.user.id)), TOKEN_TRIES)
    if wait:
        return tokens_page(ctx, error=ctx._("Too many attempts. Try again in %(seconds)s seconds.",
                                            seconds=int(wait) + 1), status=429)
    if not auth.confirm_password(ctx.crm, ctx.user.id, ctx.form.get("password", "")[:auth.MAX_PASSWORD]):
        return tokens_page(ctx, error=ctx._("The password is wrong."), status=403)
    try:
        _, secret = auth.create_token(ctx.crm, ctx.user.id, ctx.form.get("name", ""), actor_id=ctx.user.id)
    except CrmError as exc:
        return tokens_page(ctx, error=exc.message, status=exc.status)
    return tokens_page(ctx, secret=secret)


def revoke_token(ctx: "PageContext") -> Response:
    assert ctx.user is not None
    token_id = int(ctx.request.path_params["id"])
    if auth.get_token(ctx.crm, token_id).user_id != ctx.user.id:
        return tokens_page(ctx, error=ctx._("No such token."), status=404)
    auth.revoke_token(ctx.crm, token_id, actor_id=ctx.user.id)
    return RedirectResponse("/admin/tokens", status_code=303)


def routes(ui: "UiState") -> list[tuple[str, Any, tuple[str, ...], bool]]:
    return [("/admin/users", users_page, ("GET",), True), ("/admin/users", save_user, ("POST",), True),
            ("/admin/users/{id:int}", save_user, ("POST",), True), ("/admin/tokens", tokens_page, ("GET",), True),
            ("/admin/tokens", create_token, ("POST",), True),
            ("/admin/tokens/{id:int}/revoke", revoke_token, ("POST",), True)]
