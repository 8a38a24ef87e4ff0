"""Archive, restore and delete on every card resource: ``POST /<cards>/{id}/archive`` and
``/restore`` (the card, with ``If-Match``), ``DELETE /<cards>/{id}`` (admins), and the
``archived`` filter (``false`` by default, ``true``, ``any``) on every card list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from ...core.services.archive import ARCHIVED_MODES
from ..operation import Ctx, Operation, Param
from .cards import action

if TYPE_CHECKING:  # pragma: no cover
    from ...core.app import Crm

CARDS = {"leads": ("leads", "lead"), "contacts": ("contacts", "contact"), "companies": ("companies", "company"),
         "deals": ("deals", "deal"), "tasks": ("tasks", "task")}
"""``/<plural>`` -> (service, entity)."""

ARCHIVED = Param("archived", {"type": "string", "enum": list(ARCHIVED_MODES), "default": "false"},
                 "archived cards: `false` (default: active ones only), `true` (only archived ones) or `any`")

DELETED = {
    "type": "object", "required": ["entity_type", "id", "card", "removed"],
    "properties": {
        "entity_type": {"type": "string"}, "id": {"type": "integer"},
        "card": {"type": "object", "description": "what the card was, without personal data"},
        "removed": {"type": "object", "description": "what went with it (notes, files, ...; tasks detached)"},
    },
}


def with_archived_filter(ops: list[Operation]) -> list[Operation]:
    """``ops`` with the ``archived`` query parameter on the list operation of every card resource."""
    lists = {f"list_{plural}" for plural in CARDS}
    return [attrs.evolve(op, query=(*op.query, ARCHIVED)) if op.operation_id in lists else op for op in ops]


def _archive(service: str) -> Any:
    def archive(ctx: Ctx) -> Any:
        return getattr(ctx.services, service).archive(ctx.id, version=ctx.version)

    return archive


def _restore(service: str) -> Any:
    def restore(ctx: Ctx) -> Any:
        return getattr(ctx.services, service).restore(ctx.id, version=ctx.version)

    return restore


def _delete(service: str) -> Any:
    def delete(ctx: Ctx) -> Any:
        return getattr(ctx.services, service).delete(ctx.id)

    return delete


def operations(crm: "Crm", ops: list[Operation]) -> list[Operation]:
    """The archive, restore and delete operations of each card resource (its record schema is the one
    its ``GET /<cards>/{id}`` answers, taken from ``ops``)."""
    records = {op.path.split("/")[1]: op.response for op in ops
               if op.method == "GET" and op.path.count("/") == 2 and op.path.endswith("{id:int}")}
    out: list[Operation] = []
    for plural, (service, entity) in CARDS.items():
        rec = records[plural] or {}
        item = f"/{plural}/{{id:int}}"
        out += [
            action(f"{item}/archive", _archive(service), f"Archive a {entity} (hidden from lists, kept everywhere else)",
                   plural, f"archive_{entity}", rec),
            action(f"{item}/restore", _restore(service), f"Restore an archived {entity}", plural,
                   f"restore_{entity}", rec),
            Operation("DELETE", item, _delete(service), f"Delete a {entity} for good (admins)", plural,
                      f"delete_{entity}", response=DELETED, errors=(409,),
                      description="Needs `cards.delete` (admins). The card's notes, files and shares go with it "
                                  "and its tasks are detached; its events stay in the log. A card other cards "
                                  "link to is refused (409)."),
        ]
    return out
