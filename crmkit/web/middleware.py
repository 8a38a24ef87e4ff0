"""Pure ASGI middleware (``BaseHTTPMiddleware`` costs most of the throughput).

:class:`BodyLimit` reads a request body before the app sees it: up to ``max_bytes``
(413 beyond that, whether or not ``Content-Length`` was sent), and within
``timeout`` seconds of the request's start (408 after that: a client trickling a
body byte by byte no longer holds a connection and a request slot forever). Both
answers are JSON errors with ``Connection: close``.
"""

from __future__ import annotations

import math
from typing import Any, Awaitable, Callable, MutableMapping

import anyio

from ..core.errors import CrmError
from .errors import JSON_TYPE, PayloadTooLarge, RequestTimeout, error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
DEFAULT_BODY_TIMEOUT = 30.0


class _TooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int = 1_000_000, timeout: float = DEFAULT_BODY_TIMEOUT) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout if timeout > 0 else math.inf

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _BODYLESS:
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        for name, value in scope["headers"]:
            if name == b"content-length":
                # ASCII digits only (bytes.isdigit is), and short: int() of 5000 digits raises
                if not value.isdigit() or len(value) > 18 or int(value) > limit:
                    await _refuse(send, _too_large(limit))
                    return
                break
        try:
            with anyio.fail_after(self.timeout):
                body = await _read(receive, limit)
        except TimeoutError:
            await _refuse(send, RequestTimeout(f"the request body did not arrive within {self.timeout:g} seconds"))
            return
        except _TooLarge:
            await _refuse(send, _too_large(limit))
            return
        if body is None:  # the client went away
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _read(receive: Receive, limit: int) -> bytes | None:
    """The whole body (``_TooLarge`` beyond ``limit`` bytes; None if the client disconnected)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body is larger than {limit} bytes")


async def _refuse(send: Send, error: CrmError) -> None:
    """A JSON error that closes the connection (the rest of the body is never read)."""
    body = error_body(error.status, error.code, error.message)
    await send({"type": "http.response.start", "status": error.status, "headers": [
        (b"content-type", JSON_TYPE.encode()), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]})
    await send({"type": "http.response.body", "body": body})
