"""A minimal in-process ASGI driver: one HTTP request straight into an app, no sockets.

Targets 4 and 5 drive ours and the baseline with this same driver, so the client's
own cost (which httpx's ``ASGITransport`` would add, ~100 us a request) neither hides
nor inflates the difference between the two apps.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Awaitable, Callable, Iterable

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class Response:
    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


def headers_of(pairs: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in pairs]


async def request(app: ASGIApp, method: str, path: str, headers: list[tuple[bytes, bytes]],
                  body: bytes = b"") -> Response:
    """Send one request to ``app`` and collect its response (what a server would do, minus the socket)."""
    if body:
        headers = [*headers, (b"content-length", str(len(body)).encode())]
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "method": method, "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
        "state": {},
    }
    done = asyncio.Event()
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    status = 0
    out_headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, out_headers
        if message["type"] == "http.response.start":
            status = message["status"]
            out_headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    await app(scope, receive, send)
    done.set()
    return Response(status, out_headers, b"".join(chunks))


class Driver:
    """One event loop kept for a whole benchmark (anyio's worker threads live as long as it does)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def run(self, app: ASGIApp, requests: list[tuple[str, str, list[tuple[bytes, bytes]], bytes]],
            check: Callable[[Response], Any]) -> list[Any]:
        """Send ``requests`` to ``app`` one after another; ``check`` each response and collect its result."""

        async def go() -> list[Any]:
            out = []
            for method, path, headers, body in requests:
                out.append(check(await request(app, method, path, headers, body)))
            return out

        return self.loop.run_until_complete(go())

    def close(self) -> None:
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        self.loop.close()
