"""``/search``: contacts, companies, leads and deals by name, phone (any format) or e-mail."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core.records import to_dict
from ...core.services.search import KINDS, MAX_LIMIT, SearchHit
from ..operation import Ctx, Operation, Param
from ..schemas import record_schema

if TYPE_CHECKING:  # pragma: no cover
    from ...core.app import Crm


def operations(crm: "Crm") -> list[Operation]:
    hit = record_schema(SearchHit)

    def search(ctx: Ctx) -> Any:
        kinds = ctx.query.get("kinds")
        hits = ctx.services.search(ctx.query.get("q"), limit=ctx.query.get("limit", 10),
                                   kinds=kinds.split(",") if isinstance(kinds, str) else None)
        return {"items": [to_dict(h) for h in hits]}

    return [
        Operation(
            "GET", "/search", search, "Search cards by name, phone or e-mail", "search", "search",
            query=(Param("q", {"type": "string", "minLength": 2, "maxLength": 200},
                         "a name (or part of one), a phone number in any format, or an e-mail address", required=True),
                   Param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 10},
                         f"at most this many hits of each kind (1 to {MAX_LIMIT})"),
                   Param("kinds", {"type": "string", "maxLength": 100, "pattern": r"^[a-z,]+$"},
                         f"comma-separated kinds of card to search ({', '.join(KINDS)}; default all)")),
            response={"type": "object", "required": ["items"],
                      "properties": {"items": {"type": "array", "items": hit}}},
            description="Only cards the caller may read are found. A phone number is matched in E.164 "
                        "(five or more digits match part of a number); an address with `@` matches e-mails.",
        ),
    ]
