"""Target 12 (issue 17): the inventory plugin's stock read and a bar sale through the API.

12a. On hand and stock value of 1,000 products at 2 locations over 1,000,000 ledger movements
     (--quick: 20,000). Ours: ``Inventory(crm).stock()`` (SQLAlchemy Core: the per-product sums,
     joined to products, locations and thresholds, shaped into records with Decimal and Money).
     Baseline: the hand-written SQL for the same figures on a raw DBAPI connection (one
     ``GROUP BY`` over the ledger joined to the product's SKU and the location's key). Both
     results are compared row by row before a ratio. Target: <= 1.5x (time).
12b. A 5-line cash sale, ``POST /api/v1/inventory/sales`` of ``create_app(crm)`` with a manager's
     token (auth, body schema, permission, per-line product lock, moving-average valuation from
     the ledger, the sale, its lines and movements, the event, the low-stock check). Baseline: a
     bare Starlette ``async`` route inserting the same rows (the sale, 5 movements, 5 lines) with
     Core and no checks. Target: the API write target of issue 7 (>= 0.40 of bare, req/s).
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crmkit.core import auth
from crmkit.web import create_app
from crmkit_inventory.service import Inventory
from crmkit_inventory.tables import movements, products, sale_lines, sales

from .asgi import Driver, headers_of
from .harness import Db, Options, Result, compare, fresh_db, make_crm, same

PRODUCTS, PLACES = 1_000, 2
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)

HAND_WRITTEN = """
SELECT p.sku, l.key, s.held, s.value
FROM (SELECT product_id, location_id, sum(qty_milli) AS held, sum(value_minor) AS value
      FROM inventory_movements GROUP BY product_id, location_id) s
