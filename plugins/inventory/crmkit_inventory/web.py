"""HTTP routes, mounted by crmkit under ``/api/v1/inventory/`` behind the bearer-token check.

* ``GET/POST /products``                   the catalogue / a new product (201)
* ``GET/PATCH /products/{id}``             a product / a change of it (``version``: 409 if stale)
* ``GET  /stock?location=&sku=&limit=&cursor=``  on hand and value per product and location, paged
* ``GET  /movements?sku=&location=&kind=&after=&limit=``  the ledger
* ``POST /receipts``                       goods received (201)
* ``POST /write-offs``, ``POST /transfers``, ``POST /returns``  (201)
* ``POST /movements/{id}/reverse``         a counter-movement (201)
* ``POST /sales``                          a bar sale (201); ``GET /sales/{id}``; ``POST /sales/{id}/void``
* ``GET  /tabs/{contact_id}``              a member's tab; ``POST /tabs/{contact_id}/payments`` (201);
  ``PUT /tabs/{contact_id}/limit``
* ``POST /counts``, ``GET /counts/{id}``, ``POST /counts/{id}/lines``, ``POST /counts/{id}/close``
* ``GET  /reports/{best-sellers,margin,turnover,shrinkage,segments}?since=&until=``

Every handler acts as the token's user through the plugin's services; bodies are read by
:func:`crmkit.web.read_json_body` (JSON only, unknown fields and wrong types are 422 naming the
field); every refusal is a 4xx JSON error and writes nothing (one transaction per request).
"""

from __future__ import annotations

from typing import Any, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crmkit import MAX_PAGE, ValidationError, check_limit, id_cursor
from crmkit.web import Param, read_json_body, request_user_id

from . import reports
from .counts import Counts
from .records import to_json
from .sales import Bar
from .service import Inventory

_NUM = {"type": ["string", "integer"], "pattern": r"^\s*-?[0-9]{1,15}(\.[0-9]{1,6})?\s*$",
        "minimum": -(10**15) + 1, "maximum": 10**15 - 1}
_TEXT = {"type": "string", "maxLength": 300}
_REF = {"type": ["string", "integer"], "maxLength": 200, "minimum": 1, "maximum": 2**31 - 1}
_CUR = {"type": "string", "pattern": "^[A-Za-z]{3}$"}


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": required, "properties": props}


def _lines(**props: Any) -> dict[str, Any]:
    return {"type": "array", "minItems": 1, "maxItems": 500, "items": _obj(["sku", "qty"], **props)}


PRODUCT_BODY = _obj(["sku", "name", "price"], sku=_TEXT, name=_TEXT, price=_NUM, unit=_TEXT, category=_TEXT,
                    barcode={"type": ["string", "null"], "maxLength": 64}, vat_rate=_NUM, currency=_CUR,
                    fractional={"type": "boolean"}, active={"type": "boolean"})
PRODUCT_PATCH = _obj([], version={"type": "integer", "minimum": 1, "maximum": 2**31 - 1}, name=_TEXT,
                     category=_TEXT, barcode={"type": ["string", "null"], "maxLength": 64}, price=_NUM,
                     vat_rate=_NUM, active={"type": "boolean"})
RECEIPT_BODY = _obj(["location", "lines"], location=_REF, supplier=_REF,
                    lines=_lines(sku=_REF, qty=_NUM, unit_cost=_NUM, currency=_CUR))
SALE_BODY = _obj(["location", "lines"], location=_REF, lines=_lines(sku=_REF, qty=_NUM, currency=_CUR),
                 payment={"type": "string", "enum": ["cash", "card", "tab"]}, contact_id=_REF, tendered=_NUM,
                 currency=_CUR)
WRITE_OFF_BODY = _obj(["location", "sku", "qty", "reason"], location=_REF, sku=_REF, qty=_NUM, reason=_TEXT)
TRANSFER_BODY = _obj(["sku", "qty", "source", "target"], sku=_REF, qty=_NUM, source=_REF, target=_REF)
RETURN_BODY = _obj(["movement_id", "qty"], movement_id=_REF, qty=_NUM, reason=_TEXT)
REASON_BODY = _obj(["reason"], reason=_TEXT)
PAY_BODY = _obj(["amount"], amount=_NUM, method=_TEXT, currency=_CUR)
LIMIT_BODY = _obj(["limit"], limit=_NUM)
COUNT_BODY = _obj(["location"], location=_REF)
COUNT_LINES_BODY = _obj(["lines"], lines=_lines(sku=_REF, qty=_NUM, reason=_TEXT))


