"""The import upload: a spreadsheet streamed to the deployment's upload folder before routing.

``POST /api/v1/imports`` takes the file as the request body (``text/csv``, the XLSX type,
``application/octet-stream``...; its name in ``?name=``) or as ``multipart/form-data`` with one
``file`` part; the web UI's ``POST /imports/new`` takes the multipart form of its upload page.
:class:`ImportUploads`, a pure ASGI middleware outside the API's body limit (made for JSON), checks
the caller first (the bearer token; the UI's session cookie), writes the body to a fresh file within
``[settings.files] max_bytes`` (413) and ``upload_timeout_seconds`` (408), and hands the stored file
to the route in the scope (``scope[UPLOAD_KEY]``) with an empty body -- the UI's form fields
(``csrf``, ``entity``) as an urlencoded body, so the page checks its CSRF token as every page does.
A stored file no route claimed (a refusal, a failed check) is deleted when the request ends.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import anyio
import attrs
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from ...core.errors import CrmError, ValidationError
from ...core.files.config import file_settings
from ...transfer.jobs import new_upload
from ..endpoint import authenticate
from ..errors import BadRequest, PayloadTooLarge, RequestTimeout, error_response
from ..middleware import ASGIApp, Message, Receive, Scope, Send
from .file_transfer import ENVELOPE, _counted, _Disconnected, _TooLarge

if TYPE_CHECKING:  # pragma: no cover
    from ...core.app import Crm
    from ...core.auth import TokenCache

UPLOAD_KEY = "crmkit.import_upload"
API_PATH = "/api/v1/imports"
UI_PATH = "/imports/new"
UI_FIELDS = ("csrf", "entity")


@attrs.define
class StoredUpload:
    """An uploaded spreadsheet on disk; a route that keeps it sets ``claimed``."""

    path: Path
    filename: str | None
    claimed: bool = False


class ImportUploads:
    """Pure ASGI: stores import uploads before the body limit and the routes see them (module doc)."""

    def __init__(self, app: ASGIApp, crm: "Crm", tokens: "TokenCache") -> None:
        self.app = app
        self.crm = crm
        self.tokens = tokens
        self._sessions: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path") if scope["type"] == "http" and scope["method"] == "POST" else None
        if path not in (API_PATH, UI_PATH):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        settings = file_settings(self.crm)
        upload: StoredUpload | None = None
        fields: dict[str, str] = {}
        try:
            if path == API_PATH:
                await authenticate(request, self.tokens)
            elif not await run_in_threadpool(self._logged_in, request):
                await self.app(scope, _empty(receive, b""), send)  # the page answers: log in again
                return
            length = request.headers.get("content-length")
            if length is not None and (not length.isascii() or not length.isdigit() or len(length) > 18
                                       or int(length) > settings.max_bytes + ENVELOPE):
                raise PayloadTooLarge(f"file: larger than {settings.max_bytes} bytes (the deployment's limit)")
            with anyio.fail_after(settings.upload_timeout_seconds):
                upload, fields = await self._store(request, receive, settings.max_bytes, ui=path == UI_PATH)
        except TimeoutError:
            await _refuse(RequestTimeout(f"the upload did not arrive within {settings.upload_timeout_seconds:g} "
                                         "seconds"), scope, receive, send)
            return
        except (_TooLarge, PayloadTooLarge):
            await _refuse(PayloadTooLarge(f"file: larger than {settings.max_bytes} bytes (the deployment's "
                                          "limit)"), scope, receive, send)
            return
        except _Disconnected:
            return
        except CrmError as exc:
            await _refuse(exc, scope, receive, send)
            return
        scope[UPLOAD_KEY] = upload
        body = urlencode(fields).encode() if path == UI_PATH else b""
        if path == UI_PATH:
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k not in (b"content-type", b"content-length")] \
                + [(b"content-type", b"application/x-www-form-urlencoded"), (b"content-length", str(len(body)).encode())]
        try:
            await self.app(scope, _empty(receive, body), send)
        finally:
            scope.pop(UPLOAD_KEY, None)
            if upload is not None and not upload.claimed:
                upload.path.unlink(missing_ok=True)

    def _logged_in(self, request: Request) -> bool:
        if self._sessions is None:
            from ...ui.config import parse
            from ...ui.sessions import Sessions

            self._sessions = Sessions(self.crm, parse(self.crm))
        return self._sessions.load(request).user_id is not None

    async def _store(self, request: Request, receive: Receive, limit: int, *,
                     ui: bool) -> tuple[StoredUpload, dict[str, str]]:
        ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if ctype == "multipart/form-data":
            parser = MultiPartParser(request.headers, _counted(receive, limit + ENVELOPE), max_files=1,
                                     max_fields=len(UI_FIELDS) + 1, max_part_size=ENVELOPE)
            try:
                form = await parser.parse()
            except MultiPartException as exc:
                raise BadRequest(f"the multipart body is not acceptable: {exc.message}") from None
            try:
                part = form.get("file")
                if not isinstance(part, UploadFile) or not part.filename and part.size == 0:
                    raise ValidationError("file: is required (a file part named `file`)", field="file")
                fields = {k: v for k, v in form.items() if isinstance(v, str) and (ui and k in UI_FIELDS or k == "name")}
                stored = StoredUpload(new_upload(self.crm, part.filename), fields.pop("name", None) or part.filename)
                await run_in_threadpool(_copy, part, stored.path)
            finally:
                await form.close()
            return stored, fields
        if ui:
            raise BadRequest("the upload form must be sent as multipart/form-data")
        if ctype in ("application/json", "application/x-www-form-urlencoded", ""):
            raise ValidationError("file: send the spreadsheet as the request body (Content-Type text/csv, the XLSX "
                                  "type or application/octet-stream) or as multipart/form-data", field="file")
        name = request.query_params.get("name")
        stored = StoredUpload(new_upload(self.crm, name), name)
        try:
            with stored.path.open("wb") as out:
                async for chunk in _counted(receive, limit):
                    out.write(chunk)
        except BaseException:
            stored.path.unlink(missing_ok=True)
            raise
        return stored, {}


def _copy(part: UploadFile, target: Path) -> None:
    part.file.seek(0)
    with target.open("wb") as out:
        shutil.copyfileobj(part.file, out, 1 << 20)


def _empty(receive: Receive, body: bytes) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _refuse(exc: CrmError, scope: Scope, receive: Receive, send: Send) -> None:
    await error_response(exc, {"Connection": "close"})(scope, receive, send)
