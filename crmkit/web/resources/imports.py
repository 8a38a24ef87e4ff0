"""``/imports``: an import job over the API -- upload, mapping, dry run, start, progress, rejects, undo.

``POST /imports?entity=contact`` stores the file (:mod:`.import_uploads`) and answers the mapping
step (header, guessed mapping, fields, sample rows); ``PATCH /imports/{id}`` changes the mapping and
mode; ``POST /imports/{id}/dry-run`` and ``/start`` run in the background (202) while ``GET
/imports/{id}`` tells the progress and counts; ``GET /imports/{id}/rejects`` is the rejects CSV;
``/resume`` and ``/undo`` finish the story (:mod:`crmkit.transfer.jobs`).
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any, Iterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ...core.errors import CrmError, NotFoundError, ValidationError
from ...transfer import jobs, runs
from ...transfer.mapping import ENTITIES
from ...transfer.runs import MODES
from ..endpoint import authenticate
from ..errors import error_response
from ..operation import INT32, Ctx, Operation, Param, Result, Schema
from ..params import parse_query
from ..schemas import text
from .import_uploads import UPLOAD_KEY

if TYPE_CHECKING:  # pragma: no cover
    from ...core.app import Crm
    from ...core.auth import TokenCache
    from ..endpoint import Endpoint, ServicesCache

REJECTS = "import_rejects"
COUNTS = {k: {"type": "integer"} for k in ("total", "created", "updated", "rejected", "skipped", "accepted")}
IMPORT: Schema = {
    "type": "object", "required": ["id", "entity", "file_name", "mode", "status", "progress", *COUNTS],
    "properties": {
        "id": {"type": "integer"}, "entity": {"type": "string", "enum": list(ENTITIES)},
        "file_name": {"type": "string"}, "mode": {"type": "string", "enum": list(MODES)},
        "dry_run": {"type": "boolean"},
        "status": {"type": "string", "enum": ["uploaded", "running", "done", "failed", "undone"]},
        **COUNTS,
        "mapping": {"type": "object", "additionalProperties": {"type": "string"},
                    "description": "column header -> field (empty: not imported)"},
        "error": {"type": ["string", "null"]},
        "created_at": {"type": ["string", "null"], "format": "date-time"},
        "finished_at": {"type": ["string", "null"], "format": "date-time"},
        "file": {"type": "object", "description": "how the file was read: format, encoding, delimiter"},
        "progress": {"type": "object", "required": ["done", "rows", "percent"], "properties": {
            "done": {"type": "integer"}, "rows": {"type": "integer"}, "percent": {"type": "number"},
            "running_here": {"type": "boolean"}}},
        "dry_run_result": {"type": ["object", "null"], "description": "the last dry run: status, counts, the "
                                                                     "first 100 rejects (line, field, reason, cells)"},
        "header": {"type": "array", "items": {"type": "string"}, "description": "while uploaded"},
        "sample": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}},
        "fields": {"type": "array", "items": {"type": "string"}, "description": "what a column may map to"},
    },
}
CONFIGURE: Schema = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "mapping": {"type": "object", "maxProperties": 500, "additionalProperties": text(120),
                    "description": "column header -> field (`\"\"`: not imported); unnamed columns are not imported"},
        "mapping_name": text(100), "mode": {"type": "string", "enum": list(MODES)},
        "save_as": {**text(100), "description": "also save the mapping under this name"},
    },
}
UPLOAD_PARAMS = (
    Param("entity", {"type": "string", "enum": list(ENTITIES)}, "what each row becomes", required=True),
    Param("name", text(255), "the file's name (a raw body; multipart: the part's filename)"),
)


def _create(ctx: Ctx) -> Any:
    upload = ctx.request.scope.get(UPLOAD_KEY)
    if upload is None:  # only the ImportUploads middleware puts it there
        raise ValidationError("file: send the spreadsheet as the request body or a multipart `file` part",
                              field="file")
    out = jobs.create(ctx.services, upload.path, ctx.query["entity"], ctx.query.get("name") or upload.filename)
    upload.claimed = True
    return Result(out, status=201, headers={"Location": f"/api/v1/imports/{out['id']}"})


def _list(ctx: Ctx) -> Any:
    return {"items": [r.to_json() for r in runs.runs(ctx.services, limit=ctx.query.get("limit", 50))]}


def _get(ctx: Ctx) -> Any:
    return jobs.status(ctx.services, ctx.id)


def _configure(ctx: Ctx) -> Any:
    b = ctx.body
    return jobs.configure(ctx.services, ctx.id, mapping=b.get("mapping"), mapping_name=b.get("mapping_name"),
                          mode=b.get("mode"), save_as=b.get("save_as"))


def _dry_run(ctx: Ctx) -> Any:
    return Result(jobs.start(ctx.services, ctx.id, dry_run=True), status=202)


def _start(ctx: Ctx) -> Any:
    return Result(jobs.start(ctx.services, ctx.id), status=202)


def _resume(ctx: Ctx) -> Any:
    return Result(jobs.resume(ctx.services, ctx.id), status=202)


def _undo(ctx: Ctx) -> Any:
    counts = runs.undo(ctx.services, ctx.id)
    return {**jobs.status(ctx.services, ctx.id), "undone": counts}


def _mappings(ctx: Ctx) -> Any:
    return {"items": runs.mappings(ctx.services)}


def _rejects(ctx: Ctx) -> Any:  # pragma: no cover - served by rejects_endpoint
    raise NotFoundError("served as CSV")


def operations(crm: "Crm") -> list[Operation]:
    item = "/imports/{id:int}"
    imp = IMPORT
    return [
        Operation("POST", "/imports", _create, "Upload a spreadsheet to import (CSV or XLSX)", "imports",
                  "create_import", status=201, query=UPLOAD_PARAMS, response=imp, errors=(400, 408, 413, 415),
                  description="The file is the request body (`Content-Type: text/csv`, the XLSX type or "
                              "`application/octet-stream`; `?name=` its name) or a multipart `file` part, at most "
                              "`[settings.files] max_bytes`. Nothing is imported yet: the answer is the mapping "
                              "step (the header, the guessed mapping, the fields, a few rows, the row count)."),
        Operation("GET", "/imports", _list, "The latest imports (yours; admins: everyone's)", "imports",
                  "list_imports", query=(Param("limit", {"type": "integer", "minimum": 1, "maximum": 500,
                                                         "default": 50}),),
                  response={"type": "object", "required": ["items"], "properties": {
                      "items": {"type": "array", "items": {"type": "object"}}}}),
        Operation("GET", "/imports/mappings", _mappings, "Saved column mappings", "imports", "list_import_mappings",
                  response={"type": "object", "required": ["items"], "properties": {
                      "items": {"type": "array", "items": {"type": "object"}}}}),
        Operation("GET", item, _get, "An import: status, progress, counts, its dry run's result", "imports",
                  "get_import", response=imp),
        Operation("PATCH", item, _configure, "Set an uploaded import's mapping and mode", "imports",
                  "configure_import", body=CONFIGURE, response=imp, errors=(409,),
                  description="Only before it starts (409 after). A saved mapping (`mapping_name`) keeps the "
                              "columns this file has; `save_as` saves the mapping by name."),
        Operation("POST", f"{item}/dry-run", _dry_run, "Dry run: the counts and first rejects, nothing written",
                  "imports", "dry_run_import", status=202, response=imp, errors=(409,),
                  description="Runs in the background: poll `GET /imports/{id}` until `dry_run_result.status` "
                              "is `done` (or `failed`)."),
        Operation("POST", f"{item}/start", _start, "Start the import (in the background)", "imports",
                  "start_import", status=202, response=imp, errors=(409,),
                  description="Poll `GET /imports/{id}`: `progress` grows batch by batch; `status` becomes "
                              "`done` (or `failed`: resume it)."),
        Operation("POST", f"{item}/resume", _resume, "Resume a failed import or one whose process died",
                  "imports", "resume_import", status=202, response=imp, errors=(409,),
                  description=f"From its checkpoint, without duplicates. A `running` import may be resumed "
                              f"after {jobs.STALE_SECONDS} s without a batch (409 before)."),
        Operation("POST", f"{item}/undo", _undo, "Undo an import (its cards archived, its changes reverted)",
                  "imports", "undo_import", response=imp),
        Operation("GET", f"{item}/rejects", _rejects, "The rejected rows as CSV (line, field, reason, the row)",
                  "imports", REJECTS),
    ]


def rejects_endpoint(crm: "Crm", tokens: "TokenCache", services: "ServicesCache") -> "Endpoint":
    """``GET /api/v1/imports/{id}/rejects``: the rejects file, streamed (``text/csv``, UTF-8 with a BOM)."""

    async def import_rejects(request: Request) -> Response:
        try:
            user_id = await authenticate(request, tokens)
            ident = request.path_params["id"]
            if not 1 <= ident <= INT32:
                raise NotFoundError(f"import {ident} does not exist")
            parse_query(request.scope.get("query_string", b""), ())
            svc = services.get(user_id)
            run = await run_in_threadpool(runs.get, svc, ident)
        except CrmError as exc:
            return error_response(exc)
        header = list(run.options.get("header") or run.mapping)
        return StreamingResponse(_reject_chunks(svc, ident, header), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="import-{ident}-rejects.csv"',
                                          "Cache-Control": "private, no-store"})

    return import_rejects


def _reject_chunks(svc: Any, ident: int, header: list[str]) -> Iterator[bytes]:
    """The CSV (a BOM first, as exports), ~one chunk per 500 rows; read in a worker thread."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    yield "\ufeff".encode()
    for n, row in enumerate(runs.reject_rows(svc, ident, header), start=1):
        writer.writerow(row)
        if n % 500 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def document(doc: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with the upload's bodies and the rejects' CSV answer."""
    methods = doc["paths"].get("/api/v1/imports", {})
    if "post" in methods:
        binary = {"schema": {"type": "string", "format": "binary"}}
        methods["post"]["requestBody"] = {"required": True, "content": {
            "text/csv": binary, "application/octet-stream": binary,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": binary,
            "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                "file": {"type": "string", "format": "binary"}, "name": {"type": "string"}}}}}}
    rejects = doc["paths"].get("/api/v1/imports/{id}/rejects", {})
    if "get" in rejects:
        rejects["get"]["responses"]["200"] = {"description": "The rejects as CSV",
                                              "content": {"text/csv": {"schema": {"type": "string"}}}}
    return doc
