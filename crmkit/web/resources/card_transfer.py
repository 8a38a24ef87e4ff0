"""Exports, duplicates and merges over the API, and what they add to the card routes.

- ``GET /exports/{contacts|companies|leads|deals}?format=csv|xlsx|vcf`` with the list route's own
  filters and the user's record rules, streamed; ``cards.export`` allows it.
- ``GET /duplicates/{contacts|companies|leads}``: groups of likely duplicates;
  ``GET /<cards>/{id}/duplicates``: one card's; ``POST /<cards>/{id}/merge``: merge others into it.
- A created or changed contact, company or lead comes back with the header ``Likely-Duplicates:
  12, 15``: the ids of the cards it looks like (strict mode refuses it with 409 instead).
- A merged-away card answers ``410 Gone``, code ``merged``, with ``merged_into`` and a ``Location``
  naming the survivor (``GET``, ``PATCH`` and every action on it).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import attrs
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from ...core.access import EXPORT
from ...core.errors import CrmError, NotFoundError, ValidationError
from ...core.records import to_dict
from ...transfer import duplicates, exporting
from ...transfer.merge import MergedError, merge, survivor_of
from ..endpoint import authenticate
from ..errors import error_response
from ..operation import ID_SCHEMA, Ctx, Operation, Param, Result, Schema
from ..params import paging

if TYPE_CHECKING:  # pragma: no cover
    from ...core.app import Crm
    from ...core.auth import TokenCache
    from ..endpoint import Endpoint, ServicesCache

EXPORTS = {"contacts": "contact", "companies": "company", "leads": "lead", "deals": "deal"}
MERGEABLE = {"contacts": "contact", "companies": "company", "leads": "lead"}
FORMAT = Param("format", {"type": "string", "enum": ["csv", "xlsx", "vcf"], "default": "csv"},
               "csv (UTF-8 with a BOM), xlsx, or vcf (vCard 4.0, contacts only)")
TYPES = {"csv": "text/csv; charset=utf-8", "vcf": "text/vcard; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
IDS: Schema = {"type": "array", "items": {"type": "integer"}, "description": "the likely duplicates' ids"}
GROUPS: Schema = {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
    "type": "object", "required": ["by", "value", "ids"], "properties": {
        "by": {"type": "string", "enum": ["phone", "email", "name"]}, "value": {"type": "string"}, "ids": IDS}}}}}
MERGE_BODY: Schema = {
    "type": "object", "required": ["ids"], "additionalProperties": False,
    "properties": {
        "ids": {"type": "array", "items": ID_SCHEMA, "minItems": 1, "maxItems": 50,
                "description": "the cards merged into this one (archived, pointing at it)"},
        "fields": {"type": "object", "maxProperties": 50, "additionalProperties": ID_SCHEMA,
                   "description": "field (or custom.<name>) -> the id of the card whose value the survivor takes"},
    },
}
HEADER = "Likely-Duplicates"
"""The header of a create's or update's answer listing the ids of the cards it looks like."""
_CHANGES = frozenset({"phones", "emails", "first_name", "last_name", "name", "phone", "email"})


def export_op_id(plural: str) -> str:
    return f"export_{plural}"


def _not_json(ctx: Ctx) -> Any:  # pragma: no cover - served by export_endpoints
    raise NotFoundError("served as a file")


def _duplicates_report(entity: str) -> Callable[[Ctx], Any]:
    def duplicates_report(ctx: Ctx) -> Any:
        return {"items": duplicates.report(ctx.services, entity, limit=ctx.query.get("limit", 100))}

    return duplicates_report


def _duplicates_of(entity: str, service: str) -> Callable[[Ctx], Any]:
    def duplicates_of(ctx: Ctx) -> Any:
        getattr(ctx.services, service).get(ctx.id)  # a card one may not see: 404/403 as everywhere
        return {"items": duplicates.find(ctx.services, entity, ctx.id)}

    return duplicates_of


def _merge(entity: str) -> Callable[[Ctx], Any]:
    def merge_cards(ctx: Ctx) -> Any:
        fields = ctx.body.get("fields") or {}
        return merge(ctx.services, entity, ctx.id, ctx.body["ids"], fields)

    return merge_cards


def operations(crm: "Crm", ops: list[Operation]) -> list[Operation]:
    """The export, duplicates and merge operations (an export takes its list route's filters from ``ops``)."""
    lists = {op.operation_id: op for op in ops}
    records = {op.path.split("/")[1]: op.response for op in ops
               if op.method == "GET" and op.path.count("/") == 2 and op.path.endswith("{id:int}")}
    out: list[Operation] = []
    for plural, entity in EXPORTS.items():
        filters = tuple(p for p in lists[f"list_{plural}"].query if p.name not in ("limit", "cursor", "order"))
        out.append(Operation(
            "GET", f"/exports/{plural}", _not_json, f"Export {plural} (CSV, XLSX{', vCard' if plural == 'contacts' else ''})",
            "exports", export_op_id(plural), query=(FORMAT, *filters),
            description=f"Every {entity} of the list `GET /{plural}` gives with the same filters and your record "
                        "rules, streamed as a file (`Content-Disposition: attachment`). Needs `cards.export`. "
                        "Cells a spreadsheet would run as a formula get a leading `'` (CSV); XLSX cells are "
                        "typed strings; an XLSX of more than 1,048,576 rows is refused (422)."))
    limit = Param("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100})
    for plural, entity in MERGEABLE.items():
        service = plural
        out += [
            Operation("GET", f"/duplicates/{plural}", _duplicates_report(entity), f"Groups of likely duplicate {plural}",
                      "duplicates", f"duplicate_{plural}", query=(limit,), response=GROUPS,
                      description="Cards sharing a phone, an e-mail or the same full name (companies: the name), "
                                  "within your record rules, largest groups first."),
            Operation("GET", f"/{plural}/{{id:int}}/duplicates", _duplicates_of(entity, service),
                      f"The likely duplicates of a {entity}", plural, f"duplicates_of_{entity}",
                      response={"type": "object", "required": ["items"], "properties": {"items": IDS}}),
            Operation("POST", f"/{plural}/{{id:int}}/merge", _merge(entity), f"Merge other {plural} into this one",
                      plural, f"merge_{plural}", body=MERGE_BODY, response=records.get(plural), errors=(409,),
                      description="One transaction: fields chosen per field (`fields`), empty ones filled from the "
                                  "others, phones and e-mails united; deals, tasks, notes, files and plugins' rows "
                                  "move to this card; the others are archived and answer 410 with `merged_into`."),
        ]
    return out


# -- what the card routes get --------------------------------------------------------------------


def with_transfer(crm: "Crm", ops: list[Operation]) -> list[Operation]:
    """``ops`` where contacts', companies' and leads' creates and updates name their likely duplicates, and
    every operation on a merged-away card answers 410 with ``merged_into``."""
    out = []
    for op in ops:
        plural = op.path.split("/")[1]
        entity = MERGEABLE.get(plural)
        if entity is None or not op.path.startswith(f"/{plural}/{{id:int}}") and op.operation_id != f"create_{entity}":
            out.append(op)
            continue
        handler = op.handler
        if op.operation_id in (f"create_{entity}", f"update_{entity}"):
            op = attrs.evolve(op, handler=_with_duplicates(handler, entity, op.status))
        if op.path.startswith(f"/{plural}/{{id:int}}"):
            op = attrs.evolve(op, handler=_merged_pointer(op.handler, entity, plural, op.method == "GET"
                                                         and op.path == f"/{plural}/{{id:int}}"),
                              errors=tuple(sorted({*op.errors, 410})))
        out.append(op)
    return out


def _with_duplicates(handler: Callable[[Ctx], Any], entity: str, status: int) -> Callable[[Ctx], Any]:
    def with_duplicates(ctx: Ctx) -> Any:
        result = handler(ctx)
        if not isinstance(result, Result):
            result = Result(result, status=status)
        record = result.data
        if ctx.request.method == "POST" or _CHANGES & set(ctx.body or {}):
            found = duplicates.find(ctx.services, entity, record.id)
            if found:
                result = attrs.evolve(result, headers={**result.headers, HEADER: ", ".join(map(str, found))})
        return result

    with_duplicates.__name__ = getattr(handler, "__name__", "handler")
    return with_duplicates


def _merged_pointer(handler: Callable[[Ctx], Any], entity: str, plural: str, read: bool) -> Callable[[Ctx], Any]:
    """A read finds out after the fact (an archived card, one look-up); a change asks first: a merged-away
    card is kept as it was merged, never changed."""
    def merged_pointer(ctx: Ctx) -> Any:
        if ctx.request.method != "GET":
            _raise_merged(ctx, entity, plural, None)
        try:
            result = handler(ctx)
        except CrmError as exc:
            if isinstance(exc, MergedError) or exc.status >= 500:  # a lost database is a 503, not a look-up
                raise
            _raise_merged(ctx, entity, plural, exc)
            raise
        if read and getattr(result, "archived_at", None) is not None:
            _raise_merged(ctx, entity, plural, None)
        return result

    return merged_pointer


def _raise_merged(ctx: Ctx, entity: str, plural: str, cause: Exception | None) -> None:
    survivor = survivor_of(ctx.crm, entity, ctx.id)
    if survivor is None:
        return
    error = MergedError(entity, ctx.id, survivor)
    error.headers = {"Location": f"/api/v1/{plural}/{survivor}"}
    raise error from cause


def document(doc: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with the ``Likely-Duplicates`` header and the exports' file answers."""
    header = {HEADER: {"schema": {"type": "string", "pattern": r"^[0-9]+(, [0-9]+)*$"},
                       "description": "the ids of the cards this one looks like (absent: none)"}}
    for plural in MERGEABLE:
        for path, method, status in ((f"/api/v1/{plural}", "post", "201"), (f"/api/v1/{plural}/{{id}}", "patch", "200")):
            answer = doc["paths"].get(path, {}).get(method, {}).get("responses", {}).get(status)
            if answer is not None:
                answer["headers"] = {**answer.get("headers", {}), **header}
    for plural in EXPORTS:
        answer = doc["paths"].get(f"/api/v1/exports/{plural}", {}).get("get", {}).get("responses", {})
        if "200" in answer:
            answer["200"] = {"description": "The file (an attachment)", "content": {
                kind.split(";")[0]: {"schema": {"type": "string", "format": "binary"}} for kind in TYPES.values()}}
    return doc


# -- the export endpoints (files, not JSON) -----------------------------------------------------


def export_endpoints(crm: "Crm", tokens: "TokenCache", services: "ServicesCache",
                     ops: list[Operation]) -> dict[str, "Endpoint"]:
    """``{operation id: endpoint}`` of the exports: checked first (token, filters, ``cards.export``),
    then streamed (CSV, vCard: page by page; XLSX: written to a temporary file, then sent)."""
    out: dict[str, Endpoint] = {}
    for op in ops:
        if op.operation_id.startswith("export_") and op.path.startswith("/exports/"):
            out[op.operation_id] = _export_endpoint(op, EXPORTS[op.path.rsplit("/", 1)[1]], tokens, services)
    return out


def _export_endpoint(op: Operation, entity: str, tokens: "TokenCache", services: "ServicesCache") -> "Endpoint":
    from ..params import parse_query

    async def export(request: Request) -> Response:
        try:
            user_id = await authenticate(request, tokens)
            query = parse_query(request.scope.get("query_string", b""), op.query)
            fmt = query.pop("format", "csv")
            filters, _, _ = paging(query)
            svc = services.get(user_id)
            if fmt == "vcf" and entity != "contact":
                raise ValidationError("format: vCard is for contacts", field="format")
            count = await run_in_threadpool(_checked, svc, entity, filters)
            name = f"{exporting.ENTITIES[entity]}.{fmt}"
            headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store",
                       "X-Total-Count": str(count)}
            if fmt == "xlsx":
                path = await run_in_threadpool(_xlsx, svc, entity, filters)
                return FileResponse(path, media_type=TYPES[fmt], headers=headers,
                                    background=BackgroundTask(os.unlink, path))
        except CrmError as exc:
            return error_response(exc)
        chunks: Iterator[bytes] = (exporting.vcard_chunks(svc, filters) if fmt == "vcf"
                                   else exporting.csv_chunks(svc, entity, filters))
        return StreamingResponse(chunks, media_type=TYPES[fmt], headers=headers)

    export.__name__ = op.operation_id
    return export


def _checked(svc: Any, entity: str, filters: dict[str, Any]) -> int:
    """The permission and the filters checked before a byte is sent; the number of cards."""
    svc.access.require(EXPORT, f"export {exporting.ENTITIES[entity]}")
    return exporting.services_count(svc, entity, filters)


def _xlsx(svc: Any, entity: str, filters: dict[str, Any]) -> str:
    fd, name = tempfile.mkstemp(prefix="crmkit-export-", suffix=".xlsx")
    os.close(fd)
    try:
        exporting.write_xlsx(svc, entity, Path(name), filters)
    except BaseException:
        os.unlink(name)
        raise
    return name