def _doc(route: Route, **description: Any) -> Route:
    """The route, described in the deployment's OpenAPI document (``crmkit_openapi``)."""
    route.crmkit_openapi = description  # type: ignore[attr-defined]
    return route


async def _body(request: Request, schema: dict[str, Any]) -> dict[str, Any]:
    body = await read_json_body(request, {k: v for k, v in schema.items() if k != "required"})
    for name in schema.get("required", []):
        if name not in body:
            raise ValidationError(f"{name}: is required", field=name)
    return body


def _who(request: Request) -> tuple[Any, int]:
    return request.app.state.crm, request_user_id(request)


async def _run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await run_in_threadpool(fn, *args, **kwargs)


def _json(data: Any, status: int = 200) -> JSONResponse:
    if isinstance(data, list):
        data = {"items": [_one(d) for d in data]}
    return JSONResponse(_one(data), status_code=status)


def _one(data: Any) -> Any:
    if hasattr(data, "to_json"):
        return data.to_json()
    if hasattr(data, "__attrs_attrs__"):
        return to_json(data)
    return data


def _pid(request: Request, name: str = "id") -> int:
    return int(request.path_params[name])


async def list_products(request: Request) -> JSONResponse:
    """The catalogue, by id (``after``: the last id of the previous page)."""
    crm, user = _who(request)
    limit = request.query_params.get("limit", "100")
    if not (limit.isascii() and limit.isdigit()) or len(limit) > 4:
        raise ValidationError("limit: a whole number from 1 to 500", field="limit")
    check_limit(int(limit))
    after = id_cursor(request.query_params.get("after", "0"))
    return _json(await _run(Inventory(crm, user).products, limit=int(limit), after_id=after))


async def create_product(request: Request) -> JSONResponse:
    """Add a product."""
    crm, user = _who(request)
    body = await _body(request, PRODUCT_BODY)
    return _json(await _run(lambda: Inventory(crm, user).create_product(**body)), 201)


async def get_product(request: Request) -> JSONResponse:
    """A product by id."""
    crm, user = _who(request)
    return _json(await _run(Inventory(crm, user).product, _pid(request)))


async def update_product(request: Request) -> JSONResponse:
    """Change a product's name, category, barcode, price, VAT rate or active flag (``version``: 409 if stale)."""
    crm, user = _who(request)
    body = await _body(request, PRODUCT_PATCH)
    return _json(await _run(lambda: Inventory(crm, user).update_product(_pid(request), **body)))


async def stock(request: Request) -> JSONResponse:
    """On hand and stock value per product and location, by SKU and location, a page at a time
    (``limit``, ``cursor``: the ``next_cursor`` of the previous page)."""
    crm, user = _who(request)
    q = request.query_params
    raw = q.get("limit", "50")
    limit = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 6 else -1
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit: must be an integer from 1 to {MAX_PAGE}", field="limit")
    items, cursor = await _run(Inventory(crm, user).stock_page, location=q.get("location"), sku=q.get("sku"),
                               limit=limit, cursor=q.get("cursor"))
    return JSONResponse({"items": [_one(i) for i in items], "next_cursor": cursor})


async def list_movements(request: Request) -> JSONResponse:
    """The stock ledger in order."""
    crm, user = _who(request)
    q = request.query_params
    after = id_cursor(q.get("after", "0"))
    return _json(await _run(Inventory(crm, user).movements, sku=q.get("sku"), location=q.get("location"),
                            kind=q.get("kind"), after_id=after))


async def receive(request: Request) -> JSONResponse:
    """Receive goods from a supplier."""
    crm, user = _who(request)
    b = await _body(request, RECEIPT_BODY)
    return _json(await _run(Inventory(crm, user).receive, b["location"], b["lines"], supplier=b.get("supplier")), 201)


