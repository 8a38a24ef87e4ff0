"""Documents over HTTP: the streaming upload and the download.

**Upload** (``POST /api/v1/<cards>/{id}/files``, ``multipart/form-data`` with one ``file`` part and
an optional ``name``): :class:`Uploads`, a pure ASGI middleware outside the API's body buffer
(:class:`crmkit.web.middleware.BodyLimit`, made for JSON bodies), checks the token, then streams
the body through Starlette's multipart parser (python-multipart: the file part is spooled, 1 MiB in
memory then a temporary file) within ``[settings.files] max_bytes`` (413, also from
``Content-Length`` before reading) and ``upload_timeout_seconds`` (408); the parser's own limits
refuse a second file, more fields, or a field above 64 KiB (400). The parsed upload is then handed
to the ordinary operation (``add_file_*``) through the ASGI scope, with an empty body: routing,
record rules, the writer queue and errors are the same as for every operation. The temporary file
is closed (deleted) when the request ends, whatever happened.

**Download** (``GET /api/v1/files/{id}``): the content streamed from the storage, always as an
attachment (``Content-Disposition`` with a safe name), typed by the sniffed type (never the
client's), ``X-Content-Type-Options: nosniff`` and a sandboxing ``Content-Security-Policy``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, AsyncIterator, BinaryIO, Iterator

import anyio
import attrs
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ...core.errors import CrmError, NotFoundError, ValidationError
from ...core.files import content_disposition, file_settings
from ..endpoint import authenticate
from ..errors import BadRequest, PayloadTooLarge, RequestTimeout, UnsupportedMediaType, error_response
from ..middleware import ASGIApp, Message, Receive, Scope, Send
from ..operation import INT32
from ..params import parse_query

if TYPE_CHECKING:  # pragma: no cover
    from ...core.app import Crm
    from ...core.auth import TokenCache
    from ..endpoint import Endpoint, ServicesCache

UPLOAD_KEY = "crmkit.upload"
UPLOAD_PATH = re.compile(r"^/api/v1/(?:leads|contacts|companies|deals|tasks)/[0-9]+/files$")
ENVELOPE = 64 * 1024
"""What a multipart body may hold beside the file: boundaries, part headers, the ``name`` field."""
CHUNK = 1 << 16


@attrs.frozen
class Upload:
    """The parsed upload an ``add_file_*`` operation reads from ``scope[UPLOAD_KEY]``."""

    file: BinaryIO
    filename: str | None


class _TooLarge(Exception):
    pass


class Uploads:
    """Pure ASGI: parses document uploads before the API's body buffer sees them (module doc)."""

    def __init__(self, app: ASGIApp, crm: "Crm", tokens: "TokenCache") -> None:
        self.app = app
        self.crm = crm
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not UPLOAD_PATH.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        settings = file_settings(self.crm)
        limit = settings.max_bytes + ENVELOPE
        request = Request(scope, receive)
        form = None
        try:
            await authenticate(request, self.tokens)
            ctype = request.headers.get("content-type", "")
            if ctype.split(";", 1)[0].strip().lower() != "multipart/form-data":
                raise UnsupportedMediaType("Content-Type must be multipart/form-data (the document in a `file` part)")
            length = request.headers.get("content-length")
            if length is not None and (not length.isascii() or not length.isdigit() or len(length) > 18
                                       or int(length) > limit):
                raise PayloadTooLarge(f"file: larger than {settings.max_bytes} bytes (the deployment's limit)")
            parser = MultiPartParser(Headers(scope=scope), _counted(receive, limit), max_files=1, max_fields=1,
                                     max_part_size=ENVELOPE)
            try:
                with anyio.fail_after(settings.upload_timeout_seconds):
                    form = await parser.parse()
            except TimeoutError:
                raise RequestTimeout(f"the upload did not arrive within {settings.upload_timeout_seconds:g} "
                                     "seconds") from None
            except _TooLarge:
                raise PayloadTooLarge(f"file: larger than {settings.max_bytes} bytes (the deployment's limit)") \
                    from None
            except MultiPartException as exc:
                raise BadRequest(f"the multipart body is not acceptable: {exc.message}") from None
            upload = _upload(form)
        except _Disconnected:
            return
        except CrmError as exc:
            if form is not None:
                await form.close()
            await error_response(exc, {"Connection": "close"})(scope, receive, send)
            return
        scope[UPLOAD_KEY] = upload
        sent = False

        async def empty() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return await receive()

        try:
            await self.app(scope, empty, send)
        finally:
            scope.pop(UPLOAD_KEY, None)
            await form.close()


class _Disconnected(Exception):
    pass


async def _counted(receive: Receive, limit: int) -> AsyncIterator[bytes]:
    """The request body, chunk by chunk, refused beyond ``limit`` bytes."""
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


def _upload(form: Any) -> Upload:
    unknown = sorted(k for k in form.keys() if k not in ("file", "name"))
    if unknown:
        raise ValidationError(f"{unknown[0][:100]}: unknown field (send `file` and optionally `name`)",
                              field=unknown[0][:100])
    part = form.get("file")
    if not isinstance(part, UploadFile):
        raise ValidationError("file: is required (a file part named `file`)", field="file")
    name = form.get("name")
    if name is not None and not isinstance(name, str):
        raise ValidationError("name: expected text", field="name")
    filename = part.filename
    if filename:  # browsers and httpx send a quote and line breaks as %22, %0D, %0A (HTML's form encoding)
        filename = filename.replace("%22", '"').replace("%0D", "\r").replace("%0A", "\n")
    return Upload(part.file, name if name else filename)  # type: ignore[arg-type]


# -- download -----------------------------------------------------------------------------------


def download_endpoint(crm: "Crm", tokens: "TokenCache", services: "ServicesCache") -> "Endpoint":
    """``GET /api/v1/files/{id}``: the document's content as an attachment (module doc)."""

    async def download_file(request: Request) -> Response:
        try:
            user_id = await authenticate(request, tokens)
            ident = request.path_params["id"]
            if not 1 <= ident <= INT32:
                raise NotFoundError(f"file {ident} does not exist")
            parse_query(request.scope.get("query_string", b""), ())
            info, stream = await run_in_threadpool(lambda: services.get(user_id).files.open(ident))
        except CrmError as exc:
            return error_response(exc)
        headers = {
            "Content-Disposition": content_disposition(info.name),
            "Content-Length": str(info.size),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
            "ETag": f'"{info.sha256}"',
        }
        return StreamingResponse(_chunks(stream), media_type=info.content_type, headers=headers)

    return download_file


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    """The stored content, read in a worker thread by Starlette, closed at the end."""
    try:
        while chunk := stream.read(CHUNK):
            yield chunk
    finally:
        stream.close()
