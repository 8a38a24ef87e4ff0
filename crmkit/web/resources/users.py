"""``/users``: who acts; ``/users/me``; passwords. Only admins create or change users.

Everyone reads their colleagues' names, roles and teams; e-mail addresses are null except
one's own, unless one manages users (admins). Changing one's own password takes the current
one; so does ``POST /tokens`` (see :func:`confirm_password`).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from ...core import auth
from ...core.access import USERS
from ...core.errors import PermissionDeniedError, ValidationError
from ...core.records import User
from ..errors import TooManyRequests
from ..operation import Ctx, Operation, Result
from ..ratelimit import RateLimiter
from ..schemas import body, text
from .cards import card_operations

if TYPE_CHECKING:  # pragma: no cover
    from ...core.app import Crm

ROLE = {"type": "string", "enum": ["admin", "head", "manager"]}
PASSWORD = {"type": "string", "minLength": auth.MIN_PASSWORD, "maxLength": auth.MAX_PASSWORD}
CURRENT_PASSWORD = {"type": "string", "maxLength": auth.MAX_PASSWORD,
                    "description": "Your current password: required to change your own password or make a token."}
PASSWORD_TRIES = 5
"""Password confirmations per user per minute through the API (a stolen token cannot guess on)."""
EMAIL_NOTE = "null unless it is your own or you manage users (admins)"

_LIMITERS: "weakref.WeakKeyDictionary[Crm, RateLimiter]" = weakref.WeakKeyDictionary()


def require_admin(ctx: Ctx) -> None:
    """The web layer's own guard for user administration (record rules live in the core)."""
    if ctx.user_id is None or not ctx.services.access.allows(USERS):
        raise PermissionDeniedError("only an admin may create or change users")


def confirm_password(ctx: Ctx, password: Any, field: str = "current_password") -> Result | None:
    """None if ``password`` is the acting user's current password, else the 429 to answer;
    422 if it is missing, 403 if it is wrong. At most :data:`PASSWORD_TRIES` a minute per user."""
    if not isinstance(password, str) or not password:
        raise ValidationError(f"{field}: required (your current password)", field=field)
    limiter = _LIMITERS.get(ctx.crm)
    if limiter is None:
        limiter = _LIMITERS[ctx.crm] = RateLimiter(ctx.crm.clock)
    wait = limiter.hit(("password", str(ctx.user_id)), PASSWORD_TRIES)
    if wait:
        return Result({"error": {"code": TooManyRequests.code, "field": field,
                                 "message": f"too many password attempts; retry in {int(wait) + 1} s"}},
                      status=429, headers={"Retry-After": str(int(wait) + 1)})
    assert ctx.user_id is not None
    if not auth.confirm_password(ctx.crm, ctx.user_id, password):
        if not auth.has_password(ctx.crm, ctx.user_id):
            raise PermissionDeniedError(f"{field}: you have no password yet; an admin sets the first one "
                                        "(or the CLI: crmkit users set-password)", field=field)
        raise PermissionDeniedError(f"{field}: not your current password", field=field)
    return None


def create_user(ctx: Ctx) -> Any:
    require_admin(ctx)
    values = dict(ctx.body)
    password = values.pop("password", None)
    user = ctx.services.users.create(**values)
    if password is not None:
        auth.set_password(ctx.crm, user.id, password, actor_id=ctx.user_id)
    return user


def update_user(ctx: Ctx) -> Any:
    require_admin(ctx)
    return ctx.services.users.update(ctx.id, ctx.body, version=ctx.version)


def get_me(ctx: Ctx) -> Any:
    return ctx.services.users.get(ctx.user_id)


def set_password(ctx: Ctx) -> Any:
    """One's own password (with ``current_password``), or another user's as their admin."""
    if ctx.id == ctx.user_id:
        refused = confirm_password(ctx, ctx.body.get("current_password"))
        if refused is not None:
            return refused
    auth.set_password(ctx.crm, ctx.id, ctx.body["password"], actor_id=ctx.user_id)
    return Result(ctx.services.users.get(ctx.id))


def operations(crm: "Crm") -> list[Operation]:
    f = {"email": text(254), "name": text(200), "role": ROLE, "team": text(100, null=True)}
    ops, rec = card_operations(crm, service="users", entity="user", plural="users", record=User,
                               create_body=body({**f, "password": PASSWORD}, ["email", "name"]),
                               update_body=body({**f, "active": {"type": "boolean"}}), create=create_user)
    rec["properties"]["email"] = {**rec["properties"]["email"], "description": EMAIL_NOTE}
    for i, op in enumerate(ops):
        if op.method == "PATCH":
            ops[i] = Operation(**{**_fields(op), "handler": update_user})
        elif op.operation_id == "list_users":
            ops[i] = Operation(**{**_fields(op), "description": op.description + " Filtering or sorting by "
                                  "`email` is for admins (403 otherwise); `email` is " + EMAIL_NOTE + "."})
    ops += [
        Operation("GET", "/users/me", get_me, "The user of the token", "users", "get_me", response=rec, etag=True),
        Operation("POST", "/users/{id:int}/password", set_password, "Set a user's password (own, or any as admin)",
                  "users", "set_password", body=body({"password": PASSWORD, "current_password": CURRENT_PASSWORD},
                                                     ["password"]),
                  response=rec, errors=(429,),
                  description="Your own password needs `current_password` (403 if wrong, 429 after "
                              f"{PASSWORD_TRIES} tries a minute); an admin sets another user's without it. "
                              "A user without a password gets the first one from an admin or the CLI."),
    ]
    return ops


def _fields(op: Operation) -> dict[str, Any]:
    import attrs

    return attrs.asdict(op, recurse=False)
