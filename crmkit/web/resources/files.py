"""Documents on cards: ``GET|POST /<cards>/{id}/files``, ``GET|DELETE /files/{id}``.

The upload and the download are not JSON: :mod:`.file_transfer` streams them; the operations here
route them, check them and describe them in the OpenAPI document (:func:`document`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core.errors import ValidationError
from ...core.files import SNIFFED_TYPES, file_settings
from ...core.services.files import FileInfo
from ..operation import Ctx, Operation, Result
from ..params import PAGING, paging
from ..schemas import page_schema, record_schema
from .file_transfer import UPLOAD_KEY

if TYPE_CHECKING:  # pragma: no cover
    from ...core.app import Crm

CARDS = {"leads": "lead", "contacts": "contact", "companies": "company", "deals": "deal", "tasks": "task"}
DOWNLOAD = "download_file"
UPLOAD_BODY = {
    "type": "object", "required": ["file"], "additionalProperties": False,
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "the document (its type is read from its "
                                                                     "content, not from this part's header)"},
        "name": {"type": "string", "maxLength": 255, "description": "its name (default: the part's filename)"},
    },
}


def _list(entity: str) -> Any:
    def list_files(ctx: Ctx) -> Any:
        _, limit, cursor = paging(ctx.query)
        return ctx.services.files.of(entity, ctx.id, limit=limit, cursor=cursor)

    return list_files


def _add(entity: str) -> Any:
    def add_file(ctx: Ctx) -> Any:
        upload = ctx.request.scope.get(UPLOAD_KEY)
        if upload is None:  # only the Uploads middleware puts it there
            raise ValidationError("file: send the document as multipart/form-data (a part named `file`)",
                                  field="file")
        return Result(ctx.services.files.add(entity, ctx.id, upload.file, name=upload.filename), status=201)

    return add_file


def _download(ctx: Ctx) -> Any:  # pragma: no cover - served by file_transfer.download_endpoint
    return ctx.services.files.get(ctx.id)


def _remove(ctx: Ctx) -> Any:
    return ctx.services.files.remove(ctx.id)


def operations(crm: "Crm") -> list[Operation]:
    file_settings(crm)  # a wrong [settings.files] fails when the API starts, not at the first upload
    rec = record_schema(FileInfo)
    ops: list[Operation] = []
    for plural, entity in CARDS.items():
        path = f"/{plural}/{{id:int}}/files"
        ops += [
            Operation("GET", path, _list(entity), f"The documents on a {entity}, oldest first", "files",
                      f"list_{entity}_files", query=PAGING, response=page_schema(rec)),
            Operation("POST", path, _add(entity), f"Attach a document to a {entity} (multipart/form-data)", "files",
                      f"add_{entity}_file", status=201, response=rec, errors=(400, 408, 413, 415),
                      description="One part named `file` (and optionally `name`), streamed, at most "
                                  "`[settings.files] max_bytes`. Its type is sniffed from the content and its "
                                  "sha256 recorded; `file.added` goes to the card's timeline."),
        ]
    ops += [
        Operation("GET", "/files/{id:int}", _download, "Download a document (as an attachment)", "files", DOWNLOAD,
                  description="The content, typed by what it is (sniffed at upload), with "
                              "`Content-Disposition: attachment` and `X-Content-Type-Options: nosniff`. "
                              "A document on a card you may not see is a 404, as a missing one."),
        Operation("DELETE", "/files/{id:int}", _remove, "Remove a document (its uploader, or who may change the "
                  "card)", "files", "remove_file", response=rec),
    ]
    return ops


def document(doc: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with the uploads' multipart bodies and the download's binary answer."""
    for path, methods in doc["paths"].items():
        if path.endswith("/files") and "post" in methods:
            methods["post"]["requestBody"] = {"required": True,
                                              "content": {"multipart/form-data": {"schema": UPLOAD_BODY}}}
        if path == "/api/v1/files/{id}" and "get" in methods:
            binary = {"schema": {"type": "string", "format": "binary"}}
            methods["get"]["responses"]["200"] = {
                "description": "The document",
                "content": {kind.split(";")[0]: binary for kind in SNIFFED_TYPES},
                "headers": {"Content-Disposition": {"schema": {"type": "string"}, "description": "attachment"}},
            }
    return doc
