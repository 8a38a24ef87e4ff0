"""Target 4: the API's write and read-by-id paths against bare Starlette + SQLAlchemy Core.

Ours: ``create_app(crm)``; ``POST /api/v1/deals`` and ``GET /api/v1/deals/{id}`` with a
manager's bearer token (auth, path/body validation, record rules, the service in the
thread pool, the event-log row, in-transaction and after-commit hooks).
Baseline: a bare Starlette app on the same database whose ``async`` routes parse the JSON
body and run one Core ``INSERT`` into ``crm_deals`` (the same columns ours writes), or one
Core ``SELECT`` by id, and answer JSON -- no auth, no validation, no thread hop.

Both are driven by the same in-process ASGI driver (:mod:`bench.asgi`), one request at a
time, alternately in batches; the same-work check counts the deals each side wrote and
compares the row data both reads return.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crmkit import schema
from crmkit.core import auth
from crmkit.web import create_app

from .asgi import Driver, headers_of
from .harness import NOOPS, Db, Options, Result, compare, fresh_db, make_crm, same

DEALS = schema.deals
BODY = {"title": "Deal", "amount": "1500.00", "currency": "USD", "custom": {"window_count": 3}}


def _json_value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    return v


def _dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def bare_app(engine: Any, pipeline_id: int, stage_id: int, user_id: int) -> Starlette:
    """The baseline: the least a Starlette route can do to write or read one deal with Core."""
    ins = insert(DEALS)
    by_id = select(DEALS)

    async def create(request: Request) -> Response:
        body = json.loads(await request.body())
        now = datetime.now(timezone.utc)
        row = {"title": body["title"], "amount_minor": int(Decimal(body["amount"]) * 100),
               "currency": body["currency"], "responsible_id": user_id, "source": "manual",
               "custom": body["custom"], "pipeline_id": pipeline_id, "stage_id": stage_id, "status": "open",
               "stage_entered_at": now, "created_at": now, "updated_at": now, "version": 1}
        with engine.begin() as conn:
            new_id = conn.execute(ins, row).inserted_primary_key[0]
        return Response(_dumps({"id": new_id, **{k: _json_value(v) for k, v in row.items()}}), 201,
                        media_type="application/json")

    async def get(request: Request) -> Response:
        with engine.connect() as conn:
            row = conn.execute(by_id.where(DEALS.c.id == request.path_params["id"])).one()
        return Response(_dumps({k: _json_value(v) for k, v in row._mapping.items()}), media_type="application/json")

    return Starlette(routes=[Route("/deals", create, methods=["POST"]),
                             Route("/deals/{id:int}", get, methods=["GET"])])


def _check(status: int) -> Any:
    def check(response: Any) -> Any:
        if response.status != status:
            raise AssertionError(f"HTTP {response.status}: {response.body[:300]!r}")
        return response.json()
    return check


def run(opts: Options, workdir: Path, backend: str) -> list[Result]:
    # PostgreSQL writes are ~3x slower: half the requests keep each batch near one second
    n = 100 if opts.quick else (1_000 if backend == "sqlite" else 500)
    opts = Options(quick=opts.quick, repeats=min(opts.repeats, 3), warmup=opts.warmup)
    results = []
    variants = (((), "", None), (NOOPS, ", noop1..4 enabled", None),
                (NOOPS, ", noop1..4, delivery = background", "background"))
    for plugins, label, delivery in variants:
        if plugins and opts.quick:
            continue
        with fresh_db(backend, workdir) as db:
            results += _one(opts, db, backend, n, plugins, label, headline=not plugins, delivery=delivery)
    return results


def _one(opts: Options, db: Db, backend: str, n: int, plugins: tuple[str, ...], label: str,
         headline: bool, delivery: str | None = None) -> list[Result]:
    toml = {"settings": {"events": {"delivery": delivery}}} if delivery else None
    crm = make_crm(db, plugins=plugins, toml=toml)
    driver = Driver()
    try:
        user = crm.users.create(email="manager@example.com", name="Manager", role="manager")
        _, secret = auth.create_token(crm, user.id, "bench")
        target = next(s for s in crm.pipeline(crm.settings.sales_pipeline).stages if s.kind == "open")
        pipeline_id, stage_id = target.pipeline_id, target.id
        ours_app = create_app(crm)
        bare = bare_app(crm.engine, pipeline_id, stage_id, user.id)
        body = _dumps(BODY)
        post_h = headers_of([("authorization", f"Bearer {secret}"), ("content-type", "application/json")])
        get_h = headers_of([("authorization", f"Bearer {secret}")])
        plain = headers_of([("content-type", "application/json")])
        writes_ours = [("POST", "/api/v1/deals", post_h, body)] * n
        writes_bare = [("POST", "/deals", plain, body)] * n

        def count() -> int:
            with crm.engine.connect() as conn:
                return int(conn.scalar(select(func.count()).select_from(DEALS)))

        written: dict[str, int] = {"ours": 0, "bare": 0}
        ids: list[int] = []

        def ours_write() -> list[Any]:
            out = driver.run(ours_app, writes_ours, _check(201))
            written["ours"] += len(out)
            ids.extend(d["id"] for d in out)
            return out

        def bare_write() -> list[Any]:
            out = driver.run(bare, writes_bare, _check(201))
            written["bare"] += len(out)
            return out

        before = count()
        w_o, w_b, o_out, b_out = compare(ours_write, bare_write, repeats=opts.repeats, warmup=opts.warmup)
        same("deals written (rows in crm_deals = 201 responses)", count() - before, written["ours"] + written["bare"])
        same("deals written per side", written["ours"], written["bare"])
        same("written title/amount", (o_out[-1]["title"], Decimal(o_out[-1]["amount"]["amount"]) * 100),
             (b_out[-1]["title"], Decimal(b_out[-1]["amount_minor"])))

        if not headline:  # the plugins' hooks are on the write path only
            crm.dispatcher.deliver_pending()  # background mode: what the delivery thread had not reached yet
            same("after-commit failures", crm.dispatcher.failures(), [])
            same("events delivered to each no-op plugin (every cursor at the log's end)",
                 _cursors(crm), {name: _last_event(crm) for name in NOOPS})
            how = ("a delivery thread delivers, the response does not wait" if delivery == "background" else
                   f"delivery ({crm.delivery.mode}) after the writer slot, before the response")
            ratio = w_b / w_o
            return [Result(name=f"4 API write: POST /deals vs bare Starlette + Core INSERT{label}", backend=backend,
                           ours=n / w_o, baseline=n / w_b, unit="req/s", ratio=ratio,
                           target=">= 0.40 of bare" if delivery else "info (>= 0.40)",
                           passed=ratio >= 0.40 if delivery else None,
                           n=n, note=f"4 no-op crm_event_committed hooks; {how}")]
        reads = ids[-n:]
        reads_ours = [("GET", f"/api/v1/deals/{i}", get_h, b"") for i in reads]
        reads_bare = [("GET", f"/deals/{i}", [], b"") for i in reads]
        r_o, r_b, ro_out, rb_out = compare(lambda: driver.run(ours_app, reads_ours, _check(200)),
                                           lambda: driver.run(bare, reads_bare, _check(200)),
                                           repeats=opts.repeats, warmup=opts.warmup)

        def key(ours: dict[str, Any], bare: dict[str, Any]) -> tuple[Any, Any]:
            mine = (ours["id"], ours["title"], ours["status"], ours["responsible_id"], ours["version"],
                    int(Decimal(ours["amount"]["amount"]) * 100), ours["amount"]["currency"], ours["custom"],
                    datetime.fromisoformat(ours["created_at"].replace("Z", "+00:00")).replace(tzinfo=None))
            theirs = (bare["id"], bare["title"], bare["status"], bare["responsible_id"], bare["version"],
                      bare["amount_minor"], bare["currency"], bare["custom"],
                      datetime.fromisoformat(bare["created_at"]).replace(tzinfo=None))
            return mine, theirs

        pairs = [key(o, b) for o, b in zip(ro_out, rb_out)]
        same("rows read", len(ro_out), len(rb_out))
        same("row data read by id", [p[0] for p in pairs], [p[1] for p in pairs])
        failures = crm.dispatcher.failures()
        same("after-commit failures", failures, [])
    finally:
        driver.close()
        crm.close()
    w_ratio, r_ratio = w_b / w_o, r_b / r_o
    note = "ours also writes a stage-history and an event-log row; baseline: async route, Core on the same engine"
    return [
        Result(name=f"4 API write: POST /deals vs bare Starlette + Core INSERT{label}", backend=backend,
               ours=n / w_o, baseline=n / w_b, unit="req/s", ratio=w_ratio,
               target=">= 0.40 of bare", passed=w_ratio >= 0.40, n=n, note=note),
        Result(name=f"4 API read: GET /deals/{{id}} vs bare Starlette + Core SELECT{label}", backend=backend,
               ours=n / r_o, baseline=n / r_b, unit="req/s", ratio=r_ratio,
               target=">= 0.60 of bare", passed=r_ratio >= 0.60, n=n,
               note="same row data checked (id, title, status, owner, version, amount, custom, created_at)"),
    ]


def _cursors(crm: Any) -> dict[str, int]:
    c = schema.event_cursors.c
    with crm.engine.connect() as conn:
        return {name: int(last) for name, last in conn.execute(select(c.subscriber, c.last_event_id))}


def _last_event(crm: Any) -> int:
    with crm.engine.connect() as conn:
        return int(conn.scalar(select(func.max(schema.events.c.id))) or 0)
