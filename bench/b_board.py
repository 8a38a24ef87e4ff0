"""Target 10: the web UI's kanban board of a pipeline holding 1,000 open deals, against the JSON API
listing the same deals, in the same process and run.

Ours: ``GET /board/<pipeline>`` of ``create_app(crm)``, logged in through the login form as an admin
(who sees every deal): the session cookie checked, the deals read through the services' record
rules, the columns with their counts and sums per currency, the stalled marks, the page rendered
(every card with its move form) and its ETag.
Baseline: ``GET /api/v1/deals?pipeline=<pipeline>&status=open&limit=500`` and the next page (its
cursor), as the same admin with a bearer token: the same deals as JSON.

Both go through the same in-process ASGI driver (:mod:`bench.asgi`), alternately. The data set
holds decoys neither may show (won and lost deals, archived ones, deals of another pipeline). The
same-work check parses the board's HTML for its cards (id, version, stage) and compares them with
the API's two pages and with the deals the data set made open in that pipeline.
"""

from __future__ import annotations

import re
import statistics
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import update

from crmkit import Crm, schema
from crmkit.core import auth
from crmkit.web import create_app

from .asgi import ASGIApp, Driver, Response, headers_of
from .harness import Options, Result, compare, fresh_db, make_crm, same

PASSWORD = "bench-password-1"
MANAGERS = 8
CARD = re.compile(r'<li class="card[^"]*" data-id="(\d+)" data-version="(\d+)" data-stage="([^"]+)"')
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def with_query(app: ASGIApp) -> ASGIApp:
    """``app`` taking ``path?query`` from :mod:`bench.asgi`'s scope (which has no query string)."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        path, _, query = scope["path"].partition("?")
        if query:
            scope = {**scope, "path": path, "raw_path": path.encode(), "query_string": query.encode()}
        await app(scope, receive, send)

    return wrapped


def seed(crm: Crm, n: int) -> tuple[int, set[tuple[int, int, str]]]:
    """``n`` open deals in the sales pipeline over its open stages, 8 managers, two currencies and
    deals without an amount, some stalled; decoys: closed, archived and other-pipeline deals. Returns
    the admin's id and the (id, version, stage) of every open sales deal."""
    admin = crm.users.create(email="admin@example.com", name="Admin", role="admin")
    auth.set_password(crm, admin.id, PASSWORD)
    managers = [crm.users.create(email=f"m{i}@example.com", name=f"Manager {i}", role="manager").id
                for i in range(MANAGERS)]
    svc = crm.as_user(admin.id).deals
    sales = crm.pipeline(crm.settings.sales_pipeline)
    open_stages = [s for s in sales.stages if s.kind == "open"]
    other = next(p for p in crm.pipelines if p.key not in (sales.key, crm.settings.lead_pipeline))
    now = crm.clock.now()
    made: list[int] = []
    for i in range(n):
        amount = None if i % 10 == 9 else f"{1000 + (i * 37) % 9000}.{i % 100:02d}"
        deal = svc.create(title=f"Windows for customer {i}", amount=amount,
                          currency="EUR" if i % 10 == 8 else None, responsible_id=managers[i % MANAGERS],
                          source="web" if i % 3 else "phone",
                          custom={"window_count": 1 + i % 7, "customer_kind": ("person", "legal_entity")[i % 2]})
        made.append(deal.id)
    d = schema.deals.c
    with crm.engine.begin() as conn:  # spread over the open stages (no gates, no automations: data set only)
        for k, stage in enumerate(open_stages):
            conn.execute(update(schema.deals).where(d.id.in_(made[k::len(open_stages)])).values(stage_id=stage.id))
        for days in range(40):  # days in the stage: 0-39, so some cards are stalled
            conn.execute(update(schema.deals).where(d.id.in_(made[days::40]))
                         .values(stage_entered_at=now - timedelta(days=days, hours=1)))
    decoys = [svc.create(title=f"Decoy {i}", amount="10.00", responsible_id=managers[0]).id for i in range(n // 10)]
    for i, ident in enumerate(decoys):
        if i % 3 == 0:
            svc.win(ident)
        elif i % 3 == 1:
            svc.lose(ident, reason_text="bench")
        else:
            svc.archive(ident)
    for i in range(n // 20):
        svc.create(title=f"Elsewhere {i}", pipeline=other.key)
    expected = {(x.id, x.version, x.stage) for x in _all_open(crm, admin.id, sales.key)}
    same("open sales deals made", len(expected), n)
    return admin.id, expected


def _all_open(crm: Crm, user_id: int, pipeline: str) -> list[Any]:
    svc, cursor = crm.as_user(user_id).deals, None
    out: list[Any] = []
    while True:
        page = svc.list({"pipeline": pipeline, "status": "open"}, limit=500, cursor=cursor)
        out += page.items
        cursor = page.next_cursor
        if cursor is None:
            return out


def _cookie(response: Response) -> str:
    for key, value in response.headers:
        if key == b"set-cookie" and value.startswith(b"crmkit_session="):
            return value.split(b";", 1)[0].decode("latin-1")
    raise AssertionError(f"no session cookie (HTTP {response.status})")


def login(driver: Driver, app: ASGIApp) -> str:
    """Log in through the login form, as a browser would: the session cookie of the admin."""
    form = driver.run(app, [("GET", "/login", [], b"")], lambda r: r)[0]
    anonymous = _cookie(form)
    csrf = CSRF.search(form.body.decode())
    assert csrf is not None, form.body[:300]
    body = urlencode({"email": "admin@example.com", "password": PASSWORD, "csrf": csrf.group(1), "next": "/"}).encode()
    headers = headers_of([("cookie", anonymous), ("content-type", "application/x-www-form-urlencoded")])
    done = driver.run(app, [("POST", "/login", headers, body)], lambda r: r)[0]
    if done.status != 303:
        raise AssertionError(f"login: HTTP {done.status}: {done.body[:300]!r}")
    return _cookie(done)


def _ok(response: Response) -> Response:
    if response.status != 200:
        raise AssertionError(f"HTTP {response.status}: {response.body[:300]!r}")
    return response


def run(opts: Options, workdir: Path, backend: str) -> list[Result]:
    n = 200 if opts.quick else 1_000
    repeats = opts.repeats if opts.quick else max(opts.repeats, 7)
    with fresh_db(backend, workdir) as db:
        crm = make_crm(db)
        driver = Driver()
        try:
            admin_id, expected = seed(crm, n)
            pipeline = crm.settings.sales_pipeline
            _, secret = auth.create_token(crm, admin_id, "bench")
            app = with_query(create_app(crm))
            board_req = [("GET", f"/board/{pipeline}", headers_of([("cookie", login(driver, app))]), b"")]
            api_h = headers_of([("authorization", f"Bearer {secret}")])
            listing = f"/api/v1/deals?pipeline={pipeline}&status=open&limit=500"
            # the API's pages, their cursors read once: timed are the requests, not the client's parsing
            pages, cursor = [listing], driver.run(app, [("GET", listing, api_h, b"")], _ok)[0].json()["next_cursor"]
            if cursor is not None:
                pages.append(f"{listing}&cursor={cursor}")
            api_req = [("GET", path, api_h, b"") for path in pages]
            cpu: dict[str, list[float]] = {"board": [], "api": []}

            def board() -> list[Response]:
                started = time.process_time()  # the whole process: the handler's worker thread too
                out = driver.run(app, board_req, _ok)
                cpu["board"].append(time.process_time() - started)
                return out

            def api() -> list[Response]:
                started = time.process_time()
                out = driver.run(app, api_req, _ok)
                cpu["api"].append(time.process_time() - started)
                return out

            o_t, b_t, o_out, b_out = compare(board, api, repeats=repeats, warmup=opts.warmup)
            shown = [(int(i), int(v), s) for i, v, s in CARD.findall(o_out[0].body.decode())]
            listed = [(d["id"], d["version"], d["stage"]) for r in b_out for d in r.json()["items"]]
            same("API pages (the last one has no next cursor)", b_out[-1].json()["next_cursor"], None)
            same("cards on the board (no card twice)", len(shown), len(set(shown)))
            same("deals on the board vs the API's pages (id, version, stage)", sorted(shown), sorted(listed))
            same("deals on the board vs the open deals of the pipeline", set(shown), expected)
            o_cpu, b_cpu = (statistics.median(cpu[k][opts.warmup:]) for k in ("board", "api"))
        finally:
            driver.close()
            crm.close()
    ratio = o_t / b_t
    pages_note = "two pages" if n > 500 else "one page"
    cpu_note = f"CPU time of the process: board {o_cpu * 1000:.1f} ms, API {b_cpu * 1000:.1f} ms ({o_cpu / b_cpu:.2f}x)"
    return [
        Result(name=f"10 board of {n:,} open deals vs the JSON API listing them", backend=backend,
               ours=o_t * 1000, baseline=b_t * 1000, unit="ms", ratio=ratio, target="<= 2x API (time)",
               passed=ratio <= 2.0, n=n,
               note=f"admin, logged in by the form; API: limit=500, {pages_note}; ratio = board/API time; {cpu_note}"),
        Result(name=f"10 board of {n:,} open deals, server time", backend=backend, ours=o_t * 1000, unit="ms",
               target="<= 300 ms" if backend == "sqlite" else "info (<= 300 ms on SQLite)",
               passed=(o_t <= 0.300) if backend == "sqlite" and not opts.quick else None, n=n,
               note=f"in-process ASGI (no socket), median of the alternating runs; {cpu_note}"),
    ]