async def write_off(request: Request) -> JSONResponse:
    """Write stock off, with a reason."""
    crm, user = _who(request)
    b = await _body(request, WRITE_OFF_BODY)
    return _json(await _run(Inventory(crm, user).write_off, b["location"], b["sku"], b["qty"], reason=b["reason"]),
                 201)


async def transfer(request: Request) -> JSONResponse:
    """Move stock between locations."""
    crm, user = _who(request)
    b = await _body(request, TRANSFER_BODY)
    return _json(await _run(Inventory(crm, user).transfer, b["sku"], b["qty"], source=b["source"],
                            target=b["target"]), 201)


async def take_return(request: Request) -> JSONResponse:
    """Take back part of a sale into stock: the return movement with its ``refund``."""
    crm, user = _who(request)
    b = await _body(request, RETURN_BODY)
    inv = Inventory(crm, user)

    def take() -> dict[str, Any]:
        moved = inv.return_sold(b["movement_id"], b["qty"], reason=b.get("reason") or "returned")
        return {**_one(moved), "refund": inv.refund(moved.id).to_json()}

    return _json(await _run(take), 201)


async def reverse(request: Request) -> JSONResponse:
    """Reverse a movement by a counter-movement."""
    crm, user = _who(request)
    b = await _body(request, REASON_BODY)
    return _json(await _run(Inventory(crm, user).reverse, _pid(request), reason=b["reason"]), 201)


async def sell(request: Request) -> JSONResponse:
    """A bar sale: paid in cash or by card, or charged to a member's tab. With ``Idempotency-Key``
    a retry returns the first sale (200, ``Idempotent-Replayed: true``) and writes nothing."""
    crm, user = _who(request)
    b = await _body(request, SALE_BODY)
    location, lines = b.pop("location"), b.pop("lines")
    key = request.headers.get("idempotency-key")
    sale = await _run(Bar(crm, user).sell, location, lines, client_key=key, **b)
    response = _json(sale, 200 if sale.replayed else 201)
    if sale.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


async def get_sale(request: Request) -> JSONResponse:
    """A sale with its lines."""
    crm, user = _who(request)
    return _json(await _run(Bar(crm, user).sale, _pid(request)))


async def void_sale(request: Request) -> JSONResponse:
    """Void a sale (stock back, tab refunded)."""
    crm, user = _who(request)
    b = await _body(request, REASON_BODY)
    return _json(await _run(Bar(crm, user).void, _pid(request), reason=b["reason"]))


async def get_tab(request: Request) -> JSONResponse:
    """A member's tab: limit, balance, what is available, holds, the latest entries."""
    crm, user = _who(request)
    return _json(await _run(Bar(crm, user).tab, _pid(request, "contact_id")))


async def pay_tab(request: Request) -> JSONResponse:
    """A payment on a member's tab."""
    crm, user = _who(request)
    b = await _body(request, PAY_BODY)
    return _json(await _run(Bar(crm, user).pay_tab, _pid(request, "contact_id"), b["amount"],
                            method=b.get("method") or "cash", currency=b.get("currency")), 201)


async def set_limit(request: Request) -> JSONResponse:
    """Set a member's tab limit."""
    crm, user = _who(request)
    b = await _body(request, LIMIT_BODY)
    return _json(await _run(Bar(crm, user).set_tab_limit, _pid(request, "contact_id"), b["limit"]))


async def open_count(request: Request) -> JSONResponse:
    """Open a count sheet for a location."""
    crm, user = _who(request)
    b = await _body(request, COUNT_BODY)
    return _json(await _run(Counts(crm, user).open, b["location"]), 201)


async def get_count(request: Request) -> JSONResponse:
    """A count sheet and its lines."""
    crm, user = _who(request)
    return _json(await _run(Counts(crm, user).get, _pid(request)))


async def enter_count(request: Request) -> JSONResponse:
    """Enter counted quantities."""
    crm, user = _who(request)
    b = await _body(request, COUNT_LINES_BODY)
    return _json(await _run(Counts(crm, user).enter, _pid(request), b["lines"]))


