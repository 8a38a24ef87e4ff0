"""``/tokens``: the acting user's API tokens. The secret is in the create response only;
making one takes the user's password."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core import auth
from ...core.errors import NotFoundError
from ...core.records import to_dict
from ..operation import Ctx, Operation, Result
from ..schemas import body, record_schema, text
from .users import CURRENT_PASSWORD, confirm_password

if TYPE_CHECKING:  # pragma: no cover
    from ...core.app import Crm


def operations(crm: "Crm") -> list[Operation]:
    rec = record_schema(auth.ApiToken)
    created = {"type": "object", "required": ["token", "secret"],
               "properties": {"token": rec, "secret": {"type": "string"}}}

    def list_(ctx: Ctx) -> Any:
        assert ctx.user_id is not None
        return {"items": [to_dict(t) for t in auth.list_tokens(ctx.crm, ctx.user_id)]}

    def create(ctx: Ctx) -> Any:
        assert ctx.user_id is not None
        refused = confirm_password(ctx, ctx.body.get("password"), "password")  # a token alone makes no tokens
        if refused is not None:
            return refused
        token, secret = auth.create_token(ctx.crm, ctx.user_id, ctx.body.get("name", ""), actor_id=ctx.user_id)
        return Result({"token": to_dict(token), "secret": secret}, status=201)

    def revoke(ctx: Ctx) -> Any:
        token = auth.get_token(ctx.crm, ctx.id)
        if token.user_id != ctx.user_id:
            raise NotFoundError(f"token {ctx.id} does not exist")
        return auth.revoke_token(ctx.crm, ctx.id, actor_id=ctx.user_id)

    return [
        Operation("GET", "/tokens", list_, "Your active API tokens (at most 1000)", "tokens", "list_tokens",
                  response={"type": "object", "required": ["items"],
                            "properties": {"items": {"type": "array", "items": rec}}}),
        Operation("POST", "/tokens", create, "Create an API token (the secret is shown only here)", "tokens",
                  "create_token", status=201, body=body({"name": text(200), "password": CURRENT_PASSWORD}, ["password"]),
                  response=created, errors=(429,),
                  description="Needs your `password` (403 if wrong, 429 after a few tries a minute): a stolen "
                              "token cannot make new ones that outlive its revocation. Users without a password "
                              "get tokens from the CLI (`crmkit users token`)."),
        Operation("DELETE", "/tokens/{id:int}", revoke, "Revoke one of your tokens", "tokens", "revoke_token",
                  response=rec),
    ]
