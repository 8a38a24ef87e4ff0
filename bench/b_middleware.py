"""Target 5: a trivial route through crmkit's whole HTTP stack against a bare Starlette route.

Ours: ``GET /api/v1/health`` of ``create_app(crm)`` -- Starlette's exception and error
middleware, crmkit's pure-ASGI ``BodyLimit``, the router with every API route, and the
operation endpoint (public, answered in the event loop).
Baseline: a one-route Starlette app answering the same JSON body.
Same in-process ASGI driver for both (:mod:`bench.asgi`); the same-work check compares
status and body.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crmkit.web import create_app

from .asgi import Driver
from .harness import Options, Result, compare, fresh_db, make_crm, same

BODY = b'{"status":"ok"}'


def bare_app() -> Starlette:
    async def health(request: Request) -> Response:
        return Response(BODY, media_type="application/json")

    return Starlette(routes=[Route("/api/v1/health", health, methods=["GET"])])


def _body(response: Any) -> tuple[int, bytes]:
    return response.status, response.body


def run(opts: Options, workdir: Path) -> list[Result]:
    n = 1_000 if opts.quick else 10_000
    with fresh_db("sqlite", workdir) as db:
        crm = make_crm(db)
        driver = Driver()
        try:
            ours_app = create_app(crm)
            bare = bare_app()
            health = [("GET", "/api/v1/health", [], b"")] * n
            h_o, h_b, o_out, b_out = compare(lambda: driver.run(ours_app, health, _body),
                                             lambda: driver.run(bare, health, _body),
                                             repeats=opts.repeats, warmup=opts.warmup)
            same("responses (status, JSON)", [(s, _json(b)) for s, b in o_out], [(s, _json(b)) for s, b in b_out])
            same("status", o_out[0][0], 200)
        finally:
            driver.close()
            crm.close()
    ratio = h_b / h_o
    return [
        Result(name="5 middleware stack: GET /api/v1/health vs bare Starlette route", backend="-",
               ours=n / h_o, baseline=n / h_b, unit="req/s", ratio=ratio, target=">= 0.80 of bare",
               passed=ratio >= 0.80, n=n, note="in-process ASGI; same status and JSON checked"),
    ]


def _json(raw: bytes) -> Any:
    import json

    return json.loads(raw)
