"""Slow and oversized clients: a body that stalls gets 408 and a closed connection, a request
head that trickles is cut off, and the limits come from ``[settings.server]``."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any, Iterator

import anyio
import pytest
import uvicorn
from sqlalchemy import func, select
from test_api_helpers import build_api

from crmkit import ConfigError, Crm, schema
from crmkit.core import auth
from crmkit.web import create_app
from crmkit.web.middleware import BodyLimit
from crmkit.web.server import MAX_HEAD_BYTES, HeadDeadlineProtocol, configure


def deals(crm: Crm) -> int:
    with crm.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(schema.deals)) or 0)


async def call(app: Any, scope: dict[str, Any], chunks: list[bytes], *, stall: bool) -> list[dict[str, Any]]:
    """Run ``app`` on one request whose body arrives as ``chunks``, then (``stall``) never more."""
    sent: list[dict[str, Any]] = []
    never = anyio.Event()

    async def receive() -> dict[str, Any]:
        if chunks:
            return {"type": "http.request", "body": chunks.pop(0), "more_body": bool(chunks) or stall}
        await never.wait()  # a client that stopped sending
        raise AssertionError("unreachable")  # pragma: no cover

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with anyio.fail_after(5):  # without a body deadline this would wait forever
        await app(scope, receive, send)
    return sent


def post_scope(path: str, secret: str, length: int) -> dict[str, Any]:
    return {"type": "http", "http_version": "1.1", "method": "POST", "scheme": "http", "path": path,
            "raw_path": path.encode(), "root_path": "", "query_string": b"", "client": ("127.0.0.1", 5000),
            "server": ("testserver", 80),
            "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"),
                        (b"authorization", f"Bearer {secret}".encode()),
                        (b"content-length", str(length).encode())]}


def test_a_stalled_body_gets_408_json_and_closes_the_connection(crm: Crm) -> None:
    admin = crm.users.create(email="admin@windows.example", name="Ada", role="admin")
    _, secret = auth.create_token(crm, admin.id, "t")
    app = create_app(crm, body_timeout_seconds=0.2)
    started = time.monotonic()
    sent = anyio.run(lambda: call(app, post_scope("/api/v1/deals", secret, 40), [b'{"title": "sl'], stall=True))
    assert time.monotonic() - started < 2
    start, body = sent
    assert start["status"] == 408
    headers = dict(start["headers"])
    assert headers[b"connection"] == b"close" and headers[b"content-type"] == b"application/json"
    assert json.loads(body["body"])["error"]["code"] == "request_timeout"
    assert deals(crm) == 0
    # the same body in time is a created deal
    sent = anyio.run(lambda: call(app, post_scope("/api/v1/deals", secret, 15), [b'{"title": ', b'"ok"}'], stall=False))
    assert sent[0]["status"] == 201 and deals(crm) == 1


def test_content_length_that_is_not_a_small_ascii_number_is_413() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - must not be reached
        raise AssertionError("the app saw the request")

    for value in (b"9" * 5000, "²".encode(), b"1" * 19, b"-1", b"1e3"):
        scope = {"type": "http", "method": "POST", "path": "/", "headers": [(b"content-length", value)]}
        sent = anyio.run(lambda: call(BodyLimit(app, max_bytes=1000, timeout=1), scope, [b"x"], stall=False))
        assert sent[0]["status"] == 413, value
        assert json.loads(sent[1]["body"])["error"]["code"] == "payload_too_large"


# -- against a real uvicorn server ----------------------------------------------------------------


class QuickHeads(HeadDeadlineProtocol):
    header_timeout = 0.3


@pytest.fixture
def server(make_crm: Any) -> Iterator[tuple[int, str]]:
    """The API served by uvicorn in a thread with small timeouts: (port, admin token)."""
    crm = make_crm()
    api = build_api(crm)
    app = create_app(crm, body_timeout_seconds=0.3)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http=QuickHeads, ws="none", lifespan="off",
                            log_level="warning", timeout_keep_alive=5, h11_max_incomplete_event_size=MAX_HEAD_BYTES)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield port, api.secret
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def exchange(port: int, data: bytes, *, wait: float = 2.0) -> tuple[bytes, float]:
    """Send ``data`` and never more; return what came back until the server closed, and when."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(wait)
        sock.sendall(data)
        started, got = time.monotonic(), b""
        try:
            while chunk := sock.recv(65536):
                got += chunk
        except ConnectionResetError:  # closed with bytes we sent unread: the answer came before
            pass
        except socket.timeout:
            raise AssertionError(f"the server kept the connection open {wait} s; got {got[:200]!r}") from None
        return got, time.monotonic() - started


def test_a_real_server_cuts_off_slow_bodies_and_slow_heads(server: tuple[int, str]) -> None:
    port, secret = server
    head = (f"POST /api/v1/deals HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {secret}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n").encode()
    answer, after = exchange(port, head + b'{"title": "slo')
    assert answer.startswith(b"HTTP/1.1 408 ") and b"connection: close" in answer.lower() and after < 1.5
    assert b'"code":"request_timeout"' in answer
    answer, after = exchange(port, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # the head never ends
    assert answer == b"" and after < 1.5
    answer, after = exchange(port, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12")
    assert answer.startswith(b"HTTP/1.1 200 ") and after < 1.5  # a body nobody reads can't hold it either
    for size in (100_000, MAX_HEAD_BYTES):  # the head is bounded, whether it comes at once or not
        answer, _ = exchange(port, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * size + b"\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 431 ") and b'"code":"headers_too_large"' in answer
    answer, _ = exchange(port, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 15_000 + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 ")
    big_body = b'{"title": "' + b"x" * 200_000 + b'"}'
    answer, _ = exchange(port, (f"POST /api/v1/deals HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {secret}\r\n"
                                f"Content-Type: application/json\r\nContent-Length: {len(big_body)}\r\n"
                                "Connection: close\r\n\r\n").encode() + big_body)
    assert answer.startswith(b"HTTP/1.1 422 ")  # a big body in the same read is not a big head
    answer, _ = exchange(port, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b'{"status":"ok"}')


# -- [settings.server] ---------------------------------------------------------------------------------


def test_server_limits_come_from_crmkit_toml(make_crm: Any) -> None:
    crm = make_crm(settings={"server": {"max_body_bytes": 300, "body_timeout_seconds": 0.2,
                                        "header_timeout_seconds": 2.5, "keep_alive_seconds": 7}})
    api = build_api(crm)
    api.error(api.post("/api/v1/deals", {"title": "x" * 400}), 413)
    api.ok(api.post("/api/v1/deals", {"title": "fits"}), 201)
    options = configure(crm)
    assert options["timeout_keep_alive"] == 7 and HeadDeadlineProtocol.header_timeout == 2.5
    assert options["http"] is HeadDeadlineProtocol and options["h11_max_incomplete_event_size"] == MAX_HEAD_BYTES
    configure(make_crm())  # back to the defaults for this process
    assert HeadDeadlineProtocol.header_timeout == 10.0
    for bad in ({"colour": 1}, {"max_body_bytes": 0}, {"max_body_bytes": "1MB"}, {"body_timeout_seconds": True},
                {"body_timeout_seconds": float("nan")}, {"header_timeout_seconds": 10**9},
                {"keep_alive_seconds": 1.5}):
        with pytest.raises(ConfigError, match=r"\[settings.server\]"):
            create_app(make_crm(settings={"server": bad}))
