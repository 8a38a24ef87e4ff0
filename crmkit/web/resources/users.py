"""``/users``: who acts; ``/users/me``; passwords. Only admins create or change users."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core import auth
from ...core.errors import PermissionDeniedError
from ...core.records import User
from ..operation import Ctx, Operation, Result
from ..schemas import body, text
from .cards import card_operations

if TYPE_CHECKING:  # pragma: no cover
    from ...core.app import Crm

ROLE = {"type": "string", "enum": ["admin", "head", "manager"]}
PASSWORD = {"type": "string", "minLength": auth.MIN_PASSWORD, "maxLength": 1024}


def require_admin(ctx: Ctx) -> None:
    """The web layer's own guard for user administration (record rules live in the core)."""
    if ctx.user_id is None or ctx.services.users.get(ctx.user_id).role != "admin":
        raise PermissionDeniedError("only an admin may create or change users")


def operations(crm: "Crm") -> list[Operation]:
    f = {"email": text(254), "name": text(200), "role": ROLE, "team": text(100, null=True)}

    def create(ctx: Ctx) -> Any:
        require_admin(ctx)
        values = dict(ctx.body)
        password = values.pop("password", None)
        user = ctx.services.users.create(**values)
        if password is not None:
            auth.set_password(ctx.crm, user.id, password, actor_id=ctx.user_id)
        return user

    def update(ctx: Ctx) -> Any:
        require_admin(ctx)
        return ctx.services.users.update(ctx.id, ctx.body, version=ctx.version)

    ops, rec = card_operations(crm, service="users", entity="user", plural="users", record=User,
                               create_body=body({**f, "password": PASSWORD}, ["email", "name"]),
                               update_body=body({**f, "active": {"type": "boolean"}}), create=create)
    for i, op in enumerate(ops):
        if op.method == "PATCH":
            ops[i] = Operation(**{**_fields(op), "handler": update})

    def me(ctx: Ctx) -> Any:
        return ctx.services.users.get(ctx.user_id)

    def password(ctx: Ctx) -> Any:
        if ctx.id != ctx.user_id:
            require_admin(ctx)
        auth.set_password(ctx.crm, ctx.id, ctx.body["password"], actor_id=ctx.user_id)
        return Result(ctx.services.users.get(ctx.id))

    ops += [
        Operation("GET", "/users/me", me, "The user of the token", "users", "get_me", response=rec, etag=True),
        Operation("POST", "/users/{id:int}/password", password, "Set a user's password (own, or any as admin)",
                  "users", "set_password", body=body({"password": PASSWORD}, ["password"]), response=rec),
    ]
    return ops


def _fields(op: Operation) -> dict[str, Any]:
    import attrs

    return attrs.asdict(op, recurse=False)