async def close_count(request: Request) -> JSONResponse:
    """Close a count sheet into adjustments."""
    crm, user = _who(request)
    return _json(await _run(Counts(crm, user).close, _pid(request)))


REPORTS: dict[str, Callable[..., Any]] = {
    "best-sellers": reports.best_sellers, "margin": reports.gross_margin, "turnover": reports.turnover,
    "shrinkage": reports.shrinkage, "segments": reports.sales_by_segment,
}


async def report(request: Request) -> JSONResponse:
    """A stock report over a period (``since``, ``until``: YYYY-MM-DD)."""
    crm, _ = _who(request)
    name = request.path_params["name"]
    fn = REPORTS.get(name)
    if fn is None:
        raise ValidationError(f"name: no report {name[:40]!r} (known: {', '.join(REPORTS)})", field="name")
    q = request.query_params
    extra: dict[str, Any] = {}
    if name == "best-sellers":
        extra["by"] = q.get("by", "qty")
    return _json(await _run(fn, crm, since=q.get("since"), until=q.get("until"), **extra))


def routes() -> list[Route]:
    """The plugin's routes (crmkit mounts them under ``/api/v1/inventory``)."""
    period = (Param("since", {"type": "string", "format": "date"}, "first day (default: 29 days before until)"),
              Param("until", {"type": "string", "format": "date"}, "last day (default: today)"))
    return [
        _doc(Route("/products", list_products, methods=["GET"])),
        _doc(Route("/products", create_product, methods=["POST"]), body=PRODUCT_BODY, status=201, errors=(409,)),
        _doc(Route("/products/{id:int}", get_product, methods=["GET"])),
        _doc(Route("/products/{id:int}", update_product, methods=["PATCH"]), body=PRODUCT_PATCH, errors=(409,)),
        _doc(Route("/stock", stock, methods=["GET"]), query=(
            Param("location", {"type": "string"}, "only this location (its key)"),
            Param("sku", {"type": "string"}, "only this product"),
            Param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 50},
                  f"page size (1 to {MAX_PAGE}, default 50)"),
            Param("cursor", {"type": "string"}, "`next_cursor` of the previous page"))),
        _doc(Route("/movements", list_movements, methods=["GET"])),
        _doc(Route("/receipts", receive, methods=["POST"]), body=RECEIPT_BODY, status=201),
        _doc(Route("/write-offs", write_off, methods=["POST"]), body=WRITE_OFF_BODY, status=201),
        _doc(Route("/transfers", transfer, methods=["POST"]), body=TRANSFER_BODY, status=201),
        _doc(Route("/returns", take_return, methods=["POST"]), body=RETURN_BODY, status=201),
        _doc(Route("/movements/{id:int}/reverse", reverse, methods=["POST"]), body=REASON_BODY, status=201,
             errors=(404, 409)),
        _doc(Route("/sales", sell, methods=["POST"]), body=SALE_BODY, status=201),
        _doc(Route("/sales/{id:int}", get_sale, methods=["GET"]), errors=(404,)),
        _doc(Route("/sales/{id:int}/void", void_sale, methods=["POST"]), body=REASON_BODY, errors=(404, 409)),
        _doc(Route("/tabs/{contact_id:int}", get_tab, methods=["GET"])),
        _doc(Route("/tabs/{contact_id:int}/payments", pay_tab, methods=["POST"]), body=PAY_BODY, status=201),
        _doc(Route("/tabs/{contact_id:int}/limit", set_limit, methods=["PUT"]), body=LIMIT_BODY),
        _doc(Route("/counts", open_count, methods=["POST"]), body=COUNT_BODY, status=201, errors=(409,)),
        _doc(Route("/counts/{id:int}", get_count, methods=["GET"]), errors=(404,)),
        _doc(Route("/counts/{id:int}/lines", enter_count, methods=["POST"]), body=COUNT_LINES_BODY,
             errors=(404, 409)),
        _doc(Route("/counts/{id:int}/close", close_count, methods=["POST"]), errors=(404, 409)),
        _doc(Route("/reports/{name}", report, methods=["GET"]), query=period),
    ]
