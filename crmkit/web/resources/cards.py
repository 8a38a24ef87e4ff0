"""The four operations every card resource has: list, create, get, update."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from ..operation import ID_SCHEMA, INT32, Ctx, Operation, Param, Result, Schema
from ..params import list_params, ordering, paging
from ..schemas import custom_read, custom_write, page_schema, record_schema

if TYPE_CHECKING:  # pragma: no cover
    from ...core.app import Crm


def card_operations(
    crm: "Crm", *, service: str, entity: str, plural: str, record: type, create_body: Schema,
    update_body: Schema | None, extra_filters: Iterable[Param] = (), skip_filters: Iterable[str] = (),
    create: Any = None,
) -> tuple[list[Operation], Schema]:
    """list/create/get/update of ``crm.<service>`` at ``/<plural>``; also returns the record schema."""
    svc = getattr(crm.system, service)
    rec = record_schema(record, custom_read(crm, entity) if hasattr(record, "custom") else None)
    base = f"/{plural}"
    item = f"/{plural}/{{id:int}}"
    name = entity.replace("_", " ")

    def list_(ctx: Ctx) -> Any:
        filters, limit, cursor = paging(ctx.query)
        return getattr(ctx.services, service).list(filters, limit=limit, cursor=cursor, order=ordering(ctx.query))

    def create_(ctx: Ctx) -> Any:
        if create is not None:
            return Result(create(ctx), status=201)
        return Result(getattr(ctx.services, service).create(**ctx.body), status=201)

    def get(ctx: Ctx) -> Any:
        return getattr(ctx.services, service).get(ctx.id)

    def update(ctx: Ctx) -> Any:
        return getattr(ctx.services, service).update(ctx.id, ctx.body, version=ctx.version)

    ops = [
        Operation("GET", base, list_, f"List {plural}", plural, f"list_{plural}",
                  query=list_params(svc, entity if hasattr(record, "custom") else None, extra_filters, skip_filters),
                  response=page_schema(rec),
                  description=f"A page of {plural}, ordered by `order` (default id). Filters: `field=value` or `field__op=value` "
                              "(op: ne, gt, gte, lt, lte, in with comma-separated values), custom fields included."),
        Operation("POST", base, create_, f"Create a {name}", plural, f"create_{entity}", status=201,
                  body=create_body, response=rec, etag=True, idempotent=True, errors=(409,)),
        Operation("GET", item, get, f"Get a {name}", plural, f"get_{entity}", response=rec, etag=True),
    ]
    if update_body is not None:
        ops.append(Operation("PATCH", item, update, f"Update a {name}", plural, f"update_{entity}",
                             body=update_body, response=rec, etag=True, if_match=True,
                             description="Change the given fields only; `custom` fields are merged "
                                         "(null clears one). Send `If-Match` with the card's ETag to refuse "
                                         "a stale update (409)."))
    return ops, rec


def user_ref() -> Schema:
    """A user field in a request body: the user's id or e-mail address (null: nobody)."""
    return {"type": ["integer", "string", "null"], "minimum": 1, "maximum": INT32, "maxLength": 254,
            "description": "a user's id or e-mail address"}


def custom_fields(crm: "Crm", entity: str) -> Schema:
    """The ``custom`` object a create or update accepts, a ``user`` field taking an id or an e-mail."""
    schema = dict(custom_write(crm, entity))
    users = {f.name for f in crm.custom_fields.of_type(entity, "user")}
    if users:
        props = dict(schema["properties"])
        props.update({name: user_ref() for name in users})
        schema["properties"] = props
    return schema


def action(path: str, handler: Any, summary: str, tag: str, op_id: str, rec: Schema, body: Schema | None = None,
           *, body_required: bool = False, errors: tuple[int, ...] = (409,), etag: bool = True) -> Operation:
    """A POST action on one card (move, win, complete, ...), with ``If-Match`` and ``Idempotency-Key``."""
    return Operation("POST", path, handler, summary, tag, op_id, body=body, body_required=body_required,
                     response=rec, etag=etag, if_match=True, idempotent=True, errors=errors)


ID = ID_SCHEMA