JOIN inventory_products p ON p.id = s.product_id
JOIN inventory_locations l ON l.id = s.location_id
ORDER BY p.sku, l.key"""


def _catalogue(crm: Any) -> Inventory:
    inv = Inventory(crm)
    inv.create_location("bar", "Bar")
    inv.create_location("store", "Storage")
    with crm.engine.begin() as conn:
        conn.execute(insert(products), [
            {"sku": f"SKU{n:05d}", "name": f"Product {n}", "unit": "pcs", "category": "bench", "price_minor": 250,
             "currency": "USD", "vat_rate_bp": 2000, "fractional": False, "active": True, "created_at": NOW,
             "updated_at": NOW, "version": 1} for n in range(PRODUCTS)])
    return inv


def _ledger(n: int) -> list[tuple[Any, ...]]:
    """``n`` movements: a third receipts (10-100 units at 0.20-3.00), the rest sales of 1-5 units."""
    rnd = random.Random(17)
    rows = []
    for i in range(n):
        product, place = rnd.randrange(PRODUCTS) + 1, rnd.randrange(PLACES) + 1
        if i % 3 == 0:
            q, cost = rnd.randint(10, 100), rnd.randint(20, 300)
            rows.append(("receipt", product, place, q * 1000, q * cost, "USD", cost, "", False, NOW))
        else:
            q = rnd.randint(1, 5)
            rows.append(("sale", product, place, -q * 1000, -q * 150, "USD", None, "", False, NOW))
    return rows


_COLUMNS = "kind, product_id, location_id, qty_milli, value_minor, currency, unit_cost_minor, reason, negative, created_at"


def _load(db: Db, rows: list[tuple[Any, ...]]) -> None:
    conn = db.raw()
    try:
        if db.backend == "sqlite":
            db.begin(conn)
            conn.executemany(f"INSERT INTO inventory_movements ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                             [r[:9] + (r[9].strftime("%Y-%m-%d %H:%M:%S.%f"),) for r in rows])
            db.commit(conn)
            conn.execute("ANALYZE")
        else:
            with conn.cursor().copy(f"COPY inventory_movements ({_COLUMNS}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r)
            conn.commit()
            conn.execute("ANALYZE inventory_movements")
            conn.commit()
    finally:
        conn.close()


def _hand_written(db: Db, conn: Any) -> list[tuple[str, str, int, int]]:
    out = [(sku, key, int(held), int(value)) for sku, key, held, value in conn.execute(HAND_WRITTEN).fetchall()]
    if db.backend != "sqlite":
        conn.rollback()
    return out


def run(opts: Options, workdir: Path, backend: str) -> list[Result]:
    n = 20_000 if opts.quick else 1_000_000
    with fresh_db(backend, workdir) as db:
        crm = make_crm(db, plugins=("inventory",))
        try:
            inv = _catalogue(crm)
            _load(db, _ledger(n))
            results = [_stock(db, crm, inv, opts, n)]
            inv.receive("bar", [{"sku": line["sku"], "qty": "100000", "unit_cost": "1.00"} for line in LINES])
            results.append(_sale(crm, opts, backend))
            return results
        finally:
            crm.close()


def _stock(db: Db, crm: Any, inv: Inventory, opts: Options, n: int) -> Result:
    raw = db.raw()
    try:
        o_t, b_t, o_res, b_res = compare(inv.stock, lambda: _hand_written(db, raw), repeats=max(3, opts.repeats),
                                         warmup=opts.warmup)
    finally:
        raw.close()
    mine = [(s.sku, s.location, int(s.on_hand * 1000), s.value.minor_units) for s in o_res]
    same("on hand and value per product and location", mine, b_res)
    same("every product at both places", len(mine), PRODUCTS * PLACES)
    ratio = o_t / b_t
    return Result(name="12 inventory: on hand + stock value vs hand-written SQL", backend=db.backend, ours=o_t * 1000,
                  baseline=b_t * 1000, unit="ms", ratio=ratio, target="<= 1.5x hand-written (time)",
                  passed=ratio <= 1.5, n=n, note=f"{PRODUCTS} products x {PLACES} locations, {n:,} movements; "
                                                 "ratio = ours/baseline time")


LINES = [{"sku": f"SKU{n:05d}", "qty": "1"} for n in (1, 2, 3, 4, 5)]


def bare_app(engine: Any, user_id: int) -> Starlette:
    """The baseline: an async route writing the sale, its movements and lines with Core, no checks."""
    ids = {f"SKU{n:05d}": n + 1 for n in range(PRODUCTS)}

    async def sell(request: Request) -> Response:
        body = json.loads(await request.body())
        now = datetime.now(timezone.utc)
        total = 250 * len(body["lines"])
        with engine.begin() as conn:
            sale_id = conn.execute(insert(sales).values(
                location_id=1, contact_id=None, currency="USD", total_minor=total, vat_minor=total // 6,
                payment="card", tendered_minor=total, change_minor=0, created_by=user_id,
                created_at=now)).inserted_primary_key[0]
            for line in body["lines"]:
                q = int(line["qty"]) * 1000
                movement_id = conn.execute(insert(movements).values(
                    kind="sale", product_id=ids[line["sku"]], location_id=1, qty_milli=-q, value_minor=-100,
                    currency="USD", reason="", sale_id=sale_id, negative=False, created_by=user_id,
                    created_at=now)).inserted_primary_key[0]
                conn.execute(insert(sale_lines).values(
                    sale_id=sale_id, product_id=ids[line["sku"]], qty_milli=q, price_minor=250, total_minor=250,
                    vat_rate_bp=2000, vat_minor=42, movement_id=movement_id))
        return Response(json.dumps({"id": sale_id, "total": total}), 201, media_type="application/json")

    return Starlette(routes=[Route("/sales", sell, methods=["POST"])])


def _sale(crm: Any, opts: Options, backend: str) -> Result:
    n = 50 if opts.quick else (300 if backend == "sqlite" else 150)
    driver = Driver()
    try:
        user = crm.users.create(email="bartender@example.com", name="Bartender", role="manager")
        _, secret = auth.create_token(crm, user.id, "bench")
        body = json.dumps({"location": "bar", "payment": "card", "lines": LINES}).encode()
        post_h = headers_of([("authorization", f"Bearer {secret}"), ("content-type", "application/json")])
        plain = headers_of([("content-type", "application/json")])
        ours_app, bare = create_app(crm), bare_app(crm.engine, user.id)
        written = {"ours": 0, "bare": 0}

        def check(response: Any) -> Any:
            if response.status != 201:
                raise AssertionError(f"HTTP {response.status}: {response.body[:300]!r}")
            return response.json()

        def ours() -> list[Any]:
            out = driver.run(ours_app, [("POST", "/api/v1/inventory/sales", post_h, body)] * n, check)
            written["ours"] += len(out)
            return out

        def baseline() -> list[Any]:
            out = driver.run(bare, [("POST", "/sales", plain, body)] * n, check)
            written["bare"] += len(out)
            return out

        def lines() -> int:
            with crm.engine.connect() as conn:
                return int(conn.scalar(select(func.count()).select_from(sale_lines)))

        before = lines()
        o_t, b_t, o_out, _ = compare(ours, baseline, repeats=min(opts.repeats, 3), warmup=opts.warmup)
        same("sale lines written (5 per 201)", lines() - before, 5 * (written["ours"] + written["bare"]))
        same("sales per side", written["ours"], written["bare"])
        same("a sale's total", o_out[-1]["total"]["amount"], "12.50")
    finally:
        driver.close()
    ratio = b_t / o_t
    return Result(name="12 inventory: 5-line sale, POST /inventory/sales vs bare Starlette + Core", backend=backend,
                  ours=n / o_t, baseline=n / b_t, unit="req/s", ratio=ratio, target=">= 0.40 of bare (issue 7)",
                  passed=ratio >= 0.40, n=n, note="ours also values each line from the ledger and logs the event")
