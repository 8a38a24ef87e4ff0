"""``/notes``: comments on any card."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core.records import Note
from ..operation import ID_SCHEMA, Ctx, Operation, Result
from ..params import list_params, ordering, paging
from ..schemas import body, page_schema, record_schema, text
from .tasks import CARD_TYPES

if TYPE_CHECKING:  # pragma: no cover
    from ...core.app import Crm


def operations(crm: "Crm") -> list[Operation]:
    rec = record_schema(Note)

    def list_(ctx: Ctx) -> Any:
        filters, limit, cursor = paging(ctx.query)
        return ctx.services.notes.list(filters, limit=limit, cursor=cursor, order=ordering(ctx.query))

    def add(ctx: Ctx) -> Any:
        b = ctx.body
        return Result(ctx.services.notes.add(b["entity_type"], b["entity_id"], b["body"]), status=201)

    def get(ctx: Ctx) -> Any:
        return ctx.services.notes.get(ctx.id)

    create = body({"entity_type": {"type": "string", "enum": CARD_TYPES}, "entity_id": ID_SCHEMA,
                   "body": text(100_000)}, ["entity_type", "entity_id", "body"])
    return [
        Operation("GET", "/notes", list_, "List notes", "notes", "list_notes",
                  query=list_params(crm.system.notes, None), response=page_schema(rec)),
        Operation("POST", "/notes", add, "Add a note to a card", "notes", "add_note", status=201, body=create,
                  response=rec, idempotent=True),
        Operation("GET", "/notes/{id:int}", get, "Get a note", "notes", "get_note", response=rec),
    ]
